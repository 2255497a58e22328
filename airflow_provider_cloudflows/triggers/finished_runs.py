"""The shared core of the event triggers: one event per remote run that finishes in a counted state.

A product's trigger (triggers/events.py) is configuration: its product, connection argument,
the arguments that scope a listing (a project, a bucket), whether one listing call can filter by
several workflows, and how to list a window of runs. Everything else is here, once:

- the poll loop and its errors: an outage (network, 5xx, throttling) is logged as a warning and
  polled through; a configuration mistake (bad keys, unknown project, missing connection) cannot
  fail a task - an event trigger has none - so it is logged as an error naming the fix on every
  attempt, and the attempts back off from the poll interval to MAX_ERROR_BACKOFF_SECONDS, never
  spinning and never going quiet;
- the window each poll lists and the dedup (triggers/watermark.py has the rule);
- the watermark in the asset state store (Airflow >= 3.3), written only once Airflow has the
  events behind it in its database (see `ListingProducer`);
- one listing per poll for every watcher on one connection and scope (Airflow >= 3.3 shared
  streams: triggers with equal `shared_stream_key()` share one poll loop, see `_Subscribers`);
- the event payload.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from airflow.triggers.base import TriggerEvent

try:
    from airflow.triggers.base import BaseEventTrigger

    HAS_EVENT_TRIGGERS = True
except ImportError:  # Airflow 2: the module imports, and building a trigger says it needs Airflow 3
    from airflow.triggers.base import BaseTrigger as BaseEventTrigger

    HAS_EVENT_TRIGGERS = False

try:  # Airflow >= 3.3: a shared stream whose advance waits for its events to be persisted
    from airflow.triggers.shared_stream import AdvanceItem, SharedStreamProducer
except ImportError:
    SharedStreamProducer = object  # type: ignore[assignment,misc]

from airflow_provider_cloudflows.hooks.deadline import attempt_deadline
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.triggers.watermark import Watermark, as_utc, finish_time

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun
    from airflow_provider_cloudflows.verdict import RunWatcher

SUCCESS = "success"
TERMINAL = "terminal"

# A listing with every page and retry ends within this; the transport bounds each attempt.
LISTING_SECONDS = 300.0
# Failed polls back off by doubling from the poll interval up to this.
MAX_ERROR_BACKOFF_SECONDS = 900.0
# Failed reads of the stored watermark back off up to this.
WATERMARK_READ_MAX_DELAY = 30.0
# The asset state store says this when a trigger is watched by several assets: it then holds
# no single cursor (triggers are deduplicated by their arguments across assets).
_MULTI_ASSET_ERROR = "concrete inlets and outlets"
STATE_KEY_PREFIX = "cloudflows.watermark"


def counts(outcomes: str | Sequence[str], run: WorkflowRun) -> bool:
    """Whether a run's state is one the watcher reports."""
    if outcomes == SUCCESS:
        return run.state.is_success
    if outcomes == TERMINAL:
        return run.state.is_terminal
    return run.state.is_terminal and (run.raw_state or "") in outcomes


class Listing(NamedTuple):
    """One poll of a shared stream: which workflows and window it covered, and the runs it saw.

    `seq` numbers the listings of an acknowledged stream (None: store the watermark at once).
    """

    workflow_ids: frozenset[str]
    created_after: datetime
    runs: list[WorkflowRun]
    hook: Any
    seq: int | None = None


class _Unstored:
    """A watcher's watermarks that wait for Airflow to have the events behind them in its database.

    Keyed by the listing after which each was taken; `ListingProducer.advance` stores the newest
    one whose listing Airflow reports resolved, and forgets the older ones.
    """

    def __init__(self, trigger: RunFinishedTrigger, store: Any) -> None:
        self.trigger = trigger
        self.store = store
        self.states: dict[int, dict[str, Any]] = {}

    def forget_from(self, seq: int) -> None:
        for n in [n for n in self.states if n >= seq]:
            del self.states[n]

    async def store_through(self, seq: int, failed: set[int]) -> None:
        ready = [n for n in self.states if n <= seq]
        stored = [n for n in ready if n not in failed]
        state = self.states[max(stored)] if stored else None
        for n in ready:
            del self.states[n]
        if state is not None:
            await self.trigger.write_state(self.store, state)


class _Subscribers:
    """The triggers of one shared stream on this event loop: what the one listing must cover.

    `open_shared_stream` gets only one trigger's arguments, so the workflows and windows of the
    others come from here; each trigger adds itself once it has read its watermark.
    """

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, _Subscribers]]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        self.wanted: dict[int, tuple[str, Callable[[], datetime]]] = {}
        self.unstored: dict[int, _Unstored] = {}
        # Listings Airflow gave up on (a watcher's events from them may not be in the database).
        self.failed_seqs: set[int] = set()

    @classmethod
    def of(cls, key: Hashable) -> _Subscribers:
        groups = cls._by_loop.setdefault(asyncio.get_running_loop(), {})
        return groups.setdefault(key, cls())

    def window(self) -> tuple[frozenset[str], datetime] | None:
        if not self.wanted:
            return None
        return (
            frozenset(workflow for workflow, _ in self.wanted.values()),
            min(start() for _, start in self.wanted.values()),
        )


class RunFinishedTrigger(BaseEventTrigger):
    """Fire one event per run of a workflow that finishes in a counted state (for an AssetWatcher).

    :param workflow_id: the workflow whose runs to watch.
    :param outcomes: "success" (the default), "terminal" (success, failure or cancellation), or a
        list of the vendor's raw terminal states, e.g. ["FAILED"].
    :param poll_interval: seconds between listings.
    :param start_after: runs that finished at or before this time (ISO-8601 or datetime) are not
        events; default: when the watcher first starts. Only read while no watermark is stored.
    :param lookback_seconds: how long before its finish a run may have been created and still be
        seen (each listing covers runs created since the watermark less this); default one day.
    :param settle_seconds: how late a finished run may appear in the listing after a run that
        finished later and still be an event; default ten minutes.
    """

    # -- what a product declares ------------------------------------------------------------------
    product_key: ClassVar[str]
    conn_arg: ClassVar[str]
    scope_args: ClassVar[tuple[str, ...]] = ()
    # Scope arguments that may be left out (None: the connection's default, e.g. its bucket).
    optional_scope: ClassVar[frozenset[str]] = frozenset()
    # One listing call filters by several workflows (WeData); otherwise one call per workflow.
    lists_several_workflows: ClassVar[bool] = False
    run_noun: ClassVar[str] = "run"

    @classmethod
    def list_window(
        cls, hook: Any, workflow_ids: Sequence[str], created_after: datetime, scope: dict[str, str | None]
    ) -> AsyncIterator[WorkflowRun]:
        """The runs of these workflows created since `created_after`, every page of the window."""
        raise NotImplementedError

    # -- the shared core --------------------------------------------------------------------------

    def __init__(
        self,
        *,
        conn_id: str,
        workflow_id: str,
        scope: dict[str, Any] | None = None,
        outcomes: str | Sequence[str] = SUCCESS,
        poll_interval: float = 60.0,
        start_after: datetime | str | None = None,
        lookback_seconds: float = 86400.0,
        settle_seconds: float = 600.0,
        **kwargs: Any,
    ) -> None:
        if not HAS_EVENT_TRIGGERS:
            from importlib.metadata import version

            airflow_version = version("apache-airflow")

            raise RuntimeError(
                f"{type(self).__name__} is an event trigger for Airflow 3 asset watchers "
                f"(AssetWatcher); this is Airflow {airflow_version}. Use the provider's sensors "
                "to wait for a run on Airflow 2."
            )
        super().__init__(**kwargs)
        self.conn_id = _text(conn_id, self.conn_arg)
        self.workflow_id = _text(workflow_id, "workflow_id")
        given = scope or {}
        self.scope: dict[str, str | None] = {
            name: None
            if name in self.optional_scope and given.get(name) in (None, "")
            else _text(given.get(name), name)
            for name in self.scope_args
        }
        self.outcomes = _outcomes(outcomes)
        self.poll_interval = _positive(poll_interval, "poll_interval")
        self.start_after = None if start_after is None else as_utc(start_after).isoformat()
        self.lookback_seconds = _positive(lookback_seconds, "lookback_seconds")
        self.settle_seconds = _positive(settle_seconds, "settle_seconds", allow_zero=True)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                self.conn_arg: self.conn_id,
                "workflow_id": self.workflow_id,
                **self.scope,
                "outcomes": self.outcomes,
                "poll_interval": self.poll_interval,
                "start_after": self.start_after,
                "lookback_seconds": self.lookback_seconds,
                "settle_seconds": self.settle_seconds,
            },
        )

    @property
    def product_name(self) -> str:
        return PRODUCTS[self.product_key].name

    def state_key(self) -> str:
        """Where the watermark is stored on the asset: one per workflow and outcomes watched."""
        outcomes = self.outcomes if isinstance(self.outcomes, str) else ",".join(sorted(self.outcomes))
        scope = ":".join(self.scope[name] or "" for name in self.scope_args)
        return f"{STATE_KEY_PREFIX}:{self.product_key}:{scope}:{self.workflow_id}:{outcomes}"

    def shared_stream_key(self) -> Hashable | None:
        """Watchers with the same connection, scope and poll interval share one listing per poll."""
        workflow = () if self.lists_several_workflows else (self.workflow_id,)
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            self.conn_id,
            *(self.scope[name] for name in self.scope_args),
            *workflow,
            self.poll_interval,
        )

    # The poll loop ---------------------------------------------------------------------------------

    async def listings(
        self, wanted: Callable[[], tuple[frozenset[str], datetime] | None]
    ) -> AsyncIterator[Listing]:
        """Listings forever, one per poll, of what `wanted()` names; errors are ridden out here."""
        # What the loop needs beyond this module is imported in a worker thread: the triggerer
        # imports a trigger's module on its event loop, where every millisecond blocks the others.
        shared_hook, run_watcher = await asyncio.to_thread(_poll_loop_imports)
        watcher = run_watcher(f"{self.product_name} {self.run_noun}s of workflow")
        hook_path = PRODUCTS[self.product_key].hook
        answered, failures = False, 0
        while True:
            window = wanted()
            if window is None:  # nobody to list for yet: a subscriber is still reading its watermark
                await asyncio.sleep(min(self.poll_interval, 1.0))
                continue
            workflow_ids, created_after = window
            try:
                hook = await shared_hook(hook_path, self.conn_id)
                with attempt_deadline(LISTING_SECONDS):
                    runs = await self._list(hook, sorted(workflow_ids), created_after)
            except Exception as err:  # an event trigger must outlive any error
                failures += 1
                await asyncio.sleep(self._after_failure(err, watcher, workflow_ids, answered, failures))
                continue
            if failures:
                self.log.info("Listing %s %ss works again", self.product_name, self.run_noun)
            answered, failures = True, 0
            yield Listing(workflow_ids, created_after, runs, hook)
            await asyncio.sleep(self.poll_interval)

    async def _list(self, hook: Any, workflow_ids: list[str], created_after: datetime) -> list[WorkflowRun]:
        if self.lists_several_workflows:
            return [run async for run in self.list_window(hook, workflow_ids, created_after, self.scope)]
        runs: list[WorkflowRun] = []
        for workflow_id in workflow_ids:
            runs += [run async for run in self.list_window(hook, [workflow_id], created_after, self.scope)]
        return runs

    def _after_failure(
        self, err: Exception, watcher: RunWatcher, workflow_ids: frozenset[str], answered: bool, failures: int
    ) -> float:
        """Log a failed listing; the seconds to wait before the next one."""
        from airflow_provider_cloudflows.errors import CloudflowsError  # loaded by the hook already

        names = ", ".join(sorted(workflow_ids))
        if isinstance(err, CloudflowsError) and watcher.polls_again(
            err, names, self.log, answered_before=answered
        ):
            return self.poll_interval
        delay = min(self.poll_interval * 2 ** min(failures - 1, 20), MAX_ERROR_BACKOFF_SECONDS)
        self.log.error(
            "Cannot list %s %ss of workflow %s through connection %r: %s. No events fire until "
            "this is fixed (check the connection's keys, region and endpoint, and the workflow "
            "and scope %s); trying again in %.0f s",
            self.product_name,
            self.run_noun,
            names,
            self.conn_id,
            err,
            self.scope or "arguments",
            delay,
        )
        return max(delay, self.poll_interval)

    # Events --------------------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The trigger's own poll loop (Airflow < 3.3, or a triggerer that does not share streams)."""
        store, mark = await self._read_watermark()
        lookback = timedelta(seconds=self.lookback_seconds)
        stream = self.listings(lambda: (frozenset({self.workflow_id}), mark.window_start(lookback)))
        async for event in self._events(stream, store, mark):
            yield event

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> ListingProducer:
        return ListingProducer(cls(**kwargs))

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        store, mark = await self._read_watermark()
        lookback = timedelta(seconds=self.lookback_seconds)
        subscribers = _Subscribers.of(self.shared_stream_key())
        unstored = subscribers.unstored[id(self)] = _Unstored(self, store)
        subscribers.wanted[id(self)] = (self.workflow_id, lambda: mark.window_start(lookback))
        try:
            async for event in self._events(shared_stream, store, mark, unstored):
                yield event
        finally:
            # A watermark still waiting is not stored: its events may not be in the database, and
            # the next process lists them again.
            subscribers.wanted.pop(id(self), None)
            subscribers.unstored.pop(id(self), None)

    async def _events(
        self, listings: AsyncIterator[Any], store: Any, mark: Watermark, unstored: _Unstored | None = None
    ) -> AsyncIterator[TriggerEvent]:
        lookback = timedelta(seconds=self.lookback_seconds)
        async for listing in listings:
            # A listing that started before this trigger joined may not cover its window.
            if self.workflow_id not in listing.workflow_ids or listing.created_after > mark.window_start(
                lookback
            ):
                continue
            fresh = sorted(
                (
                    run
                    for run in listing.runs
                    if run.workflow_id in (self.workflow_id, None)
                    and counts(self.outcomes, run)
                    and mark.is_new(run)
                ),
                key=lambda run: (finish_time(run), run.run_id),
            )
            for run in fresh:
                mark.record(run)
                self.log.info(
                    "%s %s %s of workflow %s finished in state %s: firing an event",
                    self.product_name,
                    self.run_noun,
                    run.run_id,
                    self.workflow_id,
                    run.raw_state,
                )
                yield TriggerEvent(self.payload(run, listing.hook))
                if listing.seq is None:
                    # Without acknowledgements, written as soon as the triggerer has taken the
                    # event: a restart after this does not fire it again, a kill before the
                    # triggerer stored it loses it.
                    await self._write_watermark(store, mark)
            moved = mark.advance(listing.runs)
            if listing.seq is not None and unstored is not None:
                if fresh or moved:
                    unstored.states[listing.seq] = mark.to_state()
            elif moved:
                await self._write_watermark(store, mark)

    def payload(self, run: WorkflowRun, hook: Any) -> dict[str, Any]:
        """What the triggered DAG reads from `triggering_asset_events[asset][-1].extra["payload"]`."""
        try:
            console_url = hook.console_url(run)
        except Exception:  # a link must never cost an event
            console_url = None
        finished = finish_time(run)
        return {
            "vendor": run.vendor,
            "product": self.product_key,
            "run_id": run.run_id,
            "workflow_id": run.workflow_id or self.workflow_id,
            **self.scope,
            "state": run.state.value,
            "raw_state": run.raw_state,
            "created_at": _iso(run.created_at),
            "started_at": _iso(run.started_at),
            "finished_at": _iso(finished),
            "console_url": console_url,
        }

    # The watermark in the asset state store -------------------------------------------------------

    async def _read_watermark(self) -> tuple[Any, Watermark]:
        """The store to write to (None: keep it in memory) and the watermark to start from."""
        settle = timedelta(seconds=self.settle_seconds)
        seed = Watermark.start(as_utc(self.start_after) if self.start_after else datetime.now(UTC), settle)
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return None, seed
        failures = 0
        while True:
            try:
                stored = await store.aget(self.state_key())
                break
            except ValueError as err:
                if _MULTI_ASSET_ERROR not in str(err):
                    raise
                self.log.warning(
                    "This %s watcher of workflow %s is shared by several assets (the same trigger "
                    "arguments on each), so it keeps no watermark: a triggerer restart starts again "
                    "from start_after or the restart time. Give each asset its own arguments (e.g. "
                    "another poll_interval) to keep one per asset.",
                    self.product_name,
                    self.workflow_id,
                )
                return None, seed
            except Exception as err:  # the API server may be restarting
                failures += 1
                # Listings queue up for this watcher meanwhile, and Airflow fails a watcher that
                # leaves one unread for [triggerer] shared_stream_ack_timeout (300 s by default).
                delay = min(self.poll_interval * 2 ** min(failures - 1, 20), WATERMARK_READ_MAX_DELAY)
                self.log.warning("Reading the watermark failed (%s); trying again in %.0f s", err, delay)
                await asyncio.sleep(delay)
        if stored is None:
            self.log.info(
                "Watching workflow %s for runs that finish after %s", self.workflow_id, seed.since.isoformat()
            )
            await self._write_watermark(store, seed)
            return store, seed
        try:
            mark = Watermark.from_state(stored, settle)
        except (ValueError, KeyError, TypeError) as err:
            self.log.error(
                "Ignoring the stored watermark %s (%s); starting from %s", self.state_key(), err, seed.since
            )
            return store, seed
        self.log.info(
            "Watching workflow %s from the stored watermark: runs that finish after %s (%d seen at it)",
            self.workflow_id,
            mark.since.isoformat(),
            len(mark.seen),
        )
        return store, mark

    async def _write_watermark(self, store: Any, mark: Watermark) -> None:
        await self.write_state(store, mark.to_state())

    async def write_state(self, store: Any, state: dict[str, Any]) -> None:
        if store is None:
            return
        started = time.monotonic()
        try:
            await store.aset(self.state_key(), state)
        except Exception as err:  # the next write carries the same state
            self.log.warning("Storing the watermark failed after %.1f s: %s", time.monotonic() - started, err)


class ListingProducer(SharedStreamProducer):
    """The listings of a shared stream, each acknowledged once Airflow has persisted its events.

    Airflow (3.3+) calls `advance` with listings every watcher has moved past and whose events
    are in the metadata database; only then is a watcher's watermark stored. A triggerer killed
    in between stores nothing, and the next one lists those runs again and fires them: no event
    is lost between the triggerer taking it and the database having it. A listing Airflow gave
    up on (an acknowledgement that timed out) stores nothing either; the next resolved listing
    stores the watermark of every watcher still running.
    """

    def __init__(self, trigger: RunFinishedTrigger) -> None:
        self.trigger = trigger

    async def open_stream(self) -> AsyncIterator[tuple[Listing, int]]:
        subscribers = _Subscribers.of(self.trigger.shared_stream_key())
        async for listing in self.trigger.listings(subscribers.window):
            seq = next(_listing_seqs)
            yield Listing(listing.workflow_ids, listing.created_after, listing.runs, listing.hook, seq), seq

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        subscribers = _Subscribers.of(self.trigger.shared_stream_key())
        for item in batch:
            if item.outcome.failed:
                # A watcher Airflow failed out of this listing holds, in its watermarks from here
                # on, an event that may not be in the database, and which watcher it was is not
                # said: nobody's watermark from here on is stored (the others store their next
                # one), and one taken at this listing later (the failed watcher may still be
                # finishing it) never is. At worst a restart fires those runs again.
                subscribers.failed_seqs.add(item.broker_payload)
                for unstored in subscribers.unstored.values():
                    unstored.forget_from(item.broker_payload)
        resolved = [item.broker_payload for item in batch if not item.outcome.failed]
        if not resolved:
            return
        through = max(resolved)
        for unstored in list(subscribers.unstored.values()):
            await unstored.store_through(through, subscribers.failed_seqs)


# Listing numbers, unique in the process: a group that ends and a new one for the same watchers
# never share one.
_listing_seqs = itertools.count(1)


def _poll_loop_imports() -> tuple[Any, Any]:
    from airflow_provider_cloudflows.triggers.workflow_run import shared_hook
    from airflow_provider_cloudflows.verdict import RunWatcher

    return shared_hook, RunWatcher


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _text(value: Any, name: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValueError(f"{name} is required and must not be empty (got {value!r})")
    return text


def _positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'zero or more' if allow_zero else 'positive'}, got {value!r}")
    return number


def _outcomes(value: str | Sequence[str]) -> str | list[str]:
    if value in (SUCCESS, TERMINAL):
        return str(value)
    if isinstance(value, str) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(
            f'outcomes must be "success", "terminal" or a list of the vendor\'s raw terminal states '
            f'(e.g. ["FAILED"]), got {value!r}'
        )
    return sorted(set(value))
