"""What the sensor, the trigger and the start operator log while a run progresses, line by line."""

from __future__ import annotations

import asyncio
from unittest import mock

import httpx
import pytest
from fake_vendor import FakeRunSensor
from test_sensor_and_operators import FakeStartRunOperator, context

from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

# Each poll advances the run one state; repeated states must not repeat a line.
STATES = ["WAIT", "WAIT", "RUN", "RUN", "HOLD", "HOLD", "OK"]


def logged(log: mock.MagicMock) -> list[tuple[str, str]]:
    """The (level, rendered line) of every info and warning call, in order."""
    return [
        (name, args[0] % args[1:])
        for name, args, _ in log.return_value.method_calls
        if name in ("info", "warning")
    ]


class ScriptedStartOperator(FakeStartRunOperator):
    """Starts nothing: the run it "starts" is the one the test scripted."""

    def start(self, context):
        return "r1"


def test_sensor_logs_each_change_once_and_warns_on_pause(fake):
    fake.runs["r1"] = list(STATES)
    sensor = FakeRunSensor(task_id="wait", run_id="r1", poke_interval=0.01, timeout=5)
    with mock.patch.object(FakeRunSensor, "log", new_callable=mock.PropertyMock) as log:
        sensor.execute(context())
    assert [line for line in logged(log) if "fake run" in line[1]] == [
        ("info", "Fake fake run r1 is WAIT (1/2 task runs succeeded, 1 queued)"),
        ("info", "Fake fake run r1 is RUN (1/2 task runs succeeded, 1 running)"),
        (
            "warning",
            "Fake fake run r1 is paused; it will not progress until resumed in the console "
            "(set fail_on_pause=True to fail instead)",
        ),
        ("info", "Fake fake run r1 finished in state OK (2/2 task runs succeeded)"),
    ]


def test_sensor_rides_out_an_outage_with_one_line_per_failed_poll(fake):
    fake.runs["r1"] = ["RUN", "OK"]
    fake.faults += [httpx.Response(503, json={})] * 4  # one poll's whole retry budget
    sensor = FakeRunSensor(task_id="wait", run_id="r1", poke_interval=0.01, timeout=5)
    with mock.patch.object(FakeRunSensor, "log", new_callable=mock.PropertyMock) as log:
        sensor.execute(context())
    (warning,) = [line for level, line in logged(log) if level == "warning"]
    assert warning.startswith("Polling fake run r1 failed, will poll again: ")


def test_trigger_logs_each_change_once(fake):
    fake.runs["r1"] = list(STATES)
    trigger = WorkflowRunTrigger(
        hook_class_path="fake_vendor.FakeHook", conn_id="fake_default", run_id="r1", poll_interval=0.01
    )

    async def events() -> list:
        return [event async for event in trigger.run()]

    with mock.patch.object(WorkflowRunTrigger, "log", new_callable=mock.PropertyMock) as log:
        (event,) = asyncio.run(asyncio.wait_for(events(), 10))
    assert event.payload["status"] == "success"
    assert logged(log) == [
        ("info", "run r1 is WAIT (1/2 task runs succeeded, 1 queued)"),
        ("info", "run r1 is RUN (1/2 task runs succeeded, 1 running)"),
        ("info", "run r1 is HOLD (1/2 task runs succeeded, 1 paused)"),
    ]


def test_start_operator_logs_each_change_once_while_waiting(fake):
    fake.runs["r1"] = list(STATES)
    op = ScriptedStartOperator(task_id="start", poll_interval=0.01, timeout=5)
    with mock.patch.object(ScriptedStartOperator, "log", new_callable=mock.PropertyMock) as log:
        assert op.execute(context()) == "r1"
    assert logged(log) == [
        ("info", "Started Fake fake run r1"),
        ("info", "fake run r1 is WAIT (1/2 task runs succeeded, 1 queued)"),
        ("info", "fake run r1 is RUN (1/2 task runs succeeded, 1 running)"),
        ("info", "fake run r1 is HOLD (1/2 task runs succeeded, 1 paused)"),
    ]


@pytest.mark.parametrize("fail_on_pause", [False, True])
def test_sensor_fail_on_pause(fake, fail_on_pause):
    from airflow.providers.common.compat.sdk import AirflowFailException

    fake.runs["r1"] = ["HOLD"]
    sensor = FakeRunSensor(task_id="wait", run_id="r1", fail_on_pause=fail_on_pause)
    if fail_on_pause:
        with pytest.raises(
            AirflowFailException,
            match=r"Fake fake run r1 ended in state 'HOLD' \(paused, a failure by fail_on_pause\)",
        ):
            sensor.poke(context())
    else:
        assert sensor.poke(context()).is_done is False
