"""What the event-trigger tests share: a stand-in asset state store and a trigger's events collected."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest


class Store:
    """The asset state store accessor a watcher of one asset gets (its async half)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))
        self.writes += 1


class Watching:
    """A trigger's events as its run() yields them, in a task of its own."""

    def __init__(
        self,
        events: AsyncIterator[Any],
        polls: Callable[[], int],
        on_event: Callable[[Any], Any] | None = None,
    ) -> None:
        self.polls = polls
        self.events: list[dict[str, Any]] = []
        # What `on_event` returned for each event (the triggerer binds each event to its raw event).
        self.bound: list[Any] = []
        self.task = asyncio.ensure_future(self._collect(events, on_event))

    async def _collect(self, events: AsyncIterator[Any], on_event: Callable[[Any], Any] | None) -> None:
        async for event in events:
            self.events.append(event.payload)
            if on_event is not None:
                bound = on_event(event.payload)
                self.bound.append(await bound if inspect.isawaitable(bound) else bound)

    async def after_polls(self, polls: int, timeout: float = 20) -> list[str]:
        """The run ids fired once the listing was called `polls` more times."""
        target = self.polls() + polls
        async with asyncio.timeout(timeout):
            while self.polls() < target:
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        return [e["run_id"] for e in self.events]

    async def stop(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
