"""The WeData example DAG runs to success against the emulator (dag.test: the trigger runs inline)."""

from __future__ import annotations


def test_example_dag_succeeds_against_the_emulator(load_example_dag, cloudflows_emulator, monkeypatch):
    from airflow.utils.state import DagRunState, TaskInstanceState

    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    dag = load_example_dag("example_wedata")

    dag_run = dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == dict.fromkeys(("start_run", "wait_for_run", "read_run"), TaskInstanceState.SUCCESS)
    actions = [r["action"] for r in cloudflows_emulator.control.requests(vendor="wedata")]
    assert actions[0] == "CreateTriggerWorkflowRun"
    assert actions.count("CreateTriggerWorkflowRun") == 1
    assert actions[-1] == "GetTriggerWorkflowRun"
