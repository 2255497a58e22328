"""The ICE example DAG runs to success against the emulator (dag.test: the trigger runs inline)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil

EXAMPLE = pathlib.Path(__file__).parents[2] / "example_dags" / "example_ice.py"


def test_example_dag_succeeds_against_the_emulator(airflow_db, emulator) -> None:
    from airflow.utils.state import DagRunState, TaskInstanceState

    dags = pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    target = dags / EXAMPLE.name
    shutil.copy(EXAMPLE, target)
    spec = importlib.util.spec_from_file_location("example_ice_under_test", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = module.dag.get_task("start_workflow")
    start.user_data = {**start.user_data, "emulator_step_seconds": 0.2}
    module.dag.get_task("wait_for_task").poke_interval = 0.2

    dag_run = module.dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == dict.fromkeys(
        ("start_workflow", "wait_for_task", "read_task"), TaskInstanceState.SUCCESS
    )
    log = emulator.control.requests(vendor="ice")
    actions = [r["action"] for r in log]
    assert actions[0] == "StartWorkflow" and actions.count("StartWorkflow") == 1
    assert set(actions[1:]) == {"GetWorkflowTask"}
    assert {r["run_id"] for r in log} == {log[0]["run_id"]}  # every read is of the started task
