"""What keeps the emulator a local test server: where it may listen, who may drive it, how much it reads.

- `check_bind_host`: it listens on a loopback address unless told otherwise (`--allow-non-loopback`).
- `BodyLimit`: no request body (vendor or control) beyond `MAX_REQUEST_BODY_BYTES`; HTTP 413 instead.
- `ControlGuard`: the control API under /_emulator/ answers only requests addressed to a loopback
  name or an IP address (`Host`), from no other web origin (`Origin`), with JSON bodies on writes.
  A browser page elsewhere could otherwise add credentials or runs to it, directly or through DNS
  rebinding (a name of the attacker's that resolves to 127.0.0.1 keeps its own `Host`).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_REQUEST_BODY_BYTES = 1024 * 1024
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NonLoopbackBindError(ValueError):
    """The emulator was asked to listen beyond this machine without `allow_non_loopback`."""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_loopback_name(host: str) -> bool:
    """A loopback IP literal, `localhost` or a name under `.localhost` (no DNS lookup)."""
    name = host.strip("[]").rstrip(".").lower()
    address = _ip(name)
    if address is not None:
        return address.is_loopback
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def resolves_to_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address."""
    if is_loopback_name(host):
        return True
    if _ip(host) is not None:
        return False
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {_ip(str(info[4][0])) for info in infos}
    return bool(addresses) and all(a is not None and a.is_loopback for a in addresses)


def check_bind_host(host: str, *, allow_non_loopback: bool = False) -> None:
    """Refuse to listen beyond loopback (`0.0.0.0`, `::`, a LAN address, ...) unless allowed."""
    if allow_non_loopback or resolves_to_loopback(host):
        return
    raise NonLoopbackBindError(
        f"the emulator listens on loopback addresses only, not {host!r}: it is a test server that "
        "accepts public demo credentials and lets anyone who reaches it script runs. Pass "
        "--allow-non-loopback (or allow_non_loopback=True) to listen there anyway."
    )


async def _reply(send: Send, status: int, error: str, detail: str) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class BodyLimit:
    """Reads each request body whole, up to `max_bytes`, before the app sees it; 413 beyond.

    A declared `Content-Length` over the limit is refused before any of the body is read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        disconnected = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed and not disconnected:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _reply(
            send,
            413,
            "request body too large",
            f"the emulator reads at most {self.max_bytes} bytes of a request body",
        )


class ControlGuard:
    """The control API's gate: loopback or IP `Host`, no foreign `Origin`, JSON bodies on writes.

    `allowed_hosts` adds host names (e.g. a compose service name) to the loopback names and IP
    literals always accepted.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = frozenset(h.lower().rstrip(".") for h in allowed_hosts)

    def _host_allowed(self, host: str) -> bool:
        name = host.strip().lower()
        if name.startswith("["):
            name = name[1 : name.find("]")] if "]" in name else name
        else:
            name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
        name = name.rstrip(".")
        return bool(name) and (is_loopback_name(name) or _ip(name) is not None or name in self.allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        if not self._host_allowed(host):
            await _reply(
                send,
                403,
                "forbidden host",
                f"the control API answers requests to a loopback name or an IP address, not Host {host!r}",
            )
            return
        origin = _header(scope, b"origin")
        if origin is not None and origin.rstrip("/").lower() not in self._own_origins(scope, host):
            await _reply(
                send, 403, "cross-origin request", f"the control API refuses requests from {origin!r}"
            )
            return
        if scope["method"] in WRITE_METHODS:
            content_type = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
            declared = _header(scope, b"content-length")
            has_body = (declared is not None and declared.strip() not in ("", "0")) or (
                _header(scope, b"transfer-encoding") is not None
            )
            if (content_type or has_body) and content_type != "application/json":
                await _reply(
                    send,
                    415,
                    "unsupported media type",
                    "control API writes take a JSON body (Content-Type: application/json)",
                )
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _own_origins(scope: Scope, host: str) -> set[str]:
        scheme = "https" if scope.get("scheme") == "https" else "http"
        own = {f"{scheme}://{host.lower()}"}
        default_port = ":443" if scheme == "https" else ":80"
        if host.endswith(default_port):
            own.add(f"{scheme}://{host[: -len(default_port)].lower()}")
        return own
