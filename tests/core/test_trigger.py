"""WorkflowRunTrigger with the fake vendor: one event, retries inside the loop, restarts, deadlines."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

pytestmark = pytest.mark.asyncio


def make_trigger(run_id: str = "r1", **kwargs) -> WorkflowRunTrigger:
    return WorkflowRunTrigger(
        hook_class_path="fake_vendor.FakeHook",
        conn_id="fake_default",
        run_id=run_id,
        poll_interval=0.01,
        **kwargs,
    )


async def collect(trigger: WorkflowRunTrigger, timeout: float = 10) -> list[dict]:
    async def _all():
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(_all(), timeout)


async def test_serialize_is_json_safe_and_round_trips():
    trigger = make_trigger(deadline=1_900_000_000.5, run_params={"project_id": "p1"}, failure_states=["SKIP"])
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_cloudflows.triggers.workflow_run.WorkflowRunTrigger"
    rebuilt = WorkflowRunTrigger(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (path, kwargs)


async def test_success_yields_exactly_one_event_with_the_run(fake):
    fake.runs["r1"] = ["WAIT", "RUN", "RUN", "OK"]
    events = await collect(make_trigger())
    assert len(events) == 1
    assert events[0]["status"] == "success"
    assert events[0]["run"]["raw_state"] == "OK"
    assert events[0]["run"]["task_runs"][1]["name"] == "load"
    assert fake.polls["r1"] == 4


async def test_failure_event_names_the_run_state_and_error(fake):
    fake.runs["r1"] = ["RUN", "BAD"]
    (event,) = await collect(make_trigger())
    assert event["status"] == "failure"
    assert "r1" in event["message"] and "'BAD'" in event["message"] and "E42" in event["message"]


async def test_transient_errors_inside_the_loop_are_not_fatal(fake):
    fake.runs["r1"] = ["RUN", "OK"]
    # More consecutive faults than one call's retry budget (4): the loop itself keeps polling.
    fake.faults += [httpx.Response(503, json={})] * 6 + [httpx.ReadTimeout("slow")] * 2
    (event,) = await collect(make_trigger())
    assert event["status"] == "success"


async def test_errors_retrying_cannot_fix_end_the_wait_at_once(fake):
    (event,) = await collect(make_trigger("missing"))
    assert event["status"] == "error"
    assert "missing" in event["message"]
    assert len(fake.requests) == 1


async def test_deadline_yields_a_timeout_event(fake):
    fake.runs["r1"] = ["RUN"]
    started = time.monotonic()
    (event,) = await collect(make_trigger(deadline=time.time() + 0.3))
    assert event["status"] == "timeout"
    assert 0.25 <= time.monotonic() - started < 3


async def test_rebuilt_trigger_resumes_and_keeps_its_absolute_deadline(fake):
    fake.runs["r1"] = ["RUN"] * 5 + ["OK"]
    deadline = time.time() + 30
    first = make_trigger(deadline=deadline)
    agen = first.run()
    task = asyncio.ensure_future(agen.__anext__())
    await asyncio.sleep(0.02)  # mid-wait: a few polls done
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await agen.aclose()
    polls_before = fake.polls["r1"]
    assert 0 < polls_before < 6

    _, kwargs = first.serialize()
    restarted = WorkflowRunTrigger(**json.loads(json.dumps(kwargs)))
    assert restarted.deadline == deadline
    (event,) = await collect(restarted)
    assert event["status"] == "success"


async def test_rebuilt_trigger_past_its_deadline_times_out_instead_of_waiting_again(fake):
    fake.runs["r1"] = ["RUN"]
    _, kwargs = make_trigger(deadline=time.time() - 1).serialize()
    (event,) = await collect(WorkflowRunTrigger(**kwargs))
    assert event["status"] == "timeout"
    assert fake.polls["r1"] == 1
