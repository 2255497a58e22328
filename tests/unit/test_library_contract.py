"""What the package needs of the libraries it builds on, checked against the installed versions.

Users install us next to Airflow's constraints and other providers, which choose the httpx and
httpcore versions. If one of those versions drops or changes what we use, these tests fail
loudly here instead of every deferred sensor failing in the middle of a request.
"""

from __future__ import annotations

import ast
import asyncio
import gzip
import inspect
import socket
import threading
from pathlib import Path

import httpcore
import httpx
import pytest

import airflow_provider_cloudflows
from airflow_provider_cloudflows.hooks import transport
from airflow_provider_cloudflows.hooks.transport import AsyncPoolTransport, PoolTransport, asend, send

PACKAGE = Path(airflow_provider_cloudflows.__file__).parent

HTTPCORE_NAMES = (
    "ConnectionPool",
    "AsyncConnectionPool",
    "Proxy",
    "Request",
    "URL",
    "SyncBackend",
    "NetworkBackend",
    "AsyncNetworkBackend",
    "NetworkStream",
    "AsyncNetworkStream",
)
POOL_KEYWORDS = (
    "ssl_context",
    "proxy",
    "max_connections",
    "max_keepalive_connections",
    "keepalive_expiry",
    "network_backend",
)


@pytest.mark.parametrize("name", HTTPCORE_NAMES)
def test_httpcore_still_exports(name: str) -> None:
    assert name in httpcore.__all__, f"httpcore {httpcore.__version__} no longer exports {name}"


@pytest.mark.parametrize("pool", [httpcore.ConnectionPool, httpcore.AsyncConnectionPool])
def test_httpcore_pools_take_our_keywords(pool: type) -> None:
    parameters = inspect.signature(pool).parameters
    missing = [k for k in POOL_KEYWORDS if k not in parameters]
    assert not missing, f"httpcore {httpcore.__version__} {pool.__name__} lacks {missing}"


def test_a_response_says_whether_its_body_was_already_read() -> None:
    assert httpx.Response(200, content=b"x").is_stream_consumed  # built in memory: read
    assert not httpx.Response(200, stream=httpx.ByteStream(b"x")).is_stream_consumed


@pytest.mark.parametrize(("core", "mapped"), transport._ERRORS)
def test_each_httpcore_error_comes_out_as_its_httpx_twin(
    core: type[Exception], mapped: type[Exception]
) -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/")
    with pytest.raises(httpx.TransportError) as caught, transport._as_httpx_errors(request):
        raise core("boom")
    assert type(caught.value) is mapped and caught.value.request is request


@pytest.mark.parametrize(
    ("owner", "names"),
    [
        (
            httpx,
            (
                "BaseTransport",
                "AsyncBaseTransport",
                "SyncByteStream",
                "AsyncByteStream",
                "create_ssl_context",
            ),
        ),
        (httpx.URL, ("raw_scheme", "raw_host", "raw_path", "port")),
        (httpx.Response, ("iter_raw", "aiter_raw", "close", "aclose")),
        (httpx.Headers, ("raw", "multi_items")),
        (httpx.Auth, ("sync_auth_flow",)),
    ],
)
def test_httpx_still_has(owner: object, names: tuple[str, ...]) -> None:
    missing = [n for n in names if not hasattr(owner, n)]
    assert not missing, f"httpx {httpx.__version__} lacks {missing} on {owner!r}"


class _GzipServer:
    """Answers every request with a gzip-encoded `{"ok": true}` and keeps the connection open."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        body = gzip.compress(b'{"ok": true}')
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            data = b""
            for _ in range(4):  # at most four requests, then stop
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        (
                            h.split(b":")[1]
                            for h in head.split(b"\r\n")
                            if h.lower().startswith(b"content-length")
                        ),
                        b"0",
                    )
                )
                while len(data) < length:
                    data += conn.recv(65536)
                self.received.append(head + b"\r\n\r\n" + data[:length])
                data = data[length:]
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
                    + body
                )

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


def _post(port: int) -> httpx.Request:
    return httpx.Request(
        "POST", f"http://127.0.0.1:{port}/", content=b'{"a": 1}', headers={"Accept-Encoding": "gzip"}
    )


def test_a_sync_round_trip_through_the_installed_libraries() -> None:
    server = _GzipServer()
    pool = PoolTransport()
    try:
        for _ in range(2):
            response = send(pool, _post(server.port))
            assert (response.status_code, response.json()) == (200, {"ok": True})
            assert "content-encoding" not in response.headers  # decoded here, once
    finally:
        pool.close()
        server.close()
    assert len(server.received) == 2 and all(r.endswith(b'{"a": 1}') for r in server.received)


def test_an_async_round_trip_through_the_installed_libraries() -> None:
    server = _GzipServer()

    async def go() -> list[object]:
        pool = AsyncPoolTransport()
        try:
            return [(await asend(pool, _post(server.port))).json() for _ in range(2)]
        finally:
            await pool.aclose()

    try:
        assert asyncio.run(go()) == [{"ok": True}, {"ok": True}]
    finally:
        server.close()
    assert len(server.received) == 2  # one keep-alive connection served both


def _own_modules(tree: ast.Module) -> set[str]:
    """Names a file binds to modules or objects imported from this package."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow_provider_cloudflows"):
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                (a.asname or a.name).split(".")[0]
                for a in node.names
                if a.name.startswith("airflow_provider_cloudflows")
            )
    return names


# Private names of our own objects reached through something other than self/cls or an import
# of ours: each one checked by hand to belong to this package.
OWN_PRIVATE_ATTRIBUTES = {
    "_resolved_hook_class",  # module_loading.LazyHookClass caches on the class it serves
    "_generation",  # emulator/requestlog.py: its own records
    "_step",  # emulator/store.py: its own scripted runs
}


def test_the_package_uses_no_private_name_of_another_library() -> None:
    found: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(PACKAGE.parent)
        classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
        ours = _own_modules(tree) | classes | {"self", "cls"}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and not node.module.startswith("airflow_provider_cloudflows")
            ):
                if node.module == "__future__":
                    continue
                parts = node.module.split(".") + [a.name for a in node.names]
                found += [
                    f"{where}:{node.lineno} from {node.module} import {a.name}"
                    for a in node.names
                    if any(p.startswith("_") for p in parts)
                ]
            elif isinstance(node, ast.Import):
                found += [
                    f"{where}:{node.lineno} import {a.name}"
                    for a in node.names
                    if any(p.startswith("_") for p in a.name.split("."))
                ]
            elif (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not (node.attr.startswith("__") and node.attr.endswith("__"))
                and not (isinstance(node.value, ast.Name) and node.value.id in ours)
                and not (isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "super")
                and node.attr not in OWN_PRIVATE_ATTRIBUTES
            ):
                found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
    assert not found, "private names reached on objects that are not ours:\n" + "\n".join(found)
