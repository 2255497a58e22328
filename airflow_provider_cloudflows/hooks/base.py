"""The shared hook core: a connection type's credentials, a wire protocol, retries, one pool per hook.

A product hook composes one connection type (products.py: whose credentials) with one wire
protocol (protocols/: how requests are built, signed and decoded) and adds only its own
operations. Everything that is the same for all four APIs lives here, once: reading the
connection (sync, or without blocking the event loop), signing, sending through the transport
with its limits, retrying, and turning every failure into a typed error.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import ssl
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

import httpx
from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_cloudflows.connections.credentials import (
    CloudCredentials,
    max_response_bytes,
    read_credentials,
)
from airflow_provider_cloudflows.errors import (
    CloudflowsError,
    InvalidRequestError,
    ThrottledError,
    VendorApiError,
)
from airflow_provider_cloudflows.hooks import operations
from airflow_provider_cloudflows.hooks.deadline import time_left
from airflow_provider_cloudflows.hooks.failures import is_loopback, mark_answered, transport_error
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.transport import (
    DEFAULT_HEADERS,
    DEFAULT_MAX_RESPONSE_BYTES,
    AsyncTransport,
    PoolRouter,
    ReadLimits,
    SyncTransport,
    asend_in_slot,
    parse_url,
    private_ca_async_transport,
    send,
    shared_async_transport,
    sign,
    sync_router,
    tls_context,
    warm_shared_async_transport,
)
from airflow_provider_cloudflows.module_loading import import_class
from airflow_provider_cloudflows.products import CONNECTION_TYPES, ConnectionType, Product
from airflow_provider_cloudflows.protocols.base import WireProtocol
from airflow_provider_cloudflows.protocols.request import ApiRequest, Operation, T
from airflow_provider_cloudflows.runs import StopResult, WorkflowRun

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class CloudflowsHook(BaseHook):
    """Base of every hook of this package: a connection type plus a wire protocol.

    A subclass declares `product` (a products.Product; the connection type follows from it) or,
    for a connection type's own hook, `connection`; and `protocol`, the wire protocol object.

    :param conn_id: the Airflow connection id (also accepted as `<conn_type>_conn_id=`).
    :param region: overrides the connection's region.
    :param endpoint: overrides the connection's endpoint (a base URL such as http://127.0.0.1:8790).
    :param retry_policy: overrides the retry policy built from the connection extras.
    :param timeout: seconds one attempt may take, connect, send and the whole answer together.
    """

    product: ClassVar[Product | None] = None
    connection: ClassVar[ConnectionType]
    protocol: ClassVar[WireProtocol]
    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    # Human name of the API, used in errors and logs: "Tencent Cloud WeData", ...
    vendor: ClassVar[str] = "cloud"
    # Modules the hook imports lazily (response models, parsers). `preload` imports them, so a
    # trigger can pay that cost in a worker thread instead of on the triggerer's event loop.
    lazy_modules: ClassVar[tuple[str, ...]] = ()
    # The fields of a failed task run's vendor detail that `failed_task_logs` shows by default
    # (None: all of them), for products whose API has no log of a task run.
    error_detail_fields: ClassVar[tuple[str, ...] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        product = cls.__dict__.get("product")
        if product is not None:
            cls.connection = CONNECTION_TYPES[product.connection]
            cls.vendor = cls.hook_name = product.name
        connection = cls.__dict__.get("connection")
        if isinstance(connection, ConnectionType):
            cls.conn_type = connection.conn_type
            cls.conn_name_attr = f"{connection.conn_type}_conn_id"
            cls.default_conn_name = f"{connection.conn_type}_default"
            if product is None:
                cls.vendor = cls.hook_name = connection.name

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        named = kwargs.pop(self.conn_name_attr, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        super().__init__()
        self.conn_id = conn_id or named or self.default_conn_name
        self._region_override = region
        self._endpoint_override = endpoint
        self._retry_policy_override = retry_policy
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0)) if timeout else DEFAULT_TIMEOUT
        self._timeout_extension = self._timeout.as_dict()
        self._attempt_seconds = float(timeout) if timeout else 30.0
        self._credentials: CloudCredentials | None = None
        self._read_limits: ReadLimits | None = None
        self._auth: httpx.Auth | None = None
        self._warned_origins: set[tuple[str, str, int | None]] = set()
        self.sleep: Callable[[float], None] = time.sleep
        self.asleep: Callable[[float], Any] = asyncio.sleep

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connection ---------------------------------------------------------------------------

    def _read(self, conn: Any, extras: dict[str, Any]) -> CloudCredentials:
        self._check_conn_type(getattr(conn, "conn_type", None))
        return read_credentials(
            self.conn_id,
            conn,
            extras,
            vendor=self.vendor,
            region=self._region_override,
            endpoint=self._endpoint_override,
        )

    def _check_conn_type(self, actual: str | None) -> None:
        """Refuse the other cloud's connection type: its keys would only earn InvalidAccessKeyId.

        Only the types this package declares are compared; a connection of any other type (a
        generic one, a test's own) is read as before.
        """
        if actual == self.conn_type or actual not in CONNECTION_TYPES:
            return
        wanted = CONNECTION_TYPES.get(self.conn_type)
        raise InvalidRequestError(
            f"connection {self.conn_id!r} is of type {actual!r} ({CONNECTION_TYPES[actual].name} keys), "
            f"but {self.vendor} needs a {self.conn_type!r} connection"
            + (f" ({wanted.name} keys)" if wanted else "")
            + f": point {self.conn_name_attr} at a {self.conn_type!r} connection, or change this one's type",
            vendor=self.vendor,
        )

    @property
    def credentials(self) -> CloudCredentials:
        """Read once per hook; a sensor that polls for hours does not re-read its connection."""
        if self._credentials is None:
            conn = self.get_connection(self.conn_id)
            self._credentials = self._read(conn, conn.extra_dejson)
        return self._credentials

    async def aload_credentials(self) -> CloudCredentials:
        """The same as `credentials`, without blocking the event loop (used inside triggers)."""
        if self._credentials is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            conn = await get_async_connection(self.conn_id, hook=self)
            self._credentials = self._read(conn, await get_async_extra_dejson(conn))
        return self._credentials

    @property
    def retry_policy(self) -> RetryPolicy:
        if self._retry_policy_override is None:
            # Built once: a sensor polling for hours does not re-read its extras on every call.
            self._retry_policy_override = RetryPolicy.from_extras(
                self.credentials.extras, conn_id=self.conn_id, vendor=self.vendor
            )
        return self._retry_policy_override

    @property
    def read_limits(self) -> ReadLimits:
        """How much of an answer is read (extra `max_response_bytes`) and how long an attempt takes."""
        if self._read_limits is None:
            creds = self.credentials
            self._read_limits = ReadLimits(
                max_response_bytes=max_response_bytes(
                    creds.extras, DEFAULT_MAX_RESPONSE_BYTES, conn_id=self.conn_id, vendor=self.vendor
                ),
                attempt_seconds=self._attempt_seconds,
                vendor=self.vendor,
            )
        return self._read_limits

    @property
    def region(self) -> str | None:
        return self.credentials.region

    @property
    def auth(self) -> httpx.Auth:
        if self._auth is None:
            self._auth = self.protocol.signer(self.credentials)
        return self._auth

    # -- transport ------------------------------------------------------------------------------

    @cached_property
    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context of a connection with its own CA (extra `ca_bundle`), else None."""
        ca_bundle = str(self.credentials.extras.get("ca_bundle") or "").strip()
        if not ca_bundle:
            return None
        try:
            return tls_context(ca_bundle)
        except ValueError as err:
            raise InvalidRequestError(
                f"connection {self.conn_id!r}: extra 'ca_bundle' must be a PEM file path or PEM text; {err}",
                vendor=self.vendor,
            ) from None

    @cached_property
    def transport(self) -> PoolRouter[SyncTransport]:
        """This hook's keep-alive connection pools (one per origin or proxy): url -> transport."""
        return sync_router(self.tls_context)

    def close(self) -> None:
        router = self.__dict__.pop("transport", None)
        for transport in getattr(router, "transports", ()):
            transport.close()

    async def async_transport(self, url: httpx.URL) -> AsyncTransport:
        """The transport for async calls: by default the one shared by every hook on this loop."""
        if self.credentials.extras.get("ca_bundle"):
            if "tls_context" not in self.__dict__:  # reads the CA file: not on the event loop
                await asyncio.to_thread(lambda: self.tls_context)
            context = self.tls_context
            if context is not None:
                return private_ca_async_transport(url, str(self.credentials.extras["ca_bundle"]), context)
        return shared_async_transport(url)

    def request(self, *args: Any, **kwargs: Any) -> ApiRequest:
        """A request of this hook's protocol with its credentials; the arguments are the protocol's."""
        return self.protocol.request(self.credentials, *args, **kwargs)  # type: ignore[attr-defined]

    def _warn_if_plain_http(self, url: httpx.URL) -> None:
        origin = (url.scheme, url.host, url.port)
        if url.scheme != "http" or origin in self._warned_origins:
            return
        self._warned_origins.add(origin)
        if not is_loopback(url.host):
            log.warning(
                "Connection %r sends signed requests to %s over plain http://: the signature and any "
                "token travel unencrypted; use https:// unless this is a local emulator",
                self.conn_id,
                url.host,
            )

    def _signed_request(self, req: ApiRequest) -> httpx.Request:
        request = httpx.Request(
            req.method,
            parse_url(req.url),
            headers={**DEFAULT_HEADERS, **req.headers},
            content=req.content,
            extensions={"timeout": self._timeout_extension},
        )
        self._warn_if_plain_http(request.url)
        return sign(self.auth, request)

    def call(self, req: ApiRequest) -> Any:
        """Send one request with retries and return the decoded payload."""
        policy = self.retry_policy
        limits = self.read_limits
        attempt = 0
        while True:
            attempt += 1
            try:
                request = self._signed_request(req)
                response = send(self.transport(request.url), request, limits)
                mark_answered(request.url)
                return self.protocol.decode(req, response)
            except Exception as exc:
                self.sleep(self._wait_before_retry(req, exc, attempt, policy))

    async def acall(self, req: ApiRequest) -> Any:
        await self.aload_credentials()
        await warm_shared_async_transport()
        policy = self.retry_policy
        limits = self.read_limits
        attempt = 0
        while True:
            attempt += 1
            try:
                request = self._signed_request(req)
                transport = await self.async_transport(request.url)
                response = await asend_in_slot(transport, request, limits)
                mark_answered(request.url)
                return self.protocol.decode(req, response)
            except Exception as exc:
                await self.asleep(self._wait_before_retry(req, exc, attempt, policy))

    def _wait_before_retry(self, req: ApiRequest, exc: Exception, attempt: int, policy: RetryPolicy) -> float:
        """How long to wait before the next attempt; raises the typed error when there is none."""
        error = self._as_cloudflows_error(req, exc)
        if not self._retryable(req, error, exc) or not policy.should_retry(error, attempt):
            raise error from exc
        wait = policy.delay(attempt, error)
        left = time_left()  # a caller's own deadline (a trigger's) also bounds the wait
        if left is not None and left <= wait:
            raise error from exc
        self._log_retry(req, error, attempt, policy, wait)
        return wait

    def _as_cloudflows_error(self, req: ApiRequest, exc: Exception) -> CloudflowsError:
        if isinstance(exc, CloudflowsError):
            if exc.run_id is None:
                exc.run_id = req.run_id
            if exc.action is None:
                exc.action = req.action
            return exc
        error = transport_error(exc, req.url, vendor=self.vendor, action=req.action, run_id=req.run_id)
        if error is None:
            raise exc
        return error

    @staticmethod
    def _retryable(req: ApiRequest, error: CloudflowsError, exc: Exception) -> bool:
        if req.idempotent:
            return error.retryable
        # Starting or stopping twice is worse than failing once: only retry when the vendor
        # cannot have acted on the request - it was never sent (no connection, no pool slot), or
        # the vendor answered that it throttled it. A 5xx, a timeout after sending or a reset
        # mid-answer leave the outcome unknown: the caller looks for the run before starting again.
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True
        # A 5xx counts as throttling only with the vendor's own throttling code (COS SlowDown).
        return isinstance(error, ThrottledError) and (
            error.code is not None or (error.http_status or 0) < 500
        )

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
        """Drive an operation with this hook's own (sync) connection pool."""
        return operations.run_operation(self, operation)

    async def arun_operation(self, operation: Operation[T]) -> T:
        """Drive the same operation on the loop's shared async pool (never blocks the loop)."""
        return await operations.arun_operation(self, operation)

    def get_run(self, run_id: str, **params: Any) -> WorkflowRun:
        """The one question every product answers: run `run_id` with its task runs."""
        raise NotImplementedError

    async def aget_run(self, run_id: str, **params: Any) -> WorkflowRun:
        raise NotImplementedError

    def console_url(self, run: WorkflowRun) -> str | None:
        """Where a person sees this run in the vendor console (used by the extra links)."""
        return None

    def failed_task_logs(
        self, run: WorkflowRun, *, max_task_runs: int, max_bytes: int
    ) -> list[tuple[str, str]]:
        """(header, text) for each of the first `max_task_runs` failed task runs of `run`.

        The text is at most `max_bytes` bytes: the end of the task run's log where the product
        has a log API (a product hook overrides this), else the error detail the run already
        carries (`error_detail_fields`), which costs no request.
        """
        from airflow_provider_cloudflows.task_logs import error_detail_logs

        return error_detail_logs(
            self.vendor,
            run,
            max_task_runs=max_task_runs,
            max_bytes=max_bytes,
            fields=self.error_detail_fields,
        )

    @property
    def can_stop(self) -> bool:
        """Whether the vendor has an API to stop a run (products.py declares it)."""
        return bool(self.product and self.product.can_stop)

    def stop_started(self, run_ids: list[Any], **params: Any) -> StopResult:
        """Stop runs a task started; `params` are the JSON-safe ones its operator gives (`stop_params`)."""
        raise NotImplementedError(f"{self.vendor} has no API to stop a run")

    async def astop_started(self, run_ids: list[Any], **params: Any) -> StopResult:
        raise NotImplementedError(f"{self.vendor} has no API to stop a run")

    @staticmethod
    def rerun_count(run: WorkflowRun) -> int:
        """A count that grows with each rerun of the run (products that can rerun override it)."""
        return 0

    def wait_for(
        self, check: Callable[[], T | None], *, what: str, action: str, poll_interval: float, timeout: float
    ) -> T:
        """Call `check` every `poll_interval` seconds until it returns a result (not None).

        For the vendors' asynchronous operations (create, rerun) whose result the hook polls:
        after `timeout` seconds the wait ends with a VendorApiError naming `what` was awaited.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                raise VendorApiError(
                    f"{self.vendor} did not finish {what} within {timeout:.0f} s",
                    vendor=self.vendor,
                    action=action,
                )
            self.sleep(poll_interval)

    def preload(self) -> None:
        for module in self.lazy_modules:
            importlib.import_module(module)

    # -- connection test ----------------------------------------------------------------------

    def check_connection(self) -> str:
        """One cheap signed call; returns a short success message.

        By default the connection type's own check (STS GetCallerIdentity), which any valid key
        may make whatever products it is allowed to use; a product may check something closer.
        """
        hook_class = import_class(self.connection.hook)
        if type(self) is hook_class:
            raise NotImplementedError
        hook = hook_class(
            self.conn_id,
            region=self._region_override,
            endpoint=self._endpoint_override,
            retry_policy=self._retry_policy_override,
            timeout=self._attempt_seconds,
        )
        try:
            return hook.check_connection()
        finally:
            hook.close()

    def test_connection(self) -> tuple[bool, str]:
        try:
            message = self.check_connection()
        except CloudflowsError as err:
            return False, str(err)
        except Exception as err:  # the UI shows this text; never a traceback with secrets
            return False, f"{type(err).__name__}: {err}"
        return True, message
