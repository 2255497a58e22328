"""The example DAG runs to success against the emulator (dag.test runs the trigger inline)."""

from __future__ import annotations


def test_example_dag_succeeds_against_the_emulator(load_example_dag, cloudflows_emulator, monkeypatch):
    from airflow.utils.state import DagRunState

    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    dag = load_example_dag("example_dataworks")

    dag_run = dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    requests = cloudflows_emulator.control.requests(vendor="dataworks")
    assert requests[0]["action"] == "CreateWorkflowInstances"
    assert any(r["action"] == "ListTaskInstances" for r in requests)
    assert all(r["status"] == 200 for r in requests)
