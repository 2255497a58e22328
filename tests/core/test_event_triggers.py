"""The event triggers' shared core with a scripted listing: watermark, dedup, restarts, seeds,
outcomes, payload, shared listings and errors. The products' listings against the emulator are
in tests/<product>/test_*_event_trigger.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from event_support import Store, Watching

from airflow_provider_cloudflows.compat import AIRFLOW_MAJOR
from airflow_provider_cloudflows.errors import AuthError, ServiceUnavailableError
from airflow_provider_cloudflows.runs import RunState, WorkflowRun
from airflow_provider_cloudflows.triggers.events import (
    CloudInfiniteWorkflowExecutionFinishedTrigger,
    DataWorksWorkflowInstanceFinishedTrigger,
    IceWorkflowTaskFinishedTrigger,
    WeDataWorkflowRunFinishedTrigger,
    biz_dates,
)
from airflow_provider_cloudflows.triggers.finished_runs import MAX_ERROR_BACKOFF_SECONDS
from airflow_provider_cloudflows.triggers.watermark import Watermark
from airflow_provider_cloudflows.verdict import RunWatcher

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
STATES = {"SUCCESS": RunState.SUCCEEDED, "FAILED": RunState.FAILED, "RUNNING": RunState.RUNNING}

needs_airflow_3 = pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="event triggers need Airflow 3 asset watchers")


def run(
    run_id: str, raw: str = "SUCCESS", finished: float | None = 60, workflow: str = "wf-1", created: float = 0
):
    """A run created `created` s after T0 and finished `finished` s after T0 (None: not finished)."""
    return WorkflowRun(
        vendor="Tencent Cloud WeData",
        run_id=run_id,
        workflow_id=workflow,
        state=STATES[raw],
        raw_state=raw,
        created_at=T0 + timedelta(seconds=created),
        finished_at=None if finished is None else T0 + timedelta(seconds=finished),
        detail={"TriggerWorkflowRun": {"ProjectId": "p1", "WorkflowId": workflow, "ExecutionId": run_id}},
    )


class Cloud:
    """What the scripted listing shows, and every listing call it answered."""

    def __init__(self) -> None:
        self.runs: list[WorkflowRun] = []
        self.calls: list[tuple[tuple[str, ...], datetime]] = []
        self.error: Exception | None = None


CLOUD = Cloud()


class ScriptedTrigger(WeDataWorkflowRunFinishedTrigger):
    """The WeData trigger with its listing answered by CLOUD instead of the vendor."""

    @classmethod
    async def list_window(
        cls, hook: Any, workflow_ids: Sequence[str], created_after: datetime, scope: dict[str, str | None]
    ) -> AsyncIterator[WorkflowRun]:
        CLOUD.calls.append((tuple(workflow_ids), created_after))
        if CLOUD.error is not None:
            raise CLOUD.error
        for each in sorted(CLOUD.runs, key=lambda r: r.created_at, reverse=True):
            if each.workflow_id in workflow_ids and each.created_at >= created_after:
                yield each


class SharedByTwoAssets:
    async def aget(self, key: str, default: Any = None) -> Any:
        raise ValueError(
            "Task has 2 concrete inlets and outlets — use context['asset_state_store'][MY_ASSET]"
        )


@pytest.fixture
def cloud(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        json.dumps(
            {
                "conn_type": "tencentcloud",
                "login": "AKIDtest",
                "password": "good-secret",
                "extra": {"region": "ap-guangzhou", "endpoint": "http://127.0.0.1:9"},
            }
        ),
    )
    CLOUD.__init__()
    return CLOUD


def make(store: Any = None, **kwargs: Any) -> ScriptedTrigger:
    kwargs.setdefault("start_after", T0.isoformat())
    kwargs.setdefault("workflow_id", "wf-1")
    trigger = ScriptedTrigger(project_id="p1", poll_interval=0.01, **kwargs)
    trigger.asset_state_store = store
    return trigger


def polls() -> int:
    return len(CLOUD.calls)


def watching_of(trigger: ScriptedTrigger) -> Watching:
    return Watching(trigger.run(), polls)


# -- the watermark rule ---------------------------------------------------------------------------


def test_watermark_moves_behind_the_newest_finish_and_forgets_what_it_passed():
    mark = Watermark.start(T0, timedelta(seconds=600))
    a, b = run("a", finished=60), run("b", finished=3600)
    assert mark.is_new(a) and not mark.is_new(run("old", finished=-1))
    mark.record(a)
    assert not mark.is_new(a)
    assert mark.advance([a, b]) and mark.since == T0 + timedelta(seconds=3000)
    assert mark.seen == {}  # a finished before the new `since`
    assert not mark.advance([run("r", "RUNNING", finished=None)])  # unfinished runs do not move it
    again = Watermark.from_state(json.loads(json.dumps(mark.to_state())), timedelta(seconds=600))
    assert again == mark
    assert mark.window_start(timedelta(days=1)) == mark.since - timedelta(days=1)
    with pytest.raises(ValueError, match="not a watermark"):
        Watermark.from_state({"since": "x"}, timedelta(0))


def test_dataworks_lists_the_business_dates_of_the_window_newest_first():
    dates = biz_dates(datetime(2026, 3, 1, 20, 0, tzinfo=UTC), datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    # 2026-03-02 04:00 to 2026-03-03 09:00 in China Standard Time, and the day before the first.
    assert [d.isoformat() for d in dates] == ["2026-03-03", "2026-03-02", "2026-03-01"]
    assert len(biz_dates(T0 - timedelta(days=400), T0)) == 31


# -- arguments ---------------------------------------------------------------------------------------


@needs_airflow_3
def test_every_trigger_serializes_to_arguments_that_rebuild_it():
    for trigger in (
        IceWorkflowTaskFinishedTrigger(workflow_id="w1"),
        DataWorksWorkflowInstanceFinishedTrigger(project_id=7, workflow_id=42, outcomes="terminal"),
        WeDataWorkflowRunFinishedTrigger(project_id="p1", workflow_id="w1", outcomes=["FAILED", "KILLED"]),
        CloudInfiniteWorkflowExecutionFinishedTrigger(workflow_id="w1", start_after="2026-03-01T00:00:00Z"),
    ):
        path, kwargs = trigger.serialize()
        module, _, name = path.rpartition(".")
        rebuilt = getattr(__import__(module, fromlist=[name]), name)(**json.loads(json.dumps(kwargs)))
        assert rebuilt.serialize() == (path, kwargs)
    assert kwargs["start_after"] == "2026-03-01T00:00:00+00:00"


@needs_airflow_3
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workflow_id": ""}, "workflow_id is required"),
        ({"outcomes": "failed"}, 'outcomes must be "success", "terminal" or a list'),
        ({"outcomes": []}, "outcomes must be"),
        ({"poll_interval": 0}, "poll_interval must be positive"),
        ({"start_after": "yesterday"}, "start_after must be an ISO-8601 time"),
        ({"project_id": None}, "project_id is required"),
    ],
)
def test_bad_arguments_name_what_was_written(kwargs, message):
    base = {"project_id": "p1", "workflow_id": "w1", **kwargs}
    with pytest.raises(ValueError, match=message):
        WeDataWorkflowRunFinishedTrigger(**base)


@pytest.mark.skipif(AIRFLOW_MAJOR >= 3, reason="the Airflow 2 refusal")
def test_on_airflow_2_building_a_trigger_says_it_needs_airflow_3():
    with pytest.raises(RuntimeError, match="for Airflow 3 asset watchers"):
        WeDataWorkflowRunFinishedTrigger(project_id="p1", workflow_id="w1")


# -- events ---------------------------------------------------------------------------------------


@needs_airflow_3
@pytest.mark.asyncio
async def test_one_event_per_run_that_finishes_after_the_start_never_again(cloud):
    cloud.runs = [run("before", finished=-5), run("running", "RUNNING", finished=None, created=1)]
    watching = watching_of(make())
    assert await watching.after_polls(3) == []
    cloud.runs[1] = run("running", finished=30, created=1)
    cloud.runs.append(run("second", finished=40, created=2))
    assert await watching.after_polls(3) == ["running", "second"]  # oldest finish first
    assert await watching.after_polls(3) == ["running", "second"]  # still in success: no new event
    await watching.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_outcomes_success_terminal_and_raw_states(cloud):
    cloud.runs = [run("ok", finished=10), run("bad", "FAILED", finished=11)]
    for outcomes, fired in (("success", ["ok"]), ("terminal", ["ok", "bad"]), (["FAILED"], ["bad"])):
        watching = watching_of(make(outcomes=outcomes))
        assert await watching.after_polls(2) == fired, outcomes
        await watching.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_the_payload_is_the_run_summary(cloud):
    cloud.runs = [run("e1", finished=90, created=5)]
    watching = watching_of(make())
    await watching.after_polls(2)
    await watching.stop()
    (payload,) = watching.events
    assert payload == {
        "vendor": "Tencent Cloud WeData",
        "product": "wedata",
        "run_id": "e1",
        "workflow_id": "wf-1",
        "project_id": "p1",
        "state": "succeeded",
        "raw_state": "SUCCESS",
        "created_at": "2026-03-01T02:00:05+00:00",
        "started_at": None,
        "finished_at": "2026-03-01T02:01:30+00:00",
        "console_url": payload["console_url"],
    }
    assert "e1" in payload["console_url"] and json.loads(json.dumps(payload)) == payload


@needs_airflow_3
@pytest.mark.asyncio
async def test_without_start_after_runs_finished_before_the_first_start_are_not_events(cloud):
    cloud.runs = [run("yesterday", finished=-86400 + 60, created=-86400)]
    now = datetime.now(UTC)
    cloud.runs.append(
        run("fresh", created=(now - T0).total_seconds(), finished=(now - T0).total_seconds() + 5)
    )
    watching = watching_of(make(start_after=None))
    assert await watching.after_polls(2) == ["fresh"]
    await watching.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_a_run_that_shows_up_late_with_an_earlier_finish_is_caught_within_the_settle_margin(cloud):
    # Listed by creation time: the long run created first finished first, but the vendor showed
    # it still running when the short one was already finished.
    cloud.runs = [run("long", "RUNNING", finished=None, created=0), run("short", finished=300, created=200)]
    watching = watching_of(make(settle_seconds=120))
    assert await watching.after_polls(2) == ["short"]
    cloud.runs[0] = run("long", finished=250, created=0)  # finished before "short", shown later
    cloud.runs.append(run("too-late", finished=100, created=50))  # behind since - settle (180 s)
    assert await watching.after_polls(2) == ["short", "long"]
    await watching.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_each_listing_covers_runs_created_since_the_watermark_less_the_lookback(cloud):
    cloud.runs = [run("a", finished=7200, created=7000)]
    watching = watching_of(make(lookback_seconds=3600, settle_seconds=60))
    await watching.after_polls(2)
    await watching.stop()
    assert cloud.calls[0] == (("wf-1",), T0 - timedelta(hours=1))
    assert cloud.calls[-1] == (("wf-1",), T0 + timedelta(seconds=7200 - 60) - timedelta(hours=1))


# -- restarts -------------------------------------------------------------------------------------


@needs_airflow_3
@pytest.mark.asyncio
async def test_a_restart_neither_replays_nor_misses_a_run_that_finished_while_it_was_down(cloud):
    store = Store()
    cloud.runs = [run("first", finished=10)]
    watching = watching_of(make(store))
    assert await watching.after_polls(2) == ["first"]
    await watching.stop()
    (key,) = store.values
    assert key == "cloudflows.watermark:wedata:p1:wf-1:success"
    assert "first" in store.values[key]["seen"]

    cloud.runs.append(run("while-down", finished=20, created=15))
    # A new process: the same arguments (start_after from the DAG file), the watermark from the store.
    restarted = watching_of(make(store))
    assert await restarted.after_polls(3) == ["while-down"]
    cloud.runs.append(run("after", finished=30, created=25))
    assert await restarted.after_polls(2) == ["while-down", "after"]
    await restarted.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_the_first_start_stores_its_start_so_a_restart_keeps_it(cloud):
    store = Store()
    watching = watching_of(make(store, start_after=None))
    await watching.after_polls(1)
    await watching.stop()
    stored = store.values["cloudflows.watermark:wedata:p1:wf-1:success"]
    started = datetime.fromisoformat(stored["since"])
    assert abs((datetime.now(UTC) - started).total_seconds()) < 30
    at = (started - T0).total_seconds()
    cloud.runs = [run("down", created=at, finished=at + 1)]
    restarted = watching_of(make(store, start_after=None))
    assert await restarted.after_polls(2) == ["down"]
    await restarted.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_a_trigger_shared_by_two_assets_warns_and_keeps_its_watermark_in_memory(cloud, capsys):
    cloud.runs = [run("a", finished=10)]
    watching = watching_of(make(SharedByTwoAssets()))
    assert await watching.after_polls(2) == ["a"]
    await watching.stop()
    assert "shared by several assets" in capsys.readouterr().out


# -- errors -----------------------------------------------------------------------------------------


@needs_airflow_3
@pytest.mark.asyncio
async def test_an_outage_is_polled_through_and_a_configuration_mistake_backs_off_loudly(cloud, capsys):
    trigger = make()
    cloud.error = AuthError("SignatureFailure: the SecretId is wrong", vendor="Tencent Cloud WeData")
    watching = watching_of(trigger)
    await watching.after_polls(1)
    logged = capsys.readouterr().out
    assert "Cannot list Tencent Cloud WeData workflow runs of workflow wf-1" in logged
    assert "No events fire until this is fixed" in logged
    # The attempts back off by doubling, up to MAX_ERROR_BACKOFF_SECONDS.
    delays = [
        trigger._after_failure(cloud.error, RunWatcher(), frozenset({"w"}), False, n) for n in (1, 2, 3, 40)
    ]
    assert delays == [0.01, 0.02, 0.04, min(0.01 * 2**20, MAX_ERROR_BACKOFF_SECONDS)]
    await watching.stop()

    cloud.error = ServiceUnavailableError("503 Service Unavailable", vendor="Tencent Cloud WeData")
    cloud.runs = [run("after-outage", finished=10)]
    watching = watching_of(make())
    await watching.after_polls(3)
    assert "will poll again" in capsys.readouterr().out
    cloud.error = None
    assert await watching.after_polls(2) == ["after-outage"]
    await watching.stop()


# -- one listing for several watchers ------------------------------------------------------------------


@pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="event triggers need Airflow 3 asset watchers")
@pytest.mark.asyncio
async def test_watchers_of_several_workflows_share_one_listing_per_poll(cloud):
    shared_stream = pytest.importorskip(
        "airflow.triggers.shared_stream", reason="shared streams: Airflow >= 3.3"
    )
    manager = shared_stream.SharedStreamManager(
        max_subscriber_queue=100, ack_timeout=30, cohort_grace_period=0
    )
    cloud.runs = [
        run("a1", finished=10, workflow="wf-a"),
        run("b1", finished=12, workflow="wf-b"),
        run("b2", "FAILED", finished=13, workflow="wf-b"),
    ]
    triggers = [make(Store(), workflow_id="wf-a"), make(Store(), workflow_id="wf-b", outcomes="terminal")]
    keys = {t.shared_stream_key() for t in triggers}
    assert len(keys) == 1
    (key,) = keys
    watchers = [
        Watching(t.filter_shared_stream(manager.subscribe(trigger_id=n, trigger=t, key=key)), polls)
        for n, t in enumerate(triggers)
    ]
    await watchers[0].after_polls(3)
    assert [e["run_id"] for e in watchers[0].events] == ["a1"]
    assert [e["run_id"] for e in watchers[1].events] == ["b1", "b2"]
    # Every listing after both joined was one call for both workflows.
    assert cloud.calls[-1][0] == ("wf-a", "wf-b")
    assert all(len(workflows) == 2 for workflows, _ in cloud.calls[-3:])
    for watching in watchers:
        await watching.stop()
    await manager.stop_all()


# -- the watermark waits for Airflow to have the event ----------------------------------------------


class Triggerer:
    """What Airflow 3.3's triggerer does with shared-stream watchers, on its public stream manager.

    Each event a watcher yields is bound to the listing it came from (`bind_pending_event`, as the
    triggerer does before queueing the event); `persisted` confirms the bound events as the
    triggerer does once its supervisor stored them in the metadata database.
    """

    def __init__(self, ack_timeout: float = 30) -> None:
        shared_stream = pytest.importorskip(
            "airflow.triggers.shared_stream", reason="shared streams: Airflow >= 3.3"
        )
        self.manager = shared_stream.SharedStreamManager(
            max_subscriber_queue=10_000, ack_timeout=ack_timeout, cohort_grace_period=0
        )
        self.subscribed: dict[int, tuple[Watching, int, Any]] = {}

    def watch(self, trigger: ScriptedTrigger, trigger_id: int, slow_on: str | None = None) -> Watching:
        """`slow_on`: a run whose event the triggerer takes a second to bind (its log write)."""
        key = trigger.shared_stream_key()
        stream = self.manager.subscribe(trigger_id=trigger_id, trigger=trigger, key=key)

        async def bind(payload: dict[str, Any]) -> int | None:
            if payload["run_id"] == slow_on:
                await asyncio.sleep(1.0)
            return self.manager.bind_pending_event(trigger_id=trigger_id, key=key)

        watching = Watching(trigger.filter_shared_stream(stream), polls, on_event=bind)
        self.subscribed[id(watching)] = (watching, trigger_id, key)
        return watching

    def persisted(self, watching: Watching, events: slice = slice(None)) -> None:
        self.manager.confirm_persisted([seq for seq in watching.bound[events] if seq is not None])

    async def stop(self) -> None:
        """Cancel every watcher and unsubscribe it, as the triggerer does when it stops."""
        for watching, trigger_id, key in self.subscribed.values():
            if not watching.task.done():
                await watching.stop()
            await self.manager.unsubscribe(trigger_id, key)
        await self.manager.stop_all()


def seen(store: Store, workflow: str = "wf-1") -> set[str]:
    """The run ids in the watcher's stored watermark."""
    return set(store.values[f"cloudflows.watermark:wedata:p1:{workflow}:success"]["seen"])


async def fired_first(cloud: Any, triggerer: Triggerer, store: Store, slow_on: str | None = None) -> Watching:
    """A watcher that has fired the run "first" (finished at 10), its event not yet persisted."""
    cloud.runs = [run("first", finished=10)]
    watching = triggerer.watch(make(store), 1, slow_on=slow_on)
    assert await watching.after_polls(3) == ["first"]
    return watching


@needs_airflow_3
@pytest.mark.asyncio
async def test_the_watermark_is_stored_only_once_airflow_has_persisted_the_event(cloud):
    triggerer = Triggerer()
    store = Store()
    watching = await fired_first(cloud, triggerer, store)
    assert len(watching.bound) == 1 and watching.bound[0] is not None  # the event gates the advance
    assert "first" not in seen(store)  # not stored while the event may not be in the database

    triggerer.persisted(watching)
    await watching.after_polls(2)
    assert "first" in seen(store)
    await triggerer.stop()

    # A new process does not fire it again.
    restarted = Triggerer()
    again = restarted.watch(make(store), 1)
    assert await again.after_polls(3) == []
    await restarted.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_a_triggerer_killed_before_its_event_was_persisted_loses_no_event(cloud):
    triggerer = Triggerer()
    store = Store()
    await fired_first(cloud, triggerer, store)
    # Killed here: the event was taken from the trigger but never reached the database.
    await triggerer.stop()
    assert "first" not in seen(store)

    cloud.runs.append(run("second", finished=20, created=15))
    restarted = Triggerer()
    again = restarted.watch(make(store), 1)
    assert await again.after_polls(3) == ["first", "second"]
    restarted.persisted(again)
    await again.after_polls(2)
    assert {"first", "second"} <= seen(store)
    await restarted.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_each_watcher_stores_its_own_watermark_when_its_events_are_persisted(cloud):
    triggerer = Triggerer()
    stores = {"wf-a": Store(), "wf-b": Store()}
    cloud.runs = [run("a1", finished=10, workflow="wf-a"), run("b1", finished=12, workflow="wf-b")]
    watchers = {
        name: triggerer.watch(make(store, workflow_id=name), n)
        for n, (name, store) in enumerate(stores.items())
    }
    await watchers["wf-a"].after_polls(3)
    assert [[e["run_id"] for e in w.events] for w in watchers.values()] == [["a1"], ["b1"]]
    # The listing is resolved only when every watcher's events from it are persisted.
    triggerer.persisted(watchers["wf-a"])
    await watchers["wf-a"].after_polls(2)
    assert {name: seen(store, name) for name, store in stores.items()} == {"wf-a": set(), "wf-b": set()}
    triggerer.persisted(watchers["wf-b"])
    await watchers["wf-a"].after_polls(2)
    assert "a1" in seen(stores["wf-a"], "wf-a")
    assert "b1" in seen(stores["wf-b"], "wf-b")
    await triggerer.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_a_later_event_not_yet_persisted_is_not_in_the_stored_watermark(cloud):
    triggerer = Triggerer()
    store = Store()
    watching = await fired_first(cloud, triggerer, store)
    triggerer.persisted(watching)
    await watching.after_polls(2)
    assert seen(store) == {"first"}

    cloud.runs.append(run("second", finished=20, created=15))
    assert await watching.after_polls(3) == ["first", "second"]
    await watching.after_polls(3)  # later listings resolve; the one with "second" does not
    assert seen(store) == {"first"}
    triggerer.persisted(watching, slice(1, None))
    await watching.after_polls(2)
    assert seen(store) == {"first", "second"}

    # A watermark taken after a listing that is not resolved yet waits, however many follow it.
    cloud.runs.append(run("third", finished=30, created=25))
    await watching.after_polls(3)
    cloud.runs.append(run("fourth", finished=40, created=35))
    assert await watching.after_polls(3) == ["first", "second", "third", "fourth"]
    triggerer.persisted(watching, slice(2, 3))
    await watching.after_polls(2)
    assert seen(store) == {"first", "second", "third"}
    await triggerer.stop()


@needs_airflow_3
@pytest.mark.asyncio
async def test_an_event_airflow_never_confirmed_is_never_stored_and_fires_again(cloud):
    shared_stream = pytest.importorskip(
        "airflow.triggers.shared_stream", reason="shared streams: Airflow >= 3.3"
    )
    triggerer = Triggerer(ack_timeout=0.5)
    store = Store()
    # Airflow gives up on the listing with "first" (never confirmed: the supervisor's write of it
    # failed) while the watcher is still taking "second", after listings that resolved cleanly.
    watching = await fired_first(cloud, triggerer, store, slow_on="second")
    cloud.runs.append(run("second", finished=20, created=15))
    with pytest.raises(shared_stream.AckTimeout):
        await asyncio.wait_for(watching.task, 10)  # Airflow fails the watcher
    await asyncio.sleep(0.2)  # the advance of the listings it resolved
    assert [e["run_id"] for e in watching.events] == ["first", "second"]
    assert "first" not in seen(store)
    await triggerer.stop()

    restarted = Triggerer()
    again = restarted.watch(make(store), 1)
    assert (await again.after_polls(3))[:1] == ["first"]  # fired again, not lost
    await restarted.stop()
