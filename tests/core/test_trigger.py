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

    async def polled_twice() -> None:
        while fake.polls.get("r1", 0) < 2:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(polled_twice(), 10)  # mid-wait: a few polls done
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


async def test_triggers_on_one_loop_share_one_hook_and_one_connection_lookup(fake, monkeypatch):
    from airflow_provider_cloudflows.hooks import base

    lookups: list[str] = []
    real = base.CloudflowsHook.aload_credentials

    async def counting(self):
        if self._credentials is None:
            lookups.append(self.conn_id)
        return await real(self)

    monkeypatch.setattr(base.CloudflowsHook, "aload_credentials", counting)
    for i in range(20):
        fake.runs[f"r{i}"] = ["RUN", "OK"]
    triggers = [make_trigger(f"r{i}") for i in range(20)]
    results = await asyncio.gather(*(collect(t) for t in triggers))
    assert [events[0]["status"] for events in results] == ["success"] * 20
    assert lookups == ["fake_default"]  # twenty triggers, started at once, read the connection once
    hooks = [await t._shared_hook() for t in triggers]
    assert all(h is hooks[0] for h in hooks)
    other = await make_trigger("r0", hook_params={"timeout": 5})._shared_hook()
    assert other is not hooks[0]  # different hook arguments, different hook


async def test_a_shared_hook_is_rebuilt_after_its_reuse_window(fake, monkeypatch):
    from airflow_provider_cloudflows.triggers import workflow_run

    first = await make_trigger()._shared_hook()
    assert await make_trigger("r2")._shared_hook() is first
    monkeypatch.setattr(workflow_run, "HOOK_REUSE_SECONDS", 0.0)
    assert await make_trigger("r3")._shared_hook() is not first  # an edited connection is read again


async def test_a_failed_hook_build_is_not_handed_to_the_next_trigger(fake):
    broken = WorkflowRunTrigger(hook_class_path="fake_vendor.NoSuchHook", conn_id="fake_default", run_id="r1")
    for _ in range(2):  # the second attempt builds again and fails the same way, not from a cache
        with pytest.raises(AttributeError, match="NoSuchHook"):
            await collect(broken)
    from airflow_provider_cloudflows.triggers.workflow_run import _shared_hooks

    assert _shared_hooks[asyncio.get_running_loop()] == {}


async def test_a_waiting_trigger_keeps_no_run_alive_between_polls(fake):
    import gc

    from airflow_provider_cloudflows.runs import TaskRun, WorkflowRun

    def alive() -> set[int]:
        gc.collect()
        # type(), not isinstance(): isinstance asks lazy proxies in Airflow 2.11 for __class__,
        # which imports optional modules.
        return {id(o) for o in gc.get_objects() if type(o) in (WorkflowRun, TaskRun)}

    fake.runs["r1"] = ["RUN", "OK"]
    before = alive()
    trigger = make_trigger()
    trigger.poll_interval = 60
    waiting = asyncio.ensure_future(collect(trigger, timeout=120))
    while fake.polls.get("r1", 0) < 1:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the trigger is asleep until its next poll
    assert alive() - before == set()
    waiting.cancel()
