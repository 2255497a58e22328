"""A user marking deferred tasks failed in a real Airflow 3.3 stops the run the task started, and no other.

The DAG (tests/e2e/dags/e2e_stop_on_kill.py) defers a WeData start operator and a WeData sensor to
the triggerer and starts a third run without waiting. Once both waits are deferred, the test
marks both tasks failed through the REST API, as a user does in the UI. Airflow's triggerer then
calls the triggers' `on_kill`: the emulator's request log must show one KillTriggerWorkflowRuns,
for the started run, and the run the sensor waited on and the run nobody waits on keep going.

The triggers never fire (the runs would take hours), so the Airflow 3.3.2 scheduler race
(apache/airflow #67287, #72716: a trigger firing within ~3 s) cannot touch these tasks.

"Deferred" in the REST API means the task handed its trigger to the database, not that a
triggerer runs it yet: a trigger the user ends before any triggerer picked it up is deleted
without ever running, so Airflow has no trigger whose `on_kill` it could call (README, known
limits). The test marks the tasks failed once the emulator has seen both triggers poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from cloudflows_demo.rest import wait_until
from live_airflow import E2E_DAGS, LiveAirflow

from airflow_provider_cloudflows.emulator.control import EmulatorControl
from airflow_provider_cloudflows.emulator.services.wedata import run_spec

pytestmark = pytest.mark.e2e

DAG_ID = "e2e_stop_on_kill"
DEFERRED = ("start_and_wait", "wait_only")


def _task_states(live: LiveAirflow, run_id: str) -> dict[str, str]:
    tis = live.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
    return {ti["task_id"]: ti["state"] for ti in tis}


def _xcom(live: LiveAirflow, run_id: str, task_id: str, key: str) -> Any:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
    return live.api.get(path, deserialize="true")["value"]


def _kills(control: EmulatorControl) -> list[dict[str, Any]]:
    return control.requests(vendor="wedata", action="KillTriggerWorkflowRuns")


def _polled_since(control: EmulatorControl, since: int, run_ids: set[str]) -> bool:
    """Whether each of `run_ids` was read after request `since`: only a trigger reads it then."""
    reads = control.requests(since=since, vendor="wedata", action="GetTriggerWorkflowRun")
    return run_ids <= {r["run_id"] for r in reads}


def _wait_on_triggerer(live: LiveAirflow, what: str, check: Callable[[], Any]) -> Any:
    """`wait_until`, and at the timeout the end of the triggerer's own log, to show why."""
    try:
        return wait_until(what, check, timeout=120)
    except TimeoutError as exc:
        tails = [
            f"--- {p}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-40:])
            for p in sorted((live.site.logs / "processes").glob("triggerer*"))
        ]
        raise AssertionError("\n".join([str(exc), *tails])) from exc


def test_marking_deferred_tasks_failed_stops_only_the_run_the_task_started(live_airflow: LiveAirflow) -> None:
    began = time.monotonic()
    assert (E2E_DAGS / f"{DAG_ID}.py").exists()
    api = live_airflow.api
    api.wait_for_dags([DAG_ID], timeout=180)
    with EmulatorControl(live_airflow.emulator_url) as control:
        waited_on = "5e2e0000-0000-4000-8000-00000000a11d"
        control.script_runs([run_spec(waited_on, advance="time", step_seconds=3600)])
        run_id = api.trigger(DAG_ID)
        where = f"(logs in {live_airflow.site.logs})"

        def deferred() -> bool:
            states = _task_states(live_airflow, run_id)
            if any(states.get(t) in ("failed", "success", "upstream_failed") for t in DEFERRED):
                raise AssertionError(f"a wait ended before it was killed: {states} {where}")
            return all(states.get(t) == "deferred" for t in DEFERRED)

        wait_until("both waits to defer to the triggerer", deferred, timeout=240, interval=1)
        started = _xcom(live_airflow, run_id, "start_and_wait", "run_id")
        # Both triggers poll every 2 s once a triggerer runs them; the tasks' own polls came before.
        reads = control.requests(vendor="wedata", action="GetTriggerWorkflowRun")
        since = max((r["seq"] for r in reads), default=0)
        _wait_on_triggerer(
            live_airflow,
            "the triggerer to run both triggers",
            lambda: _polled_since(control, since, {started, waited_on}),
        )
        wait_until(
            "start_other to finish",
            lambda: _task_states(live_airflow, run_id)["start_other"] == "success",
            timeout=120,
        )
        other = _xcom(live_airflow, run_id, "start_other", "run_id")
        assert _kills(control) == []

        for task_id in DEFERRED:
            api.patch(
                f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}", {"new_state": "failed"}
            )
        (kill,) = _wait_on_triggerer(
            live_airflow, "the triggerer to stop the started run", lambda: _kills(control)
        )
        # Time for a wrong second stop (the sensor's run, or a retry) to show up if there were one.
        time.sleep(10)
        kills = _kills(control)
        assert len(kills) == 1, kills
        assert kill["status"] == 200 and kill["run_id"] == started, kill
        assert control.get_run("wedata", started)["state"] == "FAILED"
        assert control.get_run("wedata", waited_on)["state"] != "FAILED"
        assert control.get_run("wedata", other)["state"] != "FAILED"
        assert _task_states(live_airflow, run_id)["start_and_wait"] == "failed"

    stopped = live_airflow.trigger_log_lines(DAG_ID, run_id, "start_and_wait", "stopped workflow run")
    assert any(started in line for line in stopped), (stopped, where)
    print(f"\nstop-on-kill end to end: {time.monotonic() - began:.1f} s after Airflow was up")
