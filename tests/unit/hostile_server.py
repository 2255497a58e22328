"""A small hostile HTTP server on 127.0.0.1 for the transport's limits, bounded in time and bytes.

Each connection reads one request head and answers in one of a few bad ways:
- `oversized`: a plain 200 whose body is larger than any cap under test (32 MiB, streamed).
- `gzip_bomb`: a 200 with `Content-Encoding: gzip` whose ~100 KiB body inflates to 100 MiB.
- `trickle`: a 200 that declares 1,000 bytes and sends one every `trickle_interval` seconds.
- `ok`: a small JSON answer, to show the server works when it behaves.
A request that is not HTTP (a TLS handshake) gets a plain 400, as from any HTTP server. Every
handler stops after `max_seconds`, and no handler sends more than 64 MiB.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

MAX_SECONDS = 10.0
MAX_BYTES = 64 * 1024 * 1024
OVERSIZED = 32 * 1024 * 1024


@cache
def gzip_bomb() -> bytes:
    """~100 KiB of gzip that inflates to 100 MiB of zeros (built without holding the 100 MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(100)) + packer.flush()


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(MAX_SECONDS)
        deadline = time.monotonic() + MAX_SECONDS
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                head += chunk
                if not head[:1].isalpha():  # not HTTP (a TLS handshake, say): what HTTP servers do
                    sock.sendall(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    return
            self.server.requests += 1
            getattr(self, f"_{self.server.mode}")(sock, deadline)
        except OSError:
            pass  # the client gave up: that is what most of these tests expect

    def _send_all(self, sock: socket.socket, data: bytes, deadline: float) -> None:
        sent = 0
        while sent < min(len(data), MAX_BYTES) and time.monotonic() < deadline:
            sent += sock.send(data[sent : sent + 65536])

    def _send_repeated(self, sock: socket.socket, chunk: bytes, total: int, deadline: float) -> None:
        sent = 0
        while sent < min(total, MAX_BYTES) and time.monotonic() < deadline:
            sock.sendall(chunk)
            sent += len(chunk)

    def _ok(self, sock: socket.socket, deadline: float) -> None:
        body = b'{"Response": {"RequestId": "r-1"}}'
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )

    def _oversized(self, sock: socket.socket, deadline: float) -> None:
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % OVERSIZED
        )
        self._send_repeated(sock, b"[" * 65536, OVERSIZED, deadline)

    def _gzip_bomb(self, sock: socket.socket, deadline: float) -> None:
        body = gzip_bomb()
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        self._send_all(sock, body, deadline)

    def _trickle(self, sock: socket.socket, deadline: float) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            if time.monotonic() >= deadline:
                return
            sock.sendall(b" ")
            time.sleep(self.server.trickle_interval)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str, trickle_interval: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.trickle_interval = trickle_interval
        self.requests = 0


@contextmanager
def hostile_server(mode: str, *, trickle_interval: float = 0.1) -> Iterator[_Server]:
    """A running server in `mode`; its URL is `url(server)`."""
    server = _Server(mode, trickle_interval)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def url(server: _Server) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"
