"""The WeData example DAG runs to success against the emulator (dag.test: the trigger runs inline)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil

EXAMPLE = pathlib.Path(__file__).parents[2] / "example_dags" / "example_wedata.py"


def test_example_dag_succeeds_against_the_emulator(airflow_db, cloudflows_emulator, monkeypatch):
    from airflow.utils.state import DagRunState, TaskInstanceState

    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    dags = pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    target = dags / EXAMPLE.name
    shutil.copy(EXAMPLE, target)
    spec = importlib.util.spec_from_file_location("example_wedata_under_test", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    dag_run = module.dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == dict.fromkeys(("start_run", "wait_for_run", "read_run"), TaskInstanceState.SUCCESS)
    actions = [r["action"] for r in cloudflows_emulator.control.requests(vendor="wedata")]
    assert actions[0] == "CreateTriggerWorkflowRun"
    assert actions.count("CreateTriggerWorkflowRun") == 1
    assert actions[-1] == "GetTriggerWorkflowRun"
