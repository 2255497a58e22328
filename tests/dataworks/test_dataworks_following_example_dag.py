"""The following-runs example DAG finds today's DataWorks periodic instance by business date, then WeData's task instance."""

from __future__ import annotations


def test_example_dag_follows_the_periodic_instance_of_the_business_date(
    load_example_dag, cloudflows_emulator, monkeypatch
):
    from airflow.utils.state import DagRunState
    from cloudflows_demo.emulator import preload_runs_named_by_params

    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    dag = load_example_dag("example_following_runs")
    preloaded = preload_runs_named_by_params(cloudflows_emulator.url, {dag.dag_id: dag})
    # Yesterday's, today's and tomorrow's periodic instance, and the same days' task instance.
    assert len(preloaded) == 6

    dag_run = dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    requests = cloudflows_emulator.control.requests(vendor="dataworks")
    assert requests[0]["action"] == "ListWorkflowInstances"
    today = next(r for r in cloudflows_emulator.control.runs("dataworks") if r["run_id"] == "3000")
    assert today["fields"]["Type"] == "Normal" and today["finished"]
    others = [r for r in cloudflows_emulator.control.runs("dataworks") if r["run_id"] in ("2999", "3001")]
    assert not any(r["finished"] for r in others)  # only the instance of the DAG's {{ ds }} was followed
    assert {r["action"] for r in requests} >= {
        "ListWorkflowInstances",
        "GetWorkflowInstance",
        "ListTaskInstances",
    }
    assert all(r["status"] == 200 for r in requests)

    wedata = cloudflows_emulator.control.requests(vendor="wedata")
    assert wedata[0]["action"] == "ListTaskInstances"
    followed = {r["run_id"]: r for r in cloudflows_emulator.control.runs("wedata")}
    finished = [key for key, r in followed.items() if r["finished"]]
    # Exactly one task instance was followed to its end: the one of the DAG's {{ ds }} at 02:00.
    assert (
        len(finished) == 1
        and finished[0].startswith("20240627201611119_")
        and finished[0].endswith(" 02:00:00")
    )
