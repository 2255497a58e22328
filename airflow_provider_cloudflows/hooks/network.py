"""httpcore network backends for the hooks' connection pools.

Two things httpx's defaults cost a poll that these backends do not:

- httpcore writes a request's head and its body separately: two send system calls for every
  POST poll (WeData, ICE, DataWorks' task pages). Both backends hold writes until the answer is
  first awaited and send them together. A request is always followed by reading its answer.
- httpx's async transport talks to sockets through anyio, which on asyncio adds a cancel scope to
  every read and write and rebuilds a dict of socket attributes each time the pool asks whether
  an idle connection is still open (once per connection per request). The triggerer always runs
  asyncio, so its pool uses asyncio streams directly (benchmarks/trigger_scale.py: a restart of
  1,000 triggers at once went from 1,227 to 715 µs of CPU per poll).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

# What httpx.Client uses when given no limits.
HTTPX_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


@contextlib.contextmanager
def _mapped(timeout_error: type[Exception], os_error: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise timeout_error(str(exc) or "timed out") from exc
    except (OSError, asyncio.IncompleteReadError) as exc:
        raise os_error(str(exc) or type(exc).__name__) from exc


class AsyncioStream(httpcore.AsyncNetworkStream):
    """An asyncio connection whose writes go out together when the answer is first awaited."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: list[bytes] = []
        self._write_timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            await self._flush()
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._pending.append(buffer)
            self._write_timeout = timeout

    async def _flush(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            self._writer.write(data)
            async with asyncio.timeout(self._write_timeout):
                await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncioStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of idle connections only: any data or EOF means the server has closed it.
            # The stream reads eagerly, so this needs no system call.
            return self._reader.at_eof() or self._writer.is_closing() or bool(self._reader._buffer)
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        return self._writer.get_extra_info(name)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple[int, int, int] | tuple[int, int, bytes | None, int]] | None = None,
    ) -> AsyncioStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        sock: socket.socket | None = writer.get_extra_info("socket")
        for option in socket_options or ():
            if sock is not None:
                sock.setsockopt(*option)  # type: ignore[arg-type]
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[tuple[int, int, int] | tuple[int, int, bytes | None, int]] | None = None,
    ) -> AsyncioStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class AsyncioHTTPTransport(httpx.AsyncHTTPTransport):
    """httpx's async transport with its direct connection pool on `AsyncioBackend`.

    Proxied pools keep httpx's own backend: proxies need tunnelling that only it implements.
    """

    def __init__(
        self, *, limits: httpx.Limits, proxy: str | None = None, verify: ssl.SSLContext | bool = True
    ) -> None:
        super().__init__(limits=limits, proxy=proxy, verify=verify)
        if proxy is None:
            self._pool = httpcore.AsyncConnectionPool(
                network_backend=AsyncioBackend(), **_pool_options(self._pool, limits)
            )


def _pool_options(pool: Any, limits: httpx.Limits) -> dict[str, Any]:
    """What httpx configured its own direct pool with, to build ours the same way."""
    return {
        "ssl_context": pool._ssl_context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


class CoalescingStream(httpcore.NetworkStream):
    """httpcore's own socket stream, with writes held until the answer is first read."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._pending: list[bytes] = []
        self._write_timeout: float | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._inner.write(data, self._write_timeout)
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._pending.append(buffer)
            self._write_timeout = timeout

    def close(self) -> None:
        self._pending.clear()
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> CoalescingStream:
        return CoalescingStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class CoalescingBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple[int, int, int] | tuple[int, int, bytes | None, int]] | None = None,
    ) -> CoalescingStream:
        return CoalescingStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[tuple[int, int, int] | tuple[int, int, bytes | None, int]] | None = None,
    ) -> CoalescingStream:
        return CoalescingStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class CoalescingHTTPTransport(httpx.HTTPTransport):
    """httpx's transport with its direct connection pool on `CoalescingBackend`."""

    def __init__(
        self,
        *,
        limits: httpx.Limits = HTTPX_DEFAULT_LIMITS,
        proxy: str | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__(limits=limits, proxy=proxy, verify=verify)
        if proxy is None:
            self._pool = httpcore.ConnectionPool(
                network_backend=CoalescingBackend(), **_pool_options(self._pool, limits)
            )
