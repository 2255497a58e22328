"""One trigger for every vendor: poll a run asynchronously until it is finished or time is up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_cloudflows.errors import CloudflowsError
from airflow_provider_cloudflows.hooks.deadline import attempt_deadline
from airflow_provider_cloudflows.verdict import RunWatcher, Verdict
from airflow_provider_cloudflows.xcom import run_event

# Triggers on one event loop that wait through the same connection share one hook (credentials,
# signer, retry policy): 5,000 waiting runs would otherwise hold 5,000 copies, look the same
# connection up 5,000 times, and give the garbage collector that much more to walk. A hook is
# handed to new triggers for HOOK_REUSE_SECONDS at most, so an edited connection reaches every
# trigger deferred after that.
HOOK_REUSE_SECONDS = 60.0
_shared_hooks: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[float, asyncio.Future[Any]]]
] = weakref.WeakKeyDictionary()


POLL_FLOOR_SECONDS = 1.0
# How long on_kill may spend stopping the run (Airflow's own bound, [triggerer] on_kill_timeout, is
# 30 s by default): the stop request and its retries end by then.
STOP_SECONDS = 20.0


def _build_hook(hook_class_path: str, conn_id: str, hook_params: dict[str, Any]) -> Any:
    """Import and build the hook, and import what it loads lazily: all of it blocking work."""
    from airflow_provider_cloudflows.module_loading import import_class

    hook = import_class(hook_class_path)(conn_id, **hook_params)
    hook.preload()
    return hook


async def _new_hook(hook_class_path: str, conn_id: str, hook_params: dict[str, Any]) -> Any:
    # Imports run in a worker thread: on a busy triggerer a first import of a vendor's models
    # would otherwise block every other trigger's loop for a noticeable time.
    hook = await asyncio.to_thread(_build_hook, hook_class_path, conn_id, hook_params)
    with contextlib.suppress(CloudflowsError):  # a bad connection is reported by the first poll
        await hook.aload_credentials()
    return hook


async def shared_hook(hook_class_path: str, conn_id: str, hook_params: dict[str, Any] | None = None) -> Any:
    """The hook every trigger on this event loop that uses this connection shares (see above)."""
    hook_params = dict(hook_params or {})
    hooks = _shared_hooks.setdefault(asyncio.get_running_loop(), {})
    key = json.dumps([hook_class_path, conn_id, hook_params], sort_keys=True, default=str)
    now = time.monotonic()
    entry = hooks.get(key)
    if entry is None or now - entry[0] >= HOOK_REUSE_SECONDS:
        entry = hooks[key] = (now, asyncio.ensure_future(_new_hook(hook_class_path, conn_id, hook_params)))
    try:
        return await asyncio.shield(entry[1])
    except Exception:
        if hooks.get(key) is entry:  # the next trigger tries again
            del hooks[key]
        raise


class WorkflowRunTrigger(BaseTrigger):
    """Wait for a workflow run in the triggerer.

    Every argument is JSON-safe so any triggerer can rebuild the trigger after a restart;
    `deadline` is an absolute epoch time (not a duration) so a restart does not extend the wait.
    Retryable errors (network, 5xx, throttling) that survive the hook's own retries are logged
    and the loop keeps polling; only errors that retrying cannot fix end the wait early.

    Exactly one event is yielded: status "success", "failure", "timeout" or "error".

    `stop` is set only for a run the deferring task started itself (start and rerun operators,
    `cancel_on_kill`): `{"run_ids": [...], "params": {...}}`, what the hook's `stop_started` needs.
    When a user marks the deferred task failed or success, or clears it, Airflow (3.3+) calls
    `on_kill` and the run is stopped. Airflow does not call it on a triggerer restart, on a move
    to another triggerer, or on a timeout, so none of those stops anything; a run a sensor only
    waits on has no `stop` and is never stopped.
    """

    def __init__(
        self,
        *,
        hook_class_path: str,
        conn_id: str,
        run_id: str | int,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        run_params: dict[str, Any] | None = None,
        hook_params: dict[str, Any] | None = None,
        success_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        fail_on_pause: bool = False,
        run_noun: str = "run",
        stop: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.hook_class_path = hook_class_path
        self.conn_id = conn_id
        self.run_id = run_id
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.run_params = dict(run_params or {})
        self.hook_params = dict(hook_params or {})
        self.success_states = list(success_states) if success_states is not None else None
        self.failure_states = list(failure_states) if failure_states is not None else None
        self.fail_on_pause = fail_on_pause
        self.run_noun = run_noun
        self.stop = (
            {"run_ids": list(stop["run_ids"]), "params": dict(stop.get("params") or {})} if stop else None
        )

    @classmethod
    def for_task(
        cls,
        task: Any,
        *,
        run_id: str | int,
        poll_interval: float,
        deadline: float | None,
        fail_on_pause: bool = False,
        stop: dict[str, Any] | None = None,
    ) -> WorkflowRunTrigger:
        """The trigger a sensor or operator defers to: everything else comes from the task."""
        return cls(
            hook_class_path=f"{task.hook_class.__module__}.{task.hook_class.__qualname__}",
            conn_id=task.conn_id,
            run_id=run_id,
            poll_interval=poll_interval,
            deadline=deadline,
            run_params=task.run_params(),
            hook_params=task.hook_params(),
            success_states=task.success_states,
            failure_states=task.failure_states,
            fail_on_pause=fail_on_pause,
            run_noun=task.run_noun,
            stop=stop,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "hook_class_path": self.hook_class_path,
                "conn_id": self.conn_id,
                "run_id": self.run_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "run_params": self.run_params,
                "hook_params": self.hook_params,
                "success_states": self.success_states,
                "failure_states": self.failure_states,
                "fail_on_pause": self.fail_on_pause,
                "run_noun": self.run_noun,
                "stop": self.stop,
            },
        )

    @cached_property
    def watcher(self) -> RunWatcher:
        return RunWatcher(self.run_noun, self.success_states, self.failure_states, self.fail_on_pause)

    async def _shared_hook(self) -> Any:
        return await shared_hook(self.hook_class_path, self.conn_id, self.hook_params)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = await self._shared_hook()
        while True:
            event = await self._poll(hook)
            if event is not None:
                yield event
                return
            remaining = None if self.deadline is None else self.deadline - time.time()
            if remaining is not None and remaining <= 0:
                yield TriggerEvent(
                    run_event(
                        "timeout",
                        self.run_id,
                        message=self.watcher.timeout_message(
                            f"{self.run_noun} {self.run_id} did not finish before the sensor's timeout"
                        ),
                    )
                )
                return
            await asyncio.sleep(
                self.poll_interval if remaining is None else min(self.poll_interval, remaining)
            )

    async def _poll(self, hook: Any) -> TriggerEvent | None:
        """One poll: the event that ends the wait, or None to poll again.

        A method of its own so the run it reads is dropped before the trigger sleeps: a waiting
        trigger keeps no response, model or task run alive between polls.
        """
        try:
            # The poll and its retries end by the trigger's own deadline (at least one second, so a
            # trigger whose deadline passed while it moved between triggerers still looks once).
            left = None if self.deadline is None else max(self.deadline - time.time(), POLL_FLOOR_SECONDS)
            with attempt_deadline(left):
                run = await hook.aget_run(self.run_id, **self.run_params)
        except CloudflowsError as err:
            # The task's own check before deferring reached the endpoint: a failure to reach it
            # now is an outage, however new this triggerer process is.
            if self.watcher.polls_again(err, self.run_id, self.log, answered_before=True):
                return None
            return TriggerEvent(run_event("error", self.run_id, message=str(err)))
        verdict = self.watcher.watch(run, self.log)
        if verdict is Verdict.SUCCEEDED:
            return TriggerEvent(run_event("success", self.run_id, run=run.model_dump(mode="json")))
        if verdict is Verdict.FAILED:
            return TriggerEvent(
                run_event(
                    "failure",
                    self.run_id,
                    run=run.model_dump(mode="json"),
                    message=self.watcher.failure_message(run),
                )
            )
        return None

    async def on_kill(self) -> None:
        """Stop the run when a user ended the deferred task, if the task started it (see `stop`)."""
        if not self.stop:
            return
        run_ids = self.stop["run_ids"]
        try:
            hook = await self._shared_hook()
            with attempt_deadline(STOP_SECONDS):
                result = await hook.astop_started(run_ids, **self.stop["params"])
        except (CloudflowsError, NotImplementedError) as err:
            self.log.warning("Could not stop %s %s: %s", self.run_noun, ", ".join(map(str, run_ids)), err)
            return
        if result.stopped:
            self.log.info(
                "The task was ended by a user: stopped %s %s",
                self.run_noun,
                ", ".join(map(str, result.stopped)),
            )
        for run_id, message in result.failed.items():
            self.log.warning("%s %s was not stopped: %s", self.run_noun, run_id, message)
