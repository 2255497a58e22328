"""The shared hook core: connection -> credentials, one connection pool per hook, retries, errors.

Vendor hooks only describe requests (`ApiRequest`) and decode responses; everything that is the
same for all four APIs lives here, once.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
import weakref
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import httpx
from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_cloudflows.errors import (
    CloudflowsError,
    InvalidRequestError,
    ServiceUnavailableError,
)
from airflow_provider_cloudflows.hooks.network import AsyncioHTTPTransport, CoalescingHTTPTransport
from airflow_provider_cloudflows.hooks.request import ApiRequest, Operation, T
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.transport import (
    DEFAULT_HEADERS,
    PoolRouter,
    asend,
    parse_url,
    send,
    sign,
)
from airflow_provider_cloudflows.runs import WorkflowRun

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class CloudCredentials:
    """What a connection holds. `repr` never shows the secret or the token."""

    key_id: str
    secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    region: str | None = None
    endpoint: str | None = None
    extras: dict[str, Any] = field(default_factory=dict, repr=False)


# One set of async transports (connection pools, one per origin) per event loop, shared by every
# hook on that loop: a triggerer may hold thousands of waiting runs, and each needs no pool of
# its own. Signing is per request, so sharing a pool never shares credentials.
_async_routers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PoolRouter[httpx.AsyncBaseTransport]] = (
    weakref.WeakKeyDictionary()
)
# Requests in flight per event loop and origin, and each origin's pool size. Kept small on
# purpose: httpcore's pool does O(connections^2 + queued x connections) work on every request
# start and end, so with 256 connections a burst of 1,000 first polls (a triggerer restart) cost
# ~1 s of CPU per poll; with 16 slots in front of a 16-connection pool it is a few ms
# (benchmarks/trigger_scale.py). Waiting for a slot is an O(1) asyncio.Semaphore wake-up instead
# of a pool scan. Per origin, so a vendor that stops answering holds up only its own polls.
MAX_CONCURRENT_REQUESTS = 16
_request_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)
_ASYNC_LIMITS = httpx.Limits(
    max_connections=MAX_CONCURRENT_REQUESTS,
    max_keepalive_connections=MAX_CONCURRENT_REQUESTS,
    keepalive_expiry=60,
)


def _with_scheme(endpoint: str | None) -> str | None:
    """Endpoints are base URLs; a bare host name means HTTPS, as it does for the vendors' own hosts."""
    endpoint = (endpoint or "").strip().rstrip("/")
    if not endpoint:
        return None
    return endpoint if "://" in endpoint else f"https://{endpoint}"


def response_preview(response: httpx.Response, limit: int = 200) -> str:
    """A short, single-line view of a response body for error messages."""
    text = response.text[:limit].replace("\n", " ")
    return f"HTTP {response.status_code} {text!r}"


def _new_async_router() -> PoolRouter[httpx.AsyncBaseTransport]:
    router: PoolRouter[httpx.AsyncBaseTransport] = PoolRouter(
        lambda proxy, tls: AsyncioHTTPTransport(limits=_ASYNC_LIMITS, proxy=proxy, verify=tls)
    )
    router.prepare()
    return router


def _shared_async_router() -> PoolRouter[httpx.AsyncBaseTransport]:
    loop = asyncio.get_running_loop()
    router = _async_routers.get(loop)
    if router is None:
        router = _async_routers[loop] = _new_async_router()
    return router


def shared_async_transport(url: httpx.URL) -> httpx.AsyncBaseTransport:
    """The transport this event loop uses for `url` (shared by every hook on the loop)."""
    return _shared_async_router()(url)


async def warm_shared_async_transport() -> None:
    """Create this loop's shared pools' router in a worker thread if it has none yet.

    It builds the TLS context every pool shares, which reads the CA bundle from disk: tens of
    milliseconds that would otherwise stall every other trigger on the triggerer's loop.
    """
    loop = asyncio.get_running_loop()
    if loop in _async_routers:
        return
    router = await asyncio.to_thread(_new_async_router)
    _async_routers.setdefault(loop, router)  # another coroutine may have won the race


def shared_request_slots(url: httpx.URL) -> asyncio.Semaphore:
    """Bounds the requests in flight to `url`'s origin on this event loop (MAX_CONCURRENT_REQUESTS)."""
    per_origin = _request_slots.setdefault(asyncio.get_running_loop(), {})
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    slots = per_origin.get(origin)
    if slots is None:
        slots = per_origin[origin] = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
    return slots


class CloudflowsBaseHook(BaseHook):
    """Base of every vendor hook. Subclasses set the connection type and implement the protocol.

    :param conn_id: the Airflow connection id.
    :param region: overrides the connection's region.
    :param endpoint: overrides the connection's endpoint (a base URL such as http://127.0.0.1:8790).
    :param retry_policy: overrides the retry policy built from the connection extras.
    :param timeout: per-request timeout in seconds.
    """

    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    # Human name of the API, used in errors and logs: "WeData", "Cloud Infinite", ...
    vendor: ClassVar[str] = "cloud"

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id or self.default_conn_name
        self._region_override = region
        self._endpoint_override = endpoint
        self._retry_policy_override = retry_policy
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0)) if timeout else DEFAULT_TIMEOUT
        self._timeout_extension = self._timeout.as_dict()
        self._credentials: CloudCredentials | None = None
        self._auth: httpx.Auth | None = None
        self.sleep: Callable[[float], None] = time.sleep
        self.asleep: Callable[[float], Any] = asyncio.sleep

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connection ---------------------------------------------------------------------------

    def _credentials_from(self, conn: Any, extras: dict[str, Any]) -> CloudCredentials:
        if not conn.login or not conn.password:
            raise InvalidRequestError(
                f"connection {self.conn_id!r} needs the key id as login and the secret as password",
                vendor=self.vendor,
            )
        return CloudCredentials(
            key_id=conn.login,
            secret=conn.password,
            security_token=extras.get("security_token") or None,
            region=self._region_override or extras.get("region") or None,
            endpoint=_with_scheme(self._endpoint_override or extras.get("endpoint")),
            extras=extras,
        )

    @property
    def credentials(self) -> CloudCredentials:
        """Read once per hook; a sensor that polls for hours does not re-read its connection."""
        if self._credentials is None:
            conn = self.get_connection(self.conn_id)
            self._credentials = self._credentials_from(conn, conn.extra_dejson)
        return self._credentials

    async def aload_credentials(self) -> CloudCredentials:
        """The same as `credentials`, without blocking the event loop (used inside triggers)."""
        if self._credentials is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            conn = await get_async_connection(self.conn_id, hook=self)
            self._credentials = self._credentials_from(conn, await get_async_extra_dejson(conn))
        return self._credentials

    @property
    def retry_policy(self) -> RetryPolicy:
        if self._retry_policy_override is None:
            # Built once: a sensor polling for hours does not re-read its extras on every call.
            self._retry_policy_override = RetryPolicy.from_extras(self.credentials.extras)
        return self._retry_policy_override

    @property
    def region(self) -> str | None:
        return self.credentials.region

    # -- protocol (vendor subclasses) -----------------------------------------------------------

    @abstractmethod
    def _build_auth(self, credentials: CloudCredentials) -> httpx.Auth:
        """The signer for this API, built once per hook."""

    @abstractmethod
    def _decode(self, request: ApiRequest, response: httpx.Response) -> Any:
        """Turn a response into its payload, or raise the typed error the vendor's answer means."""

    @property
    def auth(self) -> httpx.Auth:
        if self._auth is None:
            self._auth = self._build_auth(self.credentials)
        return self._auth

    # -- transport ------------------------------------------------------------------------------

    @cached_property
    def transport(self) -> PoolRouter[httpx.BaseTransport]:
        """This hook's keep-alive connection pools (one per origin or proxy): url -> transport."""
        return PoolRouter(lambda proxy, tls: CoalescingHTTPTransport(proxy=proxy, verify=tls))

    def close(self) -> None:
        router = self.__dict__.pop("transport", None)
        for transport in getattr(router, "transports", ()):
            transport.close()

    def _signed_request(self, req: ApiRequest) -> httpx.Request:
        request = httpx.Request(
            req.method,
            parse_url(req.url),
            headers={**DEFAULT_HEADERS, **req.headers},
            content=req.content,
            extensions={"timeout": self._timeout_extension},
        )
        return sign(self.auth, request)

    def call(self, req: ApiRequest) -> Any:
        """Send one request with retries and return the decoded payload."""
        policy = self.retry_policy
        attempt = 0
        while True:
            attempt += 1
            try:
                request = self._signed_request(req)
                return self._decode(req, send(self.transport(request.url), request))
            except Exception as exc:
                self.sleep(self._wait_before_retry(req, exc, attempt, policy))

    async def async_transport(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        """The transport for async calls: by default the one shared by every hook on this loop."""
        return shared_async_transport(url)

    async def acall(self, req: ApiRequest) -> Any:
        await self.aload_credentials()
        await warm_shared_async_transport()
        policy = self.retry_policy
        attempt = 0
        while True:
            attempt += 1
            try:
                request = self._signed_request(req)
                transport = await self.async_transport(request.url)
                async with shared_request_slots(request.url):
                    response = await asend(transport, request)
                return self._decode(req, response)
            except Exception as exc:
                await self.asleep(self._wait_before_retry(req, exc, attempt, policy))

    def _wait_before_retry(self, req: ApiRequest, exc: Exception, attempt: int, policy: RetryPolicy) -> float:
        """How long to wait before the next attempt; raises the typed error when there is none."""
        error = self._as_cloudflows_error(req, exc)
        if not self._retryable(req, error, exc) or not policy.should_retry(error, attempt):
            raise error from exc
        wait = policy.delay(attempt, error)
        self._log_retry(req, error, attempt, policy, wait)
        return wait

    def _as_cloudflows_error(self, req: ApiRequest, exc: Exception) -> CloudflowsError:
        if isinstance(exc, CloudflowsError):
            if exc.run_id is None:
                exc.run_id = req.run_id
            return exc
        if isinstance(exc, httpx.TransportError):
            return ServiceUnavailableError(
                f"network error talking to {httpx.URL(req.url).host}: {type(exc).__name__}: {exc}",
                vendor=self.vendor,
                action=req.action,
                run_id=req.run_id,
            )
        raise exc

    @staticmethod
    def _retryable(req: ApiRequest, error: CloudflowsError, exc: Exception) -> bool:
        if req.idempotent:
            return error.retryable
        # Starting or stopping twice is worse than failing once: only retry when the vendor
        # cannot have acted on the request.
        from airflow_provider_cloudflows.errors import ThrottledError

        return isinstance(error, ThrottledError) or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)

    def _log_retry(
        self, req: ApiRequest, error: CloudflowsError, attempt: int, policy: RetryPolicy, wait: float
    ) -> None:
        self.log.warning(
            "Attempt %d/%d of %s failed, retrying in %.1fs: %s",
            attempt,
            policy.max_attempts,
            req.action,
            wait,
            error,
        )

    # -- operations -----------------------------------------------------------------------------

    def run_operation(self, operation: Operation[T]) -> T:
        """Drive a vendor operation with this hook's own (sync) connection pool."""
        try:
            req = next(operation)
            while True:
                req = operation.send(self.call(req))
        except StopIteration as done:
            return done.value

    async def arun_operation(self, operation: Operation[T]) -> T:
        """Drive the same operation on the loop's shared async pool (never blocks the loop)."""
        await self.aload_credentials()
        try:
            req = next(operation)
            while True:
                req = operation.send(await self.acall(req))
        except StopIteration as done:
            return done.value

    # -- the one question every vendor answers ------------------------------------------------

    @abstractmethod
    def _get_run_operation(self, run_id: str, **params: Any) -> Operation[WorkflowRun]:
        """Requests that read run `run_id` (and its task runs) and build a WorkflowRun."""

    def get_run(self, run_id: str, **params: Any) -> WorkflowRun:
        return self.run_operation(self._get_run_operation(run_id, **params))

    async def aget_run(self, run_id: str, **params: Any) -> WorkflowRun:
        await self.aload_credentials()
        return await self.arun_operation(self._get_run_operation(run_id, **params))

    def console_url(self, run: WorkflowRun) -> str | None:
        """Where a person sees this run in the vendor console (used by the extra links)."""
        return None

    # Modules the hook imports lazily (response models, parsers). `preload` imports them, so a
    # trigger can pay that cost in a worker thread instead of on the triggerer's event loop.
    lazy_modules: ClassVar[tuple[str, ...]] = ()

    def preload(self) -> None:
        for module in self.lazy_modules:
            importlib.import_module(module)

    # -- connection test ----------------------------------------------------------------------

    def _test_connection_operation(self) -> Operation[str]:
        """One cheap signed call; returns a short success message. Subclasses override."""
        raise NotImplementedError

    def test_connection(self) -> tuple[bool, str]:
        try:
            message = self.run_operation(self._test_connection_operation())
        except CloudflowsError as err:
            return False, str(err)
        except Exception as err:  # the UI shows this text; never a traceback with secrets
            return False, f"{type(err).__name__}: {err}"
        return True, message
