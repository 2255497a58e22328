"""Vendor operations that have both a sync and an async caller, written once.

An operation is a generator: it yields `ApiRequest`s, receives each decoded payload (or has the
call's typed error thrown into it), and returns its result. `sync_and_async` turns one such
generator method `get_run` into the methods `get_run` (driven on the hook's own pool) and
`aget_run` (on the event loop's shared pool). A listing that hands out runs as pages arrive
yields `Page`s between its requests; `sync_and_async_pages` gives `list_runs` (an iterator) and
`alist_runs` (an async iterator). Operations with only one caller are plain methods that call
`hook.call(request)` instead.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow_provider_cloudflows.errors import CloudflowsError
from airflow_provider_cloudflows.protocols.request import ApiRequest, Operation

if TYPE_CHECKING:
    from airflow_provider_cloudflows.hooks.base import CloudflowsHook

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items a paged operation hands out before it asks for the next page."""

    items: list[T]


PagedOperation = Generator["ApiRequest | Page[T]", Any, None]


def run_operation(hook: CloudflowsHook, operation: Operation[T]) -> T:
    try:
        request = next(operation)
        while True:
            try:
                payload = hook.call(request)
            except CloudflowsError as exc:
                request = operation.throw(exc)
            else:
                request = operation.send(payload)
    except StopIteration as done:
        return done.value


async def arun_operation(hook: CloudflowsHook, operation: Operation[T]) -> T:
    await hook.aload_credentials()
    try:
        request = next(operation)
        while True:
            try:
                payload = await hook.acall(request)
            except CloudflowsError as exc:
                request = operation.throw(exc)
            else:
                request = operation.send(payload)
    except StopIteration as done:
        return done.value


def iterate_operation(hook: CloudflowsHook, operation: PagedOperation[T]) -> Iterator[T]:
    step: Any = None
    while True:
        try:
            item = operation.send(step)
        except StopIteration:
            return
        if isinstance(item, Page):
            yield from item.items
            step = None
        else:
            step = hook.call(item)


async def aiterate_operation(hook: CloudflowsHook, operation: PagedOperation[T]) -> AsyncIterator[T]:
    await hook.aload_credentials()
    step: Any = None
    while True:
        try:
            item = operation.send(step)
        except StopIteration:
            return
        if isinstance(item, Page):
            for each in item.items:
                yield each
            step = None
        else:
            step = await hook.acall(item)


class _SyncAndAsync:
    """One operation method `name` -> the methods `name` and `a<name>`, each with its driver."""

    sync_driver: Callable[..., Any]
    async_driver: Callable[..., Any]
    returns_iterator: bool

    def __init__(self, operation: Callable[..., Any]) -> None:
        self.operation = operation

    def __set_name__(self, owner: type, name: str) -> None:
        operation, sync_driver, async_driver = self.operation, type(self).sync_driver, type(self).async_driver

        @functools.wraps(operation)
        def method(hook: CloudflowsHook, *args: Any, **kwargs: Any) -> Any:
            return sync_driver(hook, operation(hook, *args, **kwargs))

        if self.returns_iterator:

            @functools.wraps(operation)
            def amethod(hook: CloudflowsHook, *args: Any, **kwargs: Any) -> Any:
                return async_driver(hook, operation(hook, *args, **kwargs))

        else:

            @functools.wraps(operation)
            async def amethod(hook: CloudflowsHook, *args: Any, **kwargs: Any) -> Any:
                return await async_driver(hook, operation(hook, *args, **kwargs))

        amethod.__name__ = f"a{name}"
        amethod.__qualname__ = f"{owner.__qualname__}.a{name}"
        # The generator itself, for tests that feed an operation answers by hand.
        method.operation = amethod.operation = operation  # type: ignore[attr-defined]
        setattr(owner, name, method)
        setattr(owner, f"a{name}", amethod)


class sync_and_async(_SyncAndAsync, Generic[T]):
    """Decorator: from one operation method `name`, the methods `name` and `a<name>`."""

    sync_driver = staticmethod(run_operation)
    async_driver = staticmethod(arun_operation)
    returns_iterator = False


class sync_and_async_pages(_SyncAndAsync, Generic[T]):
    """Decorator: from one paged operation method `name`, the iterators `name` and `a<name>`."""

    sync_driver = staticmethod(iterate_operation)
    async_driver = staticmethod(aiterate_operation)
    returns_iterator = True
