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


def test_repair_example_dag_reruns_the_failed_task_instances_on_retry(
    load_example_dag, cloudflows_emulator, monkeypatch
):
    from airflow.utils.state import DagRunState

    from airflow_provider_cloudflows.emulator.services.dataworks import demo_runs

    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    cloudflows_emulator.control.script_runs(demo_runs())
    dag = load_example_dag("example_repair")

    dag_run = dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    assert tis["create_and_repair"].try_number >= 2
    control = cloudflows_emulator.control
    assert len(control.requests(vendor="dataworks", action="CreateWorkflowInstances")) == 1
    reruns = control.requests(vendor="dataworks", action="RerunWorkflowInstances")
    # One rerun of the instance the first try created (by the retry), one of the failed demo instance.
    (repaired,) = [r["run_id"] for r in reruns if r["run_id"] != "1004"]
    assert len(reruns) == 2
    run = control.get_run("dataworks", repaired)
    assert run["state"] == "Success" and run["reruns"] == 1
    # extract had succeeded and did not run again; transform and load did.
    assert [t["reruns"] for t in run["task_runs"]] == [0, 1, 1]
