"""A reschedule-mode sensor in a real Airflow 3.3 finds its run by description once and follows it.

The DAG (tests/e2e/dags/e2e_reschedule_by_description.py) waits for the DataWorks periodic
instance of a workflow for a business date. The instance advances one state per read, so the
sensor pokes several times, each in a new worker process. The emulator's request log must show
one ListWorkflowInstances (the first poke's look) and then only reads of the instance it found:
the later pokes got its id from Airflow's task state store, not from another look. The found id
is in XCom, and the task log says the later pokes followed it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from live_airflow import E2E_DAGS, LiveAirflow

from airflow_provider_cloudflows.emulator.control import EmulatorControl
from airflow_provider_cloudflows.emulator.services.dataworks import bizdate_ms, instance_spec

pytestmark = pytest.mark.e2e

DAG_ID = "e2e_reschedule_by_description"
TASK_ID = "wait_for_nightly"
INSTANCE_ID = 7771


def _nightly_instance() -> dict[str, Any]:
    from datetime import date

    return instance_spec(
        INSTANCE_ID,
        ["NotRun", "WaitResource", "Running", "Success"],
        [("extract", ["NotRun", "NotRun", "Running", "Success"])],
        name="orders_nightly",
        project_id=10001,
        workflow_id=20777,
        bizdate=bizdate_ms(date(2026, 3, 1)),
        instance_type="Normal",
    )


def _task_log(live: LiveAirflow, run_id: str) -> str:
    return "\n".join(p.read_text(errors="replace") for p in live.site.task_logs(DAG_ID, run_id, TASK_ID))


def _why_not(live: LiveAirflow, run_id: str, states: dict[str, str]) -> str:
    """The task's own log and the scheduler's state-mismatch lines, so a CI failure explains itself."""
    task_tail = _task_log(live, run_id).splitlines()
    scheduler = live.site.logs / "processes" / "scheduler.log"
    mismatches = [
        line
        for line in (scheduler.read_text(errors="replace").splitlines() if scheduler.exists() else [])
        if DAG_ID in line and ("state mismatch" in line or "reported that the task instance" in line)
    ]
    return "\n".join([f"{states} (logs in {live.site.logs})", *task_tail[-40:], *mismatches[-5:]])


def test_a_reschedule_sensor_looks_once_and_follows_the_found_run_across_pokes(
    live_airflow: LiveAirflow,
) -> None:
    began = time.monotonic()
    assert (E2E_DAGS / f"{DAG_ID}.py").exists()
    api = live_airflow.api
    api.wait_for_dags([DAG_ID], timeout=180)
    with EmulatorControl(live_airflow.emulator_url) as control:
        control.script_runs([_nightly_instance()])
        first_seq = max((r["seq"] for r in control.requests(vendor="dataworks")), default=0)
        run_id = api.trigger(DAG_ID)
        states = api.wait_for_runs({DAG_ID: run_id}, timeout=300)
        assert states == {DAG_ID: "success"}, _why_not(live_airflow, run_id, states)

        calls = [
            (r["action"], r.get("run_id"))
            for r in control.requests(since=first_seq, vendor="dataworks")
            if r["action"] in ("ListWorkflowInstances", "GetWorkflowInstance")
        ]
    lists = [i for i, (action, _) in enumerate(calls) if action == "ListWorkflowInstances"]
    reads = [run for action, run in calls if action == "GetWorkflowInstance"]
    assert len(lists) == 1, calls  # one look, by the first poke
    assert lists[0] < len(calls) - len(reads), calls  # the look came before every read
    assert len(reads) >= 3 and set(reads) == {str(INSTANCE_ID)}, calls  # several pokes, one run

    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}/xcomEntries/run_id"
    assert api.get(path, deserialize="true")["value"] == INSTANCE_ID
    text = _task_log(live_airflow, run_id)
    assert "found by an earlier poke of this try" in text, text[-3000:]
    print(f"\nreschedule by description end to end: {time.monotonic() - began:.1f} s after Airflow was up")
