"""Triggerer restarts and sensor timeouts.

Restart: a trigger stopped mid-wait, serialized and rebuilt from its JSON kwargs (as a triggerer
does after a restart) resumes against the emulator, delivers the right event, and keeps the
absolute deadline it had. Timeouts: the sensor's `timeout` holds in poke, reschedule and
deferrable mode alike, and `soft_fail` turns the timeout into a skip in all three.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from reliability_support import SUCCESS, VENDOR_IDS, VENDORS, VendorCase, collect_events

from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

# A raw state each vendor reports while a run is in progress.
RUNNING = {"ice": "Processing", "dataworks": "Running", "wedata": "RUNNING", "cloud_infinite": "Running"}


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch, request):
    vendor: VendorCase = request.param
    monkeypatch.setenv(vendor.conn_env, vendor.connection_json(cloudflows_emulator))
    return vendor, cloudflows_emulator


def _script(vendor: VendorCase, emulator: Any, *, finishes: bool, step_seconds: float = 0.3) -> str:
    """A run that finishes successfully by time, or one that never finishes."""
    final = next(f for f, verdict in vendor.outcomes.items() if verdict == SUCCESS)
    run_id = vendor.run_id(7)
    spec = vendor.spec(run_id, final)
    if finishes:
        spec.update(advance="time", step_seconds=step_seconds)
    else:
        spec["states"] = [RUNNING[vendor.name]]
    emulator.control.script_runs([spec])
    return run_id


def _rebuilt(trigger: WorkflowRunTrigger) -> WorkflowRunTrigger:
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_cloudflows.triggers.workflow_run.WorkflowRunTrigger"
    return WorkflowRunTrigger(**json.loads(json.dumps(kwargs)))


async def _run_until_stopped(trigger: WorkflowRunTrigger, seconds: float) -> list[Any]:
    """Run a trigger for `seconds`, then cancel it as a stopping triggerer does."""
    events: list[Any] = []

    async def consume() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return events


# -- restarts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_a_rebuilt_trigger_resumes_and_delivers_the_event(emulator):
    vendor, emu = emulator
    run_id = _script(vendor, emu, finishes=False)
    deadline = time.time() + 60
    trigger = vendor.sensor(run_id, poke_interval=0.05, timeout=60).build_trigger(deadline=deadline)

    assert asyncio.run(_run_until_stopped(trigger, 0.3)) == []  # stopped mid-wait, no event yet
    polled_before = len(emu.control.requests(vendor=vendor.name))
    assert polled_before >= 1
    # While the triggerer is down the run goes on and finishes (however slow this machine is, the
    # first trigger saw it running).
    emu.control.delete_run(vendor.name, run_id)
    assert _script(vendor, emu, finishes=True) == run_id

    resumed = _rebuilt(trigger)
    assert resumed.serialize() == trigger.serialize()
    assert resumed.deadline == deadline  # the absolute deadline, not a fresh duration
    events = asyncio.run(collect_events(resumed, 30))
    assert [e["status"] for e in events] == ["success"]
    assert str(events[0]["run"]["run_id"]) == run_id
    assert len(emu.control.requests(vendor=vendor.name)) > polled_before


@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_a_restart_does_not_extend_the_deadline(emulator):
    vendor, emu = emulator
    run_id = _script(vendor, emu, finishes=False)
    deadline = time.time() + 0.6
    trigger = vendor.sensor(run_id, poke_interval=0.05, timeout=0.6).build_trigger(deadline=deadline)
    assert asyncio.run(_run_until_stopped(trigger, 0.2)) == []

    time.sleep(max(0.0, deadline - time.time()) + 0.1)  # the triggerer was down past the deadline
    resumed = _rebuilt(trigger)
    began = time.monotonic()
    events = asyncio.run(collect_events(resumed, 10))
    assert [e["status"] for e in events] == ["timeout"]
    assert time.monotonic() - began < 2.0  # one poll, then the timeout: no fresh wait


# -- timeouts in every mode ---------------------------------------------------------------------

TIMEOUT = 0.5


def _expected(soft_fail: bool) -> type[Exception]:
    return AirflowSkipException if soft_fail else AirflowSensorTimeout


@pytest.mark.parametrize("soft_fail", [False, True], ids=["fail", "soft_fail"])
@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_timeout_in_poke_mode(emulator, soft_fail):
    vendor, emu = emulator
    run_id = _script(vendor, emu, finishes=False)
    sensor = vendor.sensor(run_id, poke_interval=0.05, timeout=TIMEOUT, mode="poke", soft_fail=soft_fail)
    began = time.monotonic()
    with pytest.raises(_expected(soft_fail)):
        sensor.execute({"ti": mock.MagicMock()})
    assert TIMEOUT <= time.monotonic() - began < TIMEOUT + 3


@pytest.mark.parametrize("soft_fail", [False, True], ids=["fail", "soft_fail"])
@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_timeout_in_reschedule_mode(emulator, soft_fail, monkeypatch):
    try:
        from airflow.sdk.exceptions import AirflowRescheduleException
    except ImportError:  # Airflow 2
        from airflow.exceptions import AirflowRescheduleException

    vendor, emu = emulator
    run_id = _script(vendor, emu, finishes=False)
    sensor = vendor.sensor(
        run_id, poke_interval=0.05, timeout=TIMEOUT, mode="reschedule", soft_fail=soft_fail
    )
    ti = mock.MagicMock()
    # First try: not done, not timed out yet -> reschedule.
    _first_try_started(ti, None, monkeypatch)
    with pytest.raises(AirflowRescheduleException):
        sensor.execute({"ti": ti})
    # A later try, counted from the first reschedule: past the timeout.
    _first_try_started(ti, datetime.now(UTC) - timedelta(seconds=TIMEOUT + 1), monkeypatch)
    with pytest.raises(_expected(soft_fail)):
        sensor.execute({"ti": ti})


def _first_try_started(ti: mock.MagicMock, when: datetime | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the first try of a rescheduled sensor started (None: this is the first try)."""
    ti.get_first_reschedule_date.return_value = when  # Airflow 3 asks the task instance
    try:
        import airflow.sensors.base as airflow2_sensors
    except ImportError:
        return
    if hasattr(airflow2_sensors, "_orig_start_date"):  # Airflow 2 reads the metadata DB instead
        monkeypatch.setattr(airflow2_sensors, "_orig_start_date", lambda **_: when)


@pytest.mark.parametrize("soft_fail", [False, True], ids=["fail", "soft_fail"])
@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_timeout_in_deferrable_mode(emulator, soft_fail):
    vendor, emu = emulator
    run_id = _script(vendor, emu, finishes=False)
    sensor = vendor.sensor(run_id, poke_interval=0.05, timeout=TIMEOUT, deferrable=True, soft_fail=soft_fail)
    context: dict[str, Any] = {"ti": mock.MagicMock()}
    began = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    trigger = deferred.value.trigger
    assert began <= trigger.deadline <= time.time() + TIMEOUT
    # The deferral's own timeout is only a backstop behind the trigger's deadline.
    assert deferred.value.timeout is None or deferred.value.timeout.total_seconds() >= TIMEOUT

    events = asyncio.run(collect_events(_rebuilt(trigger), 10))
    assert [e["status"] for e in events] == ["timeout"]
    assert time.time() >= trigger.deadline
    with pytest.raises(_expected(soft_fail)):
        getattr(sensor, deferred.value.method_name)(context, events[0])
