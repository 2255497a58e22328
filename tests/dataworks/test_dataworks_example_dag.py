"""The example DAG runs to success against the emulator (dag.test runs the trigger inline)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil

EXAMPLE = pathlib.Path(__file__).parents[2] / "example_dags" / "example_dataworks.py"


def test_example_dag_succeeds_against_the_emulator(airflow_db, cloudflows_emulator, monkeypatch):
    from airflow.utils.state import DagRunState

    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    dags = pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    target = dags / EXAMPLE.name
    shutil.copy(EXAMPLE, target)
    spec = importlib.util.spec_from_file_location("example_dataworks", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    dag_run = module.dag.test()

    assert dag_run.state == DagRunState.SUCCESS
    requests = cloudflows_emulator.control.requests(vendor="dataworks")
    assert requests[0]["action"] == "CreateWorkflowInstances"
    assert any(r["action"] == "ListTaskInstances" for r in requests)
    assert all(r["status"] == 200 for r in requests)
