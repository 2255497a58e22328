"""httpcore network backends for the hooks' pools, built on httpcore's public backend interface.

The sync one wraps httpcore's `SyncBackend`; the async one talks to asyncio's public transports
(see `AsyncioStream`). Both add two things:

- One deadline per attempt. httpcore's timeouts bound each read, write or connect on its own, so
  a server that trickles a byte a second never trips them. `attempt_deadline()` sets an absolute
  deadline for everything the current thread or task sends; every socket operation is given at
  most the time left, and one that starts after it fails at once with the matching timeout.
  Scopes nest and the nearest deadline wins, so a trigger's own deadline bounds its polls.
- Writes coalesced: httpcore writes a request's head and its body separately, two send system
  calls for every POST poll. The streams hold writes until the answer is first read and send
  them together (a request is always followed by reading its answer).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore

from airflow_provider_cloudflows.hooks.deadline import bounded, current_deadline

SocketOptions = Iterable[tuple[int, int, int] | tuple[int, int, bytes | None, int]] | None


class _Guard:
    """Turns what a socket operation raises into httpcore's error for it; one the attempt's
    deadline caused says so, instead of a bare "timed out".

    A class rather than a generator context manager: it wraps every socket operation.
    """

    __slots__ = ("os_error", "timeout_error")

    def __init__(self, timeout_error: type[Exception], os_error: type[Exception] | None = None) -> None:
        self.timeout_error = timeout_error
        self.os_error = os_error  # None: the inner backend already raises httpcore's errors

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if kind is None:
            return False
        if issubclass(kind, httpcore.TimeoutException | TimeoutError):
            current = current_deadline()
            if current is not None and time.monotonic() >= current[0] - 0.005:
                raise self.timeout_error(f"the attempt's deadline of {current[1]:g} s passed") from exc
            if issubclass(kind, TimeoutError):
                raise self.timeout_error(str(exc) or "timed out") from exc
        elif self.os_error is not None and issubclass(kind, OSError):
            raise self.os_error(str(exc) or kind.__name__) from exc
        return False


# Sync streams: httpcore's SyncBackend raises httpcore's errors itself.
_READ = _Guard(httpcore.ReadTimeout)
_WRITE = _Guard(httpcore.WriteTimeout)
_CONNECT = _Guard(httpcore.ConnectTimeout)
# Async streams on asyncio: builtin TimeoutError and OSError become httpcore's.
_AREAD = _Guard(httpcore.ReadTimeout, httpcore.ReadError)
_AWRITE = _Guard(httpcore.WriteTimeout, httpcore.WriteError)
_ACONNECT = _Guard(httpcore.ConnectTimeout, httpcore.ConnectError)


class CoalescingStream(httpcore.NetworkStream):
    """A sync stream whose writes go out together when the answer is first read."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._pending: list[bytes] = []
        self._write_timeout: float | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            with _WRITE:
                self._inner.write(data, bounded(self._write_timeout, httpcore.WriteTimeout))
        with _READ:
            return self._inner.read(max_bytes, bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._pending.append(buffer)
            self._write_timeout = timeout

    def close(self) -> None:
        self._pending.clear()
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> CoalescingStream:
        with _CONNECT:
            timeout = bounded(timeout, httpcore.ConnectTimeout)
            return CoalescingStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class CoalescingBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> CoalescingStream:
        with _CONNECT:
            timeout = bounded(timeout, httpcore.ConnectTimeout)
            return CoalescingStream(
                self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> CoalescingStream:
        timeout = bounded(timeout, httpcore.ConnectTimeout)
        return CoalescingStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Receiver(asyncio.Protocol):
    """Buffers what the socket receives and whether it has closed, for `AsyncioStream`.

    Knowing the connection's state here is what makes keep-alive safe: httpcore asks an idle
    connection whether it is readable before reusing it, and on asyncio the event loop has
    already drained the socket, so asking the socket itself (as httpcore's AnyIO backend does)
    misses a server's close of an idle TLS connection and the next request fails.
    """

    # Stop reading from the socket past this much unread data (httpcore reads 64 KiB at a time).
    HIGH_WATER = 256 * 1024

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.error: Exception | None = None
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > self.HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake()
        self._wake_drain()

    def pause_writing(self) -> None:
        self._drain_waiter = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake_drain()

    def _wake(self) -> None:
        if self._data_waiter is not None and not self._data_waiter.done():
            self._data_waiter.set_result(None)

    def _wake_drain(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self, max_bytes: int) -> bytes:
        while not self.buffer and not self.closed:
            self._data_waiter = asyncio.get_running_loop().create_future()
            await self._data_waiter
        if not self.buffer:
            if self.error is not None:
                raise OSError(str(self.error) or type(self.error).__name__)
            return b""  # the server closed the connection
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._paused and len(self.buffer) <= self.HIGH_WATER // 2 and self.transport is not None:
            self.transport.resume_reading()
            self._paused = False
        return data

    async def drain(self) -> None:
        if self._drain_waiter is not None:
            try:
                await self._drain_waiter
            finally:
                if self._drain_waiter is not None and self._drain_waiter.done():
                    self._drain_waiter = None  # a cancelled wait must not be awaited again
        if self.closed:
            raise OSError("the connection closed while the request was being sent")


class AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection on asyncio's public transport and protocol API, writes held until the answer is read.

    The triggerer always runs asyncio; talking to its transports directly skips the cancel scope
    AnyIO wraps around every read and write (benchmarks/trigger_scale.py).
    """

    def __init__(self, receiver: _Receiver) -> None:
        self._receiver = receiver
        self._pending: list[bytes] = []
        self._write_timeout: float | None = None

    @property
    def _transport(self) -> asyncio.Transport:
        transport = self._receiver.transport
        assert transport is not None  # set by connection_made before the stream exists
        return transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            with _AWRITE:
                async with asyncio.timeout(bounded(self._write_timeout, httpcore.WriteTimeout)):
                    self._transport.write(data)
                    await self._receiver.drain()
        with _AREAD:
            async with asyncio.timeout(bounded(timeout, httpcore.ReadTimeout)):
                return await self._receiver.receive(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._pending.append(buffer)
            self._write_timeout = timeout

    async def aclose(self) -> None:
        self._pending.clear()
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        with _ACONNECT:
            async with asyncio.timeout(bounded(timeout, httpcore.ConnectTimeout)):
                tls = await loop.start_tls(
                    self._transport, self._receiver, ssl_context, server_hostname=server_hostname
                )
        if tls is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._receiver.transport = tls  # type: ignore[assignment]
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of idle connections only: any data or a close means the server is done with it.
            return bool(self._receiver.buffer) or self._receiver.closed or self._transport.is_closing()
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        return self._transport.get_extra_info(name)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        with _ACONNECT:
            async with asyncio.timeout(bounded(timeout, httpcore.ConnectTimeout)):
                transport, receiver = await loop.create_connection(
                    _Receiver, host, port, local_addr=(local_address, 0) if local_address else None
                )
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            if sock is not None:
                sock.setsockopt(*option)
        return AsyncioStream(receiver)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        with _ACONNECT:
            async with asyncio.timeout(bounded(timeout, httpcore.ConnectTimeout)):
                _, receiver = await loop.create_unix_connection(_Receiver, path)
        return AsyncioStream(receiver)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
