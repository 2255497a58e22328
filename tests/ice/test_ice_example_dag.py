"""The ICE example DAG runs to success against the emulator (dag.test: the trigger runs inline)."""

from __future__ import annotations


def test_example_dag_succeeds_against_the_emulator(load_example_dag, emulator) -> None:
    from airflow.utils.state import DagRunState, TaskInstanceState

    dag = load_example_dag("example_ice")
    start = dag.get_task("start_workflow")
    start.user_data = {**start.user_data, "emulator_step_seconds": 0.2}
    dag.get_task("wait_for_task").poke_interval = 0.2

    dag_run = dag.test()

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
