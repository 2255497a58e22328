"""Event-driven scheduling in a real Airflow 3: WeData runs finishing in the emulator start DAG runs.

The asset watcher of example_event_driven runs in the live triggerer; each WeData run of its
workflow that finishes in success must start exactly one run of the asset-scheduled DAG whose
task sees that run's id - also across a triggerer killed (SIGKILL) and started again.

Runs that finish close together may arrive as one DAG run with several triggering events (Airflow
queues asset events per DAG), so the runs here finish well apart (more than two polls), and the
assertions count the WeData run ids the DAG runs saw: each exactly once.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from cloudflows_demo.rest import wait_until
from cloudflows_demo.site import start_components
from live_airflow import LiveAirflow, load_example_dag

from airflow_provider_cloudflows.emulator.control import EmulatorControl
from airflow_provider_cloudflows.emulator.services.wedata import run_spec

pytestmark = pytest.mark.e2e

DAG_ID = "example_event_driven"
TASK_ID = "read_finished_run"


def _finish_soon(live: LiveAirflow, dag: Any, execution_id: str, outcome: str = "SUCCESS") -> None:
    """A run of the watched workflow that finishes 4 s from now."""
    spec = run_spec(
        execution_id,
        outcome,
        project_id=dag.PROJECT_ID,
        workflow_id=dag.WATCHED_WORKFLOW_ID,
        workflow_name="orders_hourly",
        trigger_type="Scheduler",
        advance="time",
        step_seconds=1.0,
    )
    with EmulatorControl(live.emulator_url) as control:
        control.script_runs([{**spec, "finishes_at": time.time() + 4}])


def _seen_run_ids(live: LiveAirflow) -> Counter[str]:
    """Each WeData run id, counted once per finished DAG run whose task saw it."""
    seen: Counter[str] = Counter()
    runs = live.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]
    for dag_run in runs:
        if dag_run["state"] != "success":
            continue
        entry = live.api.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns/{dag_run['dag_run_id']}/taskInstances/{TASK_ID}"
            "/xcomEntries/return_value",
            deserialize="true",
        )
        seen.update(entry["value"]["run_ids"])
    return seen


def _dag_runs(live: LiveAirflow) -> list[dict[str, Any]]:
    return live.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]


def _wait_for_seen(live: LiveAirflow, expected: Counter[str], timeout: float = 120) -> None:
    def done() -> bool:
        live.procs.check_alive()
        unfinished = [r for r in _dag_runs(live) if r["state"] not in ("success", "failed")]
        return not unfinished and _seen_run_ids(live) == expected

    try:
        wait_until(f"DAG runs that saw {dict(expected)}", done, timeout=timeout, interval=2)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; seen so far: {dict(_seen_run_ids(live))}") from None


def _wait_for_watcher(live: LiveAirflow, since_offset: int, timeout: float = 180) -> None:
    """Until the triggerer's log says the watcher started (after `since_offset` bytes of it)."""

    def started() -> bool:
        live.procs.check_alive()
        text = live.log_of("triggerer").read_bytes()[since_offset:].decode(errors="replace")
        return "Watching workflow" in text

    wait_until("the triggerer to start the asset watcher", started, timeout=timeout, interval=1)


def test_each_wedata_run_that_finishes_starts_exactly_one_dag_run(live_airflow: LiveAirflow) -> None:
    live = live_airflow
    dag = load_example_dag(DAG_ID)
    started = time.monotonic()
    live.api.wait_for_dags([DAG_ID], timeout=180)
    live.api.patch(f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    _wait_for_watcher(live, 0)

    # One run: one DAG run, whose task sees its id; a failed run is no event (success only).
    _finish_soon(live, dag, "evt-00000001")
    _finish_soon(live, dag, "evt-failed01", outcome="FAILED")
    _wait_for_seen(live, Counter({"evt-00000001": 1}))
    assert len(_dag_runs(live)) == 1
    time.sleep(12)  # more polls of the same, still successful, run: no second event
    assert _seen_run_ids(live) == Counter({"evt-00000001": 1}) and len(_dag_runs(live)) == 1

    # Three runs finishing (well apart): three more DAG runs.
    for n in (2, 3, 4):
        _finish_soon(live, dag, f"evt-0000000{n}")
        time.sleep(12)
    expected = Counter({f"evt-0000000{n}": 1 for n in (1, 2, 3, 4)})
    _wait_for_seen(live, expected)
    assert len(_dag_runs(live)) == 4

    # A triggerer killed between two finishes: the run that finished while it was down and the
    # one after its restart are each seen once, and nothing earlier comes again.
    log_size = live.log_of("triggerer").stat().st_size
    live.procs.kill("triggerer")
    _finish_soon(live, dag, "evt-whiledown")
    time.sleep(8)
    start_components(live.procs, live.site, ["triggerer"])
    _wait_for_watcher(live, log_size)
    _wait_for_seen(live, expected + Counter({"evt-whiledown": 1}), timeout=180)
    _finish_soon(live, dag, "evt-afterrestart")
    _wait_for_seen(live, expected + Counter({"evt-whiledown": 1, "evt-afterrestart": 1}))
    time.sleep(12)
    assert _seen_run_ids(live) == expected + Counter({"evt-whiledown": 1, "evt-afterrestart": 1})
    print(f"event-driven e2e took {time.monotonic() - started:.0f} s after the harness was up")
