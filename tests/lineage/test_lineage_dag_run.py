"""A DAG run with OpenLineage on, end to end: Airflow's own listener emits our facets, and the ids the vendor run carries are the ones it emits.

Runs `dag.test()` in a fresh interpreter (OpenLineage's listener is registered when Airflow loads
its plugins, once per process) with the file transport, against an emulator started there, and
reads the emitted events back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow.providers.openlineage", reason="the `openlineage` extra is not installed")

ROOT = Path(__file__).parents[2]

SCRIPT = textwrap.dedent(
    '''
    import importlib.util, json, os, pathlib, sys, tempfile, textwrap
    home = pathlib.Path(tempfile.mkdtemp(prefix="cloudflows-lineage-"))
    events_file = home / "events.jsonl"
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "lineage-test",
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "False",
    })
    from importlib.metadata import version
    if version("apache-airflow").startswith("2."):
        os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    from airflow_provider_cloudflows.emulator import config
    from airflow_provider_cloudflows.emulator.server import EmulatorServer

    DAG = """
    import pendulum
    from airflow.providers.common.compat.sdk import DAG
    from airflow_provider_cloudflows.operators.ice import IceStartWorkflowOperator
    with DAG("lineage_ice", schedule=None, start_date=pendulum.datetime(2025, 1, 1)) as dag:
        for task_id, outcome in (("ok", "Succeed"), ("broken", "Failed")):
            IceStartWorkflowOperator(
                task_id=task_id, workflow_id="wf-9", task_input={"Type": "Media", "Media": "m-1"},
                user_data={"emulator_step_seconds": 0.05, "emulator_outcome": outcome},
                poll_interval=0.1, timeout=60,
            )
    """
    with EmulatorServer() as server:
        os.environ["AIRFLOW_CONN_ALIBABACLOUD_DEFAULT"] = json.dumps({
            "conn_type": "alibabacloud",
            "login": config.ALIBABA_DEMO_ACCESS_KEY_ID,
            "password": config.ALIBABA_DEMO_ACCESS_KEY_SECRET,
            "extra": {"region": "cn-shanghai", "endpoint": server.url},
        })
        from airflow.utils import db
        db.resetdb()
        (home / "dags").mkdir()
        path = home / "dags" / "lineage_ice.py"
        path.write_text(textwrap.dedent(DAG))
        spec = importlib.util.spec_from_file_location("lineage_ice", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        state = str(module.dag.test().state)
        user_data = [json.loads(r["fields"]["UserData"]) for r in server.control.runs("ice")]
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    print(json.dumps({"state": state, "user_data": user_data, "events": events}))
    '''
)


@pytest.fixture(scope="module")
def dag_run() -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def task_events(dag_run: dict[str, Any], task_id: str) -> dict[str, dict[str, Any]]:
    events = [e for e in dag_run["events"] if e["job"]["name"] == f"lineage_ice.{task_id}"]
    return {e["eventType"]: e for e in events}


def test_the_listener_emits_our_facets_on_complete_and_on_fail(dag_run: dict[str, Any]) -> None:
    assert dag_run["state"].endswith("failed")  # one of the two tasks fails, as its run does
    complete = task_events(dag_run, "ok")["COMPLETE"]
    facet = complete["run"]["facets"]["cloudflows"]
    assert (facet["vendor"], facet["state"], facet["rawState"]) == (
        "Alibaba Cloud ICE",
        "succeeded",
        "Succeed",
    )
    assert facet["consoleUrl"].startswith("https://") and facet["runId"] in facet["consoleUrl"]
    assert complete["run"]["facets"]["externalQuery"]["externalQueryId"] == facet["runId"]
    jobs = complete["job"]["facets"]
    assert jobs["cloudflowsJobType"]["integration"] == "ICE" and jobs["jobType"]["integration"] == "AIRFLOW"

    fail = task_events(dag_run, "broken")["FAIL"]
    failed = fail["run"]["facets"]["cloudflows"]
    assert failed["state"] == "failed" and failed["errorCode"] and failed["errorMessage"]
    assert failed["runId"] in fail["run"]["facets"]["errorMessage"]["message"]


def test_each_vendor_run_carries_the_ids_the_listener_emitted(dag_run: dict[str, Any]) -> None:
    by_task = {u["openlineage_parent_id"].split("/")[1]: u for u in dag_run["user_data"]}
    assert sorted(by_task) == ["lineage_ice.broken", "lineage_ice.ok"]
    dag_events = [e for e in dag_run["events"] if e["job"]["name"] == "lineage_ice"]
    for task_id in ("ok", "broken"):
        user_data = by_task[f"lineage_ice.{task_id}"]
        emitted = task_events(dag_run, task_id)["START"]["run"]["runId"]
        assert user_data["openlineage_parent_id"] == f"lineage-test/lineage_ice.{task_id}/{emitted}"
        root = user_data["openlineage_root_parent_id"]
        assert root == f"lineage-test/lineage_ice/{dag_events[0]['run']['runId']}"
        assert user_data["AirflowTaskInstance"].startswith("airflow-")
