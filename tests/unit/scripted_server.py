"""A small scripted HTTP server on 127.0.0.1, bounded in time and bytes.

It counts every connection (a request that should never leave the machine must not even
connect), records each request's method, target and headers, and answers what `answer`
returns for it: `(status, body)` or `(status, body, headers)`. Bodies are capped at 8 MiB, a
connection lives at most `MAX_SECONDS`, and one connection serves one request.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_SECONDS = 10.0
MAX_HEAD = 65536
MAX_BODY = 8 * 1024 * 1024


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Seen], tuple[Any, ...]]


class _Handler(socketserver.BaseRequestHandler):
    server: ScriptedServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(MAX_SECONDS)
        deadline = time.monotonic() + MAX_SECONDS
        with self.server.lock:
            self.server.connections += 1
        try:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < MAX_HEAD and time.monotonic() < deadline:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = min(int(headers.get("content-length") or 0), MAX_BODY)
            while len(body) < length and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
            seen = Seen(method, target, headers, body[:length])
            with self.server.lock:
                self.server.seen.append(seen)
            status, payload, *rest = self.server.answer(seen)
            extra = rest[0] if rest else {}
            payload = payload[:MAX_BODY]
            head_out = f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n"
            head_out += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            sock.sendall(head_out.encode() + b"\r\n" + payload)
        except OSError:
            pass


class ScriptedServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.connections = 0
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ScriptedServer:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)


def scripted_server(answer: Answer) -> ScriptedServer:
    """A server to use as a context manager: it serves from `with` until the block ends."""
    return ScriptedServer(answer)
