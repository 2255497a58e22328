"""How a hook's requests reach the network, and how every answer is read: once, for every vendor.

A poll is one signed request that is never redirected and never needs a cookie. Sent through
`httpx.Client`, every poll still pays for the client's cookie jar, redirect loop, auth-flow
generator and event hooks: ~60 µs of CPU, a quarter of a whole bare GET on the machine in
docs/benchmarks.md. Hooks therefore build an `httpx.Request`, sign it and hand it to a transport
themselves. The pools here are httpcore pools built with httpcore's public constructor, so they
can use our network backends (hooks/network.py); any `httpx.BaseTransport` works in their place
(tests use `httpx.MockTransport`).

Whatever the transport, `send` / `asend` read the answer the same way: the raw body is read
chunk by chunk and decompressed here, both bounded by the hook's `max_response_bytes`, inside one
deadline for the whole attempt (connect, send and the whole body).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import urllib.request
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpcore
import httpx

from airflow_provider_cloudflows.errors import InvalidResponseError, ResponseTooLargeError
from airflow_provider_cloudflows.hooks.deadline import attempt_deadline, time_left
from airflow_provider_cloudflows.hooks.network import AsyncioBackend, CoalescingBackend

USER_AGENT = "airflow-provider-cloudflows"
# Sent with every request; a signer adds its own headers on top. Only encodings decoded below.
DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# What httpx.Client uses when given no limits.
HTTPX_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

TransportT = TypeVar("TransportT")


@dataclass(frozen=True)
class ReadLimits:
    """How much of an answer is read, and for how long one attempt may take."""

    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    attempt_seconds: float | None = 30.0
    vendor: str = "cloud"  # named in the errors reading raises


# -- httpcore errors as httpx's ---------------------------------------------------------------------

# Most specific first. The rest of the package (retry classification, messages) speaks httpx's
# exception types, whichever transport answered.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc) or type(exc).__name__, request=request) from exc
        raise


def _core_request(request: httpx.Request) -> httpcore.Request:
    url = request.url
    extensions = request.extensions
    left = time_left()
    if left is not None:
        # Waiting for a connection of the pool counts against the attempt too (the other waits
        # are bounded by the network backend).
        timeouts = dict(extensions.get("timeout") or {})
        pool = timeouts.get("pool")
        timeouts["pool"] = left if pool is None else min(pool, left)
        extensions = {**extensions, "timeout": timeouts}
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
        headers=request.headers.raw,
        content=request.content,
        extensions=extensions,
    )


def _core_proxy(proxy: str) -> httpcore.Proxy:
    """The proxy as httpx would hand it to httpcore: credentials in the URL become Proxy-Authorization."""
    parsed = httpx.Proxy(proxy)
    return httpcore.Proxy(
        url=httpcore.URL(
            scheme=parsed.url.raw_scheme,
            host=parsed.url.raw_host,
            port=parsed.url.port,
            target=parsed.url.raw_path,
        ),
        auth=parsed.raw_auth,
        headers=parsed.headers.raw,
        ssl_context=parsed.ssl_context,
    )


def _pool_options(
    limits: httpx.Limits, proxy: str | None, ssl_context: ssl.SSLContext | None
) -> dict[str, Any]:
    """httpcore pool settings the way httpx would configure its own pool from the same inputs."""
    return {
        "ssl_context": ssl_context or httpx.create_ssl_context(),
        "proxy": _core_proxy(proxy) if proxy else None,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


class PoolTransport:
    """An httpcore pool on `CoalescingBackend`, read the one way every answer is read (`read`)."""

    def __init__(
        self,
        *,
        limits: httpx.Limits = HTTPX_DEFAULT_LIMITS,
        proxy: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.pool = httpcore.ConnectionPool(
            network_backend=CoalescingBackend(), **_pool_options(limits, proxy, ssl_context)
        )

    def read(self, request: httpx.Request, limits: ReadLimits) -> httpx.Response:
        """The whole answer within the limits, straight from the pool (what `send` uses)."""
        with _as_httpx_errors(request):
            response = self.pool.handle_request(_core_request(request))
            try:
                reader = BodyReader(_content_encoding(response.headers), limits, request)
                for chunk in response.iter_stream():
                    reader.feed(chunk)
                body = reader.finish()
            finally:
                response.close()
        return _decoded(response.status, response.headers, reader.decoded, body, request)

    def close(self) -> None:
        self.pool.close()


class AsyncPoolTransport:
    """The async twin of `PoolTransport`, on `AsyncioBackend` (asyncio's own transports)."""

    def __init__(
        self,
        *,
        limits: httpx.Limits = HTTPX_DEFAULT_LIMITS,
        proxy: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.pool = httpcore.AsyncConnectionPool(
            network_backend=AsyncioBackend(), **_pool_options(limits, proxy, ssl_context)
        )

    async def read(self, request: httpx.Request, limits: ReadLimits) -> httpx.Response:
        with _as_httpx_errors(request):
            response = await self.pool.handle_async_request(_core_request(request))
            try:
                reader = BodyReader(_content_encoding(response.headers), limits, request)
                async for chunk in response.aiter_stream():
                    reader.feed(chunk)
                body = reader.finish()
            finally:
                await response.aclose()
        return _decoded(response.status, response.headers, reader.decoded, body, request)

    async def aclose(self) -> None:
        await self.pool.aclose()


class PoolRouter(Generic[TransportT]):
    """One connection pool per origin (scheme, host, port), or per proxy the environment names.

    A pool per origin keeps vendors apart: a vendor API that hangs fills its own connections, not
    the ones another vendor's polls need. Proxies are read from the environment once
    (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, as urllib reads them) and every pool shares
    one TLS context; the route for an origin is decided once, so a poll costs one dict lookup.
    """

    def __init__(
        self,
        factory: Callable[[str | None, ssl.SSLContext], TransportT],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._factory = factory
        self._proxies = urllib.request.getproxies()
        self._ssl_context = ssl_context
        self._pools: dict[str, TransportT] = {}
        self._routes: dict[tuple[str, str, int | None], TransportT] = {}

    def __call__(self, url: httpx.URL) -> TransportT:
        origin = (url.scheme, url.host, url.port)
        transport = self._routes.get(origin)
        if transport is None:
            proxy = self.proxy_for(url)
            key = self.pool_key(url, proxy)
            transport = self._pools.get(key)
            if transport is None:
                transport = self._pools[key] = self._factory(proxy, self.prepare())
            self._routes[origin] = transport
        return transport

    def pool_key(self, url: httpx.URL, proxy: str | None = None) -> str:
        """Which pool serves `url`: its origin's, or the proxy's that every origin behind it shares."""
        proxy = proxy if proxy is not None else self.proxy_for(url)
        return proxy or f"{url.scheme}://{url.netloc.decode('ascii')}"

    def prepare(self) -> ssl.SSLContext:
        """The TLS context every pool shares. Building it reads the CA bundle: tens of ms that
        the triggerer spends in a worker thread, once, rather than on its event loop."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    def proxy_for(self, url: httpx.URL) -> str | None:
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(url.host):
            return None
        return proxy if "://" in proxy else f"http://{proxy}"

    @property
    def transports(self) -> list[TransportT]:
        return list(self._pools.values())


SyncTransport = PoolTransport | httpx.BaseTransport
AsyncTransport = AsyncPoolTransport | httpx.AsyncBaseTransport


def sync_router(ssl_context: ssl.SSLContext | None = None) -> PoolRouter[SyncTransport]:
    """A hook's own keep-alive pools (one per origin or proxy); `ssl_context` for a private CA."""
    return PoolRouter(lambda proxy, tls: PoolTransport(proxy=proxy, ssl_context=tls), ssl_context)


def tls_context(ca_bundle: str) -> ssl.SSLContext:
    """The default trust store plus a connection's own CA: a PEM file path or the PEM text itself.

    Reads a file: call it off the event loop. Raises ValueError saying what is wrong.
    """
    context = httpx.create_ssl_context()
    text = ca_bundle.strip()
    try:
        if "-----BEGIN" in text:
            context.load_verify_locations(cadata=text)
        else:
            context.load_verify_locations(cafile=text)
    except FileNotFoundError:
        raise ValueError(f"no file at {text!r}") from None
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"it holds no PEM certificate that can be read ({exc})") from None
    return context


# -- the pools shared by every hook on one event loop ------------------------------------------------

# A triggerer may hold thousands of waiting runs, and each needs no pool of its own. Signing is per
# request, so sharing a pool never shares credentials. Requests in flight are bounded per event
# loop and origin, and so is each origin's pool: httpcore's pool does O(connections^2 + queued x
# connections) work on every request start and end, so with 256 connections a burst of 1,000
# first polls (a triggerer restart) cost ~1 s of CPU per poll; with 16 slots in front of a
# 16-connection pool it is a few ms (benchmarks/trigger_scale.py). Waiting for a slot is an O(1)
# asyncio.Semaphore wake-up instead of a pool scan. Per origin, so a vendor that stops answering
# holds up only its own polls.
MAX_CONCURRENT_REQUESTS = 16
_ASYNC_LIMITS = httpx.Limits(
    max_connections=MAX_CONCURRENT_REQUESTS,
    max_keepalive_connections=MAX_CONCURRENT_REQUESTS,
    keepalive_expiry=60,
)
_async_routers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PoolRouter[AsyncTransport]] = (
    weakref.WeakKeyDictionary()
)
_request_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _new_async_router() -> PoolRouter[AsyncTransport]:
    router: PoolRouter[AsyncTransport] = PoolRouter(
        lambda proxy, tls: AsyncPoolTransport(limits=_ASYNC_LIMITS, proxy=proxy, ssl_context=tls)
    )
    router.prepare()
    return router


# Pools of connections that bring their own CA, per event loop and CA: rare, and never shared
# with the default pools, whose TLS context does not trust that CA.
_private_ca_routers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, PoolRouter[AsyncTransport]]
] = weakref.WeakKeyDictionary()


def private_ca_async_transport(url: httpx.URL, ca_bundle: str, context: ssl.SSLContext) -> AsyncTransport:
    """The loop's pool for `url` for connections trusting `ca_bundle` (built once per loop and CA)."""
    routers = _private_ca_routers.setdefault(asyncio.get_running_loop(), {})
    router = routers.get(ca_bundle)
    if router is None:
        router = routers[ca_bundle] = PoolRouter(
            lambda proxy, tls: AsyncPoolTransport(limits=_ASYNC_LIMITS, proxy=proxy, ssl_context=tls), context
        )
    return router(url)


def shared_async_transport(url: httpx.URL) -> AsyncTransport:
    """The transport this event loop uses for `url` (shared by every hook on the loop)."""
    loop = asyncio.get_running_loop()
    router = _async_routers.get(loop)
    if router is None:
        router = _async_routers[loop] = _new_async_router()
    return router(url)


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
    """Bounds the requests in flight through `url`'s pool on this event loop (MAX_CONCURRENT_REQUESTS).

    One set per pool (an origin, or a proxy every origin behind it shares), as large as the pool:
    a request holding a slot never queues inside httpcore's pool.
    """
    loop = asyncio.get_running_loop()
    router = _async_routers.get(loop)
    key = router.pool_key(url) if router is not None else f"{url.scheme}://{url.netloc.decode('ascii')}"
    per_pool = _request_slots.setdefault(loop, {})
    slots = per_pool.get(key)
    if slots is None:
        slots = per_pool[key] = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
    return slots


# -- reading an answer -------------------------------------------------------------------------------


class BodyReader:
    """Collects a raw body, undoing its Content-Encoding, never holding more than the cap.

    Decompression is bounded too (`max_length`), so a small gzip answer that would inflate to
    gigabytes stops at the cap instead of filling memory.
    """

    def __init__(self, content_encoding: str | None, limits: ReadLimits, request: httpx.Request) -> None:
        self.max_bytes = limits.max_response_bytes
        self.vendor = limits.vendor
        self.request = request
        self._chunks: list[bytes] = []
        self._size = 0
        self._raw = 0
        names = [
            n
            for n in (n.strip().lower() for n in (content_encoding or "").split(","))
            if n not in ("", "identity")
        ]
        if len(names) > 1:  # we ask for gzip or deflate, never for both at once
            raise InvalidResponseError(
                f"the answer from {request.url.host} is encoded {content_encoding!r}; "
                "only one of gzip or deflate was asked for",
                vendor=self.vendor,
            )
        self._decoder = _decoder(names[0], request, self.vendor) if names else None
        self.decoded = self._decoder is not None

    def feed(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._raw > self.max_bytes:
            self._too_large()
        if self._decoder is not None:
            # At most one byte past the room: more output than that is an answer past the cap.
            chunk = self._decoder.feed(chunk, self.max_bytes - self._size + 1)
        self._keep(chunk)

    def finish(self) -> bytes:
        if self._decoder is not None:
            self._keep(self._decoder.finish())
        return b"".join(self._chunks)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_bytes:
            self._too_large()
        if data:
            self._chunks.append(data)

    def _too_large(self) -> None:
        raise ResponseTooLargeError(
            f"the answer from {self.request.url.host} is larger than the limit of {self.max_bytes:,} bytes "
            "(connection extra 'max_response_bytes' raises it)",
            vendor=self.vendor,
        )


class _Inflate:
    def __init__(self, wbits: int, request: httpx.Request, vendor: str, fallback_raw: bool = False) -> None:
        self._z = zlib.decompressobj(wbits)
        self._vendor = vendor
        self._fallback_raw = fallback_raw
        self._started = False
        self._request = request

    def feed(self, data: bytes, room: int) -> bytes:
        if not data:
            return b""
        try:
            out = self._z.decompress(data, max(room, 1))
        except zlib.error as exc:
            if self._fallback_raw and not self._started:
                # "deflate" is zlib-wrapped by the standard, raw by some servers: accept both.
                self._z, self._fallback_raw = zlib.decompressobj(-zlib.MAX_WBITS), False
                return self.feed(data, room)
            raise self._corrupt(exc) from exc
        self._started = True
        return out

    def finish(self) -> bytes:
        if not self._started:
            return b""  # an empty body, whatever its header says
        if not self._z.eof:
            raise self._corrupt("the compressed stream ends early")
        return self._z.flush()  # empty after the end of the stream: nothing here is uncapped

    def _corrupt(self, exc: zlib.error | str) -> InvalidResponseError:
        return InvalidResponseError(
            f"the answer from {self._request.url.host} could not be decompressed: {exc}",
            vendor=self._vendor,
        )


def _decoder(name: str, request: httpx.Request, vendor: str) -> _Inflate:
    if name in ("gzip", "x-gzip"):
        return _Inflate(zlib.MAX_WBITS | 16, request, vendor)
    if name == "deflate":
        return _Inflate(zlib.MAX_WBITS, request, vendor, fallback_raw=True)
    raise InvalidResponseError(
        f"the answer from {request.url.host} uses Content-Encoding {name!r}, which was not asked for",
        vendor=vendor,
    )


_DECODED_AWAY = (b"content-encoding", b"content-length", b"transfer-encoding")
_TRANSFER = (b"transfer-encoding",)


def _content_encoding(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key.lower() == b"content-encoding":
            return value.decode("latin-1")
    return None


def _decoded(
    status: int, headers: list[tuple[bytes, bytes]], decoded: bool, body: bytes, request: httpx.Request
) -> httpx.Response:
    # The headers that described the raw bytes no longer do (httpx would decode the body again);
    # the body is whole now, so it has a length and no transfer coding.
    away = _DECODED_AWAY if decoded else _TRANSFER
    headers = [(k, v) for k, v in headers if k.lower() not in away]
    return httpx.Response(status, headers=headers, content=body, request=request)


def _bounded(content: bytes, limits: ReadLimits, request: httpx.Request) -> bytes:
    reader = BodyReader(None, limits, request)
    reader.feed(content)
    return reader.finish()


def send(
    transport: SyncTransport, request: httpx.Request, limits: ReadLimits = ReadLimits()
) -> httpx.Response:
    """One request through a transport: the whole answer read within the limits, connection released."""
    with attempt_deadline(limits.attempt_seconds):
        if isinstance(transport, PoolTransport):
            return transport.read(request, limits)
        response = transport.handle_request(request)  # any other httpx transport (a mock one)
        try:
            body, decoded = _read_all(response, response.iter_raw(), limits, request)
        finally:
            response.close()
    return _decoded(response.status_code, response.headers.raw, decoded, body, request)


async def asend(
    transport: AsyncTransport, request: httpx.Request, limits: ReadLimits = ReadLimits()
) -> httpx.Response:
    with attempt_deadline(limits.attempt_seconds):
        return await _asend(transport, request, limits)


async def _asend(transport: AsyncTransport, request: httpx.Request, limits: ReadLimits) -> httpx.Response:
    if isinstance(transport, AsyncPoolTransport):
        return await transport.read(request, limits)
    response = await transport.handle_async_request(request)  # any other httpx transport (a mock one)
    try:
        if response.is_stream_consumed:
            body, decoded = _read_all(response, (), limits, request)
        else:
            reader = BodyReader(response.headers.get("content-encoding"), limits, request)
            async for chunk in response.aiter_raw():
                reader.feed(chunk)
            body, decoded = reader.finish(), reader.decoded
    finally:
        await response.aclose()
    return _decoded(response.status_code, response.headers.raw, decoded, body, request)


def _read_all(
    response: httpx.Response, raw: Iterable[bytes], limits: ReadLimits, request: httpx.Request
) -> tuple[bytes, bool]:
    if response.is_stream_consumed:  # built in memory (a mock transport): httpx already decoded it
        return _bounded(response.content, limits, request), True
    reader = BodyReader(response.headers.get("content-encoding"), limits, request)
    for chunk in raw:
        reader.feed(chunk)
    return reader.finish(), reader.decoded


async def asend_in_slot(
    transport: AsyncTransport, request: httpx.Request, limits: ReadLimits = ReadLimits()
) -> httpx.Response:
    """`asend`, after waiting for one of the request slots of `request`'s origin on this loop.

    The wait for a slot counts against the attempt's deadline too: a poll never outlives its time.
    """
    with attempt_deadline(limits.attempt_seconds):
        slots = shared_request_slots(request.url)
        try:
            async with asyncio.timeout(time_left()):
                await slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(
                "no request slot came free before the attempt's deadline", request=request
            ) from None
        try:
            return await _asend(transport, request, limits)
        finally:
            slots.release()


# -- small helpers the protocols share ----------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def parse_url(url: str) -> httpx.URL:
    """Parsed once per distinct URL: a sensor polls the same URL for hours (URLs carry no secret)."""
    return httpx.URL(url)


def sign(auth: httpx.Auth, request: httpx.Request) -> httpx.Request:
    """Run a one-step auth flow (all three signers are one step: sign, then send)."""
    flow = auth.sync_auth_flow(request)
    try:
        return next(flow)
    finally:
        flow.close()
