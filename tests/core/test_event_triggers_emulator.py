"""The four event triggers against the emulator over real HTTP: their listings, windows and payloads,
a restart from the state store, and one WeData listing per poll for several watched workflows."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from event_support import Store, Watching

from airflow_provider_cloudflows.compat import AIRFLOW_MAJOR
from airflow_provider_cloudflows.emulator.services import cloud_infinite, dataworks, ice, wedata

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="event triggers need Airflow 3 asset watchers"),
]

WATCHED = "5b7c2a6f-7e5a-11f0-ba36-b8cef6a5af5c"
OTHER = "6c8d3b70-7e5a-11f0-ba36-b8cef6a5af5c"


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        cloudflows_emulator.tencentcloud_connection_json(bucket=cloud_infinite.DEMO_BUCKET),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    return cloudflows_emulator


def listings(emulator: Any, action: str) -> Any:
    return lambda: len(emulator.control.requests(action=action))


def wedata_run(
    execution_id: str, created: float, finishes: float, outcome: str = "SUCCESS", workflow: str = WATCHED
):
    spec = wedata.run_spec(
        execution_id, outcome, workflow_id=workflow, advance="time", trigger_type="Scheduler"
    )
    return {**spec, "created_at": created, "finishes_at": finishes}


def start_after(seconds_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - seconds_ago, UTC).isoformat()


def wedata_trigger(store: Any = None, **kwargs: Any) -> Any:
    from airflow_provider_cloudflows.triggers.events import WeDataWorkflowRunFinishedTrigger

    kwargs.setdefault("workflow_id", WATCHED)
    trigger = WeDataWorkflowRunFinishedTrigger(
        project_id=wedata.DEMO_PROJECT_ID, poll_interval=0.2, start_after=start_after(60), **kwargs
    )
    trigger.asset_state_store = store
    return trigger


async def test_wedata_one_event_per_finished_run_with_the_run_summary(emulator):
    now = time.time()
    emulator.control.script_runs(
        [
            wedata_run("before-start", now - 600, now - 300),  # finished before start_after
            wedata_run("ok-1", now - 30, now - 20),
            wedata_run("failed-1", now - 30, now - 10, outcome="FAILED"),  # not counted
            wedata_run("other-wf", now - 30, now - 10, workflow=OTHER),  # another workflow
            wedata_run("ok-2", now - 5, now + 1.5),  # finishes while watched
        ]
    )
    watching = Watching(wedata_trigger().run(), listings(emulator, "ListTriggerWorkflowRuns"))
    assert await watching.after_polls(2) == ["ok-1"]
    assert await watching.after_polls(12) == ["ok-1", "ok-2"]
    await watching.stop()
    first = watching.events[0]
    assert first["vendor"] == "Tencent Cloud WeData" and first["workflow_id"] == WATCHED
    assert first["project_id"] == wedata.DEMO_PROJECT_ID and first["raw_state"] == "SUCCESS"
    assert datetime.fromisoformat(first["finished_at"]).timestamp() == pytest.approx(now - 20, abs=1)
    assert "ok-1" in first["console_url"]


async def test_wedata_restart_from_the_state_store_replays_nothing_and_misses_nothing(emulator):
    store, now = Store(), time.time()
    emulator.control.script_runs([wedata_run("r1", now - 20, now - 10)])
    watching = Watching(wedata_trigger(store).run(), listings(emulator, "ListTriggerWorkflowRuns"))
    assert await watching.after_polls(2) == ["r1"]
    await watching.stop()
    emulator.control.script_runs([wedata_run("while-down", now - 5, time.time() - 1)])
    restarted = Watching(wedata_trigger(store).run(), listings(emulator, "ListTriggerWorkflowRuns"))
    assert await restarted.after_polls(3) == ["while-down"]
    await restarted.stop()


async def test_wedata_watchers_of_two_workflows_share_one_listing_call_per_poll(emulator):
    shared_stream = pytest.importorskip(
        "airflow.triggers.shared_stream", reason="shared streams: Airflow >= 3.3"
    )
    manager = shared_stream.SharedStreamManager(
        max_subscriber_queue=100, ack_timeout=30, cohort_grace_period=0
    )
    now = time.time()
    emulator.control.script_runs(
        [wedata_run("a-1", now - 20, now - 10), wedata_run("b-1", now - 20, now - 5, workflow=OTHER)]
    )
    triggers = [wedata_trigger(Store()), wedata_trigger(Store(), workflow_id=OTHER)]
    (key,) = {t.shared_stream_key() for t in triggers}
    count = listings(emulator, "ListTriggerWorkflowRuns")
    watchers = [
        Watching(t.filter_shared_stream(manager.subscribe(trigger_id=n, trigger=t, key=key)), count)
        for n, t in enumerate(triggers)
    ]
    await watchers[0].after_polls(3)
    assert [w.events[0]["run_id"] for w in watchers] == ["a-1", "b-1"]
    # One call per poll for both: over the same time, two own loops list twice as often.
    shared = await calls_within(emulator, 2.0)
    for watching in watchers:
        await watching.stop()
    await manager.stop_all()
    own = [Watching(t.run(), count) for t in (wedata_trigger(), wedata_trigger(workflow_id=OTHER))]
    separate = await calls_within(emulator, 2.0)
    for watching in own:
        await watching.stop()
    assert shared < 0.7 * separate, (shared, separate)


async def calls_within(emulator: Any, seconds: float) -> int:
    before = len(emulator.control.requests(action="ListTriggerWorkflowRuns"))
    await asyncio.sleep(seconds)
    return len(emulator.control.requests(action="ListTriggerWorkflowRuns")) - before


async def test_ice_dataworks_and_cloud_infinite_fire_for_a_run_finished_in_their_listing(emulator):
    from airflow_provider_cloudflows.hooks.dataworks import biz_date_ms
    from airflow_provider_cloudflows.triggers.events import (
        CloudInfiniteWorkflowExecutionFinishedTrigger,
        DataWorksWorkflowInstanceFinishedTrigger,
        IceWorkflowTaskFinishedTrigger,
    )

    now = time.time()
    common = {"poll_interval": 0.2, "start_after": start_after(60)}
    dw_states = ["NotRun", "Running", "Success"]
    cases = [
        (
            IceWorkflowTaskFinishedTrigger(workflow_id=ice.DEMO_WORKFLOW_ID, **common),
            ice.task_spec("ice-task-1", advance="time"),
            "ListWorkflowTasks",
        ),
        (
            DataWorksWorkflowInstanceFinishedTrigger(
                project_id=dataworks.DEMO_PROJECT_ID, workflow_id=dataworks.DEMO_WORKFLOW_ID, **common
            ),
            dataworks.instance_spec(
                7001,
                dw_states,
                [("load", dw_states)],
                name="nightly",
                bizdate=biz_date_ms(datetime.now(UTC)),
                advance="time",
            ),
            "ListWorkflowInstances",
        ),
        (
            CloudInfiniteWorkflowExecutionFinishedTrigger(
                workflow_id=cloud_infinite.DEMO_WORKFLOW_ID, **common
            ),
            cloud_infinite.execution_spec("i-ci-exec-1", object_key="in/a.mp4"),
            "DescribeMediaWorkflowExecutions",
        ),
    ]
    for trigger, spec, action in cases:
        emulator.control.script_runs([{**spec, "created_at": now - 20, "finishes_at": now - 10}])
        watching = Watching(trigger.run(), listings(emulator, action))
        fired = await watching.after_polls(2)
        await watching.stop()
        assert fired == [spec["run_id"]], trigger
        assert watching.events[0]["product"] == trigger.product_key
        assert watching.events[0]["console_url"]
