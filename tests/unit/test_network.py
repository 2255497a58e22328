"""The hooks' pools on httpcore's public API: TLS, keep-alive, server closes, error mapping, coalescing."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airflow_provider_cloudflows.hooks.network import AsyncioStream, CoalescingStream, _Receiver
from airflow_provider_cloudflows.hooks.transport import AsyncPoolTransport, PoolTransport, asend

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=60)


def _contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


class TinyServer:
    """HTTP/1.1 on 127.0.0.1 that answers `ok`, counts connections, and can misbehave on request."""

    def __init__(self) -> None:
        self.connections = 0
        self.close_after_answer = False
        self.stall = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                if self.stall:
                    await asyncio.sleep(5)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest_asyncio.fixture
async def tiny(tmp_path: Path) -> AsyncIterator[tuple[TinyServer, str, ssl.SSLContext]]:
    server_ctx, client_ctx = _contexts(tmp_path)
    tiny = TinyServer()
    server = await asyncio.start_server(tiny.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    yield tiny, f"https://127.0.0.1:{port}/", client_ctx
    server.close()


def _request(url: str, timeout: float = 5.0) -> httpx.Request:
    return httpx.Request("GET", url, extensions={"timeout": httpx.Timeout(timeout).as_dict()})


@pytest.mark.asyncio
async def test_tls_requests_share_one_keep_alive_connection(tiny) -> None:
    server, url, client_ctx = tiny
    transport = AsyncPoolTransport(limits=LIMITS, ssl_context=client_ctx)
    for _ in range(3):
        response = await asend(transport, _request(url))
        assert (response.status_code, response.content) == (200, b"ok")
    assert server.connections == 1
    await transport.aclose()


@pytest.mark.asyncio
async def test_a_connection_the_server_closed_is_not_reused(tiny) -> None:
    server, url, client_ctx = tiny
    server.close_after_answer = True
    transport = AsyncPoolTransport(limits=LIMITS, ssl_context=client_ctx)
    for _ in range(3):
        assert (await asend(transport, _request(url))).content == b"ok"
        await asyncio.sleep(0.05)  # the server's close reaches the idle connection
    assert server.connections == 3
    await transport.aclose()


@pytest.mark.asyncio
async def test_an_untrusted_certificate_is_a_connect_error(tiny) -> None:
    _, url, _ = tiny
    transport = AsyncPoolTransport(limits=LIMITS)  # the system's CAs: our self-signed cert is unknown
    with pytest.raises(httpx.ConnectError):
        await asend(transport, _request(url))
    await transport.aclose()


@pytest.mark.asyncio
async def test_a_slow_answer_is_a_read_timeout(tiny) -> None:
    server, url, client_ctx = tiny
    server.stall = True
    transport = AsyncPoolTransport(limits=LIMITS, ssl_context=client_ctx)
    with pytest.raises(httpx.ReadTimeout):
        await asend(transport, _request(url, timeout=0.2))
    await transport.aclose()


@pytest.mark.asyncio
async def test_nothing_listening_is_a_connect_error() -> None:
    with socket_bound() as port:  # a port that is certainly closed
        transport = AsyncPoolTransport(limits=LIMITS)
        with pytest.raises(httpx.ConnectError):
            await asend(transport, _request(f"http://127.0.0.1:{port}/"))
        await transport.aclose()


def socket_bound():
    import contextlib
    import socket

    @contextlib.contextmanager
    def bound():
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        try:
            yield sock.getsockname()[1]
        finally:
            sock.close()

    return bound()


@pytest.mark.asyncio
async def test_a_request_head_and_body_leave_in_one_write() -> None:
    class RecordingTransport(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[bytes] = []

        def write(self, data: bytes) -> None:  # type: ignore[override]
            self.writes.append(bytes(data))

    receiver, transport = _Receiver(), RecordingTransport()
    receiver.connection_made(transport)
    receiver.data_received(b"HTTP/1.1 200 OK\r\n")
    stream = AsyncioStream(receiver)
    await stream.write(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n", timeout=1)
    await stream.write(b"{}", timeout=1)
    assert transport.writes == []  # nothing is sent until the answer is awaited
    assert await stream.read(100, timeout=1) == b"HTTP/1.1 200 OK\r\n"
    assert transport.writes == [b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"]


def test_the_sync_stream_also_sends_head_and_body_in_one_write() -> None:
    class Inner:
        def __init__(self) -> None:
            self.writes: list[tuple[bytes, float | None]] = []

        def write(self, data: bytes, timeout: float | None = None) -> None:
            self.writes.append((data, timeout))

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return b"HTTP/1.1 200 OK\r\n"

    inner = Inner()
    stream = CoalescingStream(inner)  # type: ignore[arg-type]
    stream.write(b"POST / HTTP/1.1\r\n\r\n", timeout=3)
    stream.write(b"{}", timeout=3)
    assert inner.writes == []
    assert stream.read(100) == b"HTTP/1.1 200 OK\r\n"
    assert inner.writes == [(b"POST / HTTP/1.1\r\n\r\n{}", 3)]
    stream.read(100)
    assert len(inner.writes) == 1  # nothing more to send


def test_hooks_pools_use_these_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_cloudflows.hooks.transport import shared_async_transport
    from airflow_provider_cloudflows.hooks.wedata import WeDataHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        '{"conn_type": "tencentcloud", "login": "id", "password": "key", "extra": {"region": "ap-guangzhou"}}',
    )

    url = httpx.URL("https://wedata.tencentcloudapi.com/")
    assert type(WeDataHook().transport(url)) is PoolTransport

    async def shared() -> object:
        return shared_async_transport(url)

    assert type(asyncio.run(shared())) is AsyncPoolTransport


@pytest.mark.asyncio
async def test_sync_pool_keeps_one_connection_too(tiny) -> None:
    server, url, client_ctx = tiny
    transport = PoolTransport(limits=LIMITS, ssl_context=client_ctx)
    from airflow_provider_cloudflows.hooks.transport import send

    for _ in range(3):
        response = await asyncio.to_thread(send, transport, _request(url))
        assert (response.status_code, response.content) == (200, b"ok")
    assert server.connections == 1
    transport.close()


class AuthProxy:
    """An HTTP proxy on 127.0.0.1 that answers itself: 407 without the right login, 200 with it."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            writer.close()
            return
        self.heads.append(head)
        # "user:secret" in Basic form.
        if b"proxy-authorization: basic dxnlcjpzzwnyzxq=" in head.lower():
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        else:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.mark.asyncio
async def test_a_proxy_login_in_the_url_is_sent_sync_and_async() -> None:
    from airflow_provider_cloudflows.hooks.transport import send

    proxy = AuthProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with_login, without = f"http://user:secret@127.0.0.1:{port}", f"http://127.0.0.1:{port}"
        target = "http://vendor.example/api"
        sync_ok = await asyncio.to_thread(send, PoolTransport(proxy=with_login), _request(target))
        async_ok = await asend(AsyncPoolTransport(proxy=with_login), _request(target))
        refused = await asend(AsyncPoolTransport(proxy=without), _request(target))
    finally:
        server.close()
    assert (sync_ok.status_code, async_ok.status_code, refused.status_code) == (200, 200, 407)
    assert proxy.heads[0].startswith(b"GET http://vendor.example/api HTTP/1.1")  # forwarded, absolute


def test_a_receiver_stops_reading_when_full_and_starts_again_when_drained() -> None:
    class FlowTransport(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def pause_reading(self) -> None:
            self.calls.append("pause")

        def resume_reading(self) -> None:
            self.calls.append("resume")

    async def go() -> list[str]:
        receiver, transport = _Receiver(), FlowTransport()
        receiver.connection_made(transport)
        receiver.data_received(b"x" * (_Receiver.HIGH_WATER + 1))
        assert transport.calls == ["pause"]
        while len(receiver.buffer) > _Receiver.HIGH_WATER // 2:
            await receiver.receive(65536)
        return transport.calls

    assert asyncio.run(go()) == ["pause", "resume"]


def test_a_connection_lost_mid_read_or_mid_send_is_an_error_not_a_hang() -> None:
    async def go() -> tuple[BaseException | None, BaseException | None]:
        receiver = _Receiver()
        receiver.connection_made(asyncio.Transport())
        reading = asyncio.ensure_future(receiver.receive(10))
        await asyncio.sleep(0)
        receiver.pause_writing()  # the kernel buffer is full: a send waits for drain
        sending = asyncio.ensure_future(receiver.drain())
        await asyncio.sleep(0)
        receiver.connection_lost(ConnectionResetError("reset by peer"))
        results = await asyncio.gather(reading, sending, return_exceptions=True)
        return results[0], results[1]  # type: ignore[return-value]

    read_error, send_error = asyncio.run(go())
    assert isinstance(read_error, OSError) and "reset by peer" in str(read_error)
    assert isinstance(send_error, OSError) and "closed" in str(send_error)


def test_a_cancelled_drain_does_not_poison_the_next_one() -> None:
    async def go() -> None:
        receiver = _Receiver()
        receiver.connection_made(asyncio.Transport())
        receiver.pause_writing()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await receiver.drain()
        await asyncio.wait_for(receiver.drain(), 1)  # no stale cancelled waiter is awaited again

    asyncio.run(go())
