"""The emulator's ASGI app: the control API under /_emulator/, then every vendor API on one port."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from email.utils import formatdate

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from airflow_provider_cloudflows.emulator.config import EmulatorConfig
from airflow_provider_cloudflows.emulator.control import build_control_app
from airflow_provider_cloudflows.emulator.guard import BodyLimit, ControlGuard
from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.routing import Router
from airflow_provider_cloudflows.emulator.services import default_services
from airflow_provider_cloudflows.emulator.services.base import RoutingError, Service, Target
from airflow_provider_cloudflows.emulator.state import EmulatorState

CONTROL_PREFIX = "/_emulator"


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        try:
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            value = raw_value.decode("latin-1")
        headers[raw_name.decode("latin-1").lower()] = value
    return headers


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _truncate(response: Response) -> Response:
    cut = response.body[: len(response.body) // 2]
    response.body = cut
    response.headers["content-length"] = str(len(cut))
    return response


class VendorApp:
    """The raw ASGI app that serves every vendor API."""

    def __init__(self, state: EmulatorState, router: Router) -> None:
        self.state = state
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        state = self.state
        req = IncomingRequest(
            method=scope["method"],
            path=scope["path"],
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=_headers(scope),
            body=await _read_body(receive),
        )
        record = state.log.start(req.method, req.path)
        resolved = self.router.resolve(req)
        service = resolved.service if isinstance(resolved, Target) else None
        if service is not None:
            record.vendor = service.vendor
            record.action = resolved.action_name if isinstance(resolved, Target) else None
        fault = state.faults.draw(service.vendor if service is not None else None)
        record.fault = fault

        if fault == "reset":
            state.log.finish(record)
            await self._reset(scope)
            return
        if fault == "slow":
            await asyncio.sleep(state.faults.slow_seconds)

        if isinstance(resolved, RoutingError):
            record.error_code = resolved.code
            response = resolved.response(req)
        elif fault in ("http500", "http502", "http503", "throttle", "malformed"):
            response = type(resolved.service).fault_response(fault, req, state.faults.retry_after_ms)
        else:
            response = await resolved.service.handle(req, resolved, record)
        if fault == "truncated":
            response = _truncate(response)
        # Gateways stamp every answer with their own time; clients read it when told their
        # signature's time is off (the server's clock, offset included, not this machine's).
        response.headers["date"] = formatdate(state.clock(), usegmt=True)
        record.status = response.status_code
        state.log.finish(record)
        await response(scope, receive, send)

    async def _reset(self, scope: Scope) -> None:
        if not self.state.connections.reset(scope.get("client")):
            # Not served by our own server (e.g. an in-process ASGI transport): fail the exchange.
            raise ConnectionResetError("emulated connection reset")
        # Let the server see the connection is gone before this app returns, so it does not
        # try to answer on a dead transport.
        for _ in range(3):
            await asyncio.sleep(0)


def create_app(
    config: EmulatorConfig | None = None,
    *,
    services: Iterable[type[Service]] | None = None,
    state: EmulatorState | None = None,
) -> Starlette:
    """The emulator ASGI app. `services` defaults to every service products.py names.

    Request bodies are capped (`max_request_body_bytes`, HTTP 413 beyond) and the control API
    is guarded (guard.ControlGuard: loopback or IP `Host`, no foreign `Origin`, JSON writes).
    """
    state = state or EmulatorState(config)
    classes = list(default_services() if services is None else services)
    router = Router(cls(state) for cls in classes)
    control = ControlGuard(build_control_app(state, router), state.config.control_allowed_hosts)
    app = Starlette(
        routes=[
            Mount(CONTROL_PREFIX, app=control),
            Mount("", app=VendorApp(state, router)),
        ],
        middleware=[Middleware(BodyLimit, max_bytes=state.config.max_request_body_bytes)],
    )
    app.state.emulator = state
    app.state.router = router
    return app
