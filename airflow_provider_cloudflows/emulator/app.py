"""The emulator's ASGI app: the control API under /_emulator/, then every vendor API on one port.

Vendor requests are routed the way the vendors route them: Tencent API 3.0 by X-TC-Version,
Alibaba RPC by x-acs-version (ACS3) or the Version parameter (legacy RPC), COS/CI by path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from airflow_provider_cloudflows.emulator.config import EmulatorConfig
from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.services import alibaba_rpc, tencent_api3
from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import Service, Target
from airflow_provider_cloudflows.emulator.services.cos_xml import CosXmlService
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service
from airflow_provider_cloudflows.emulator.state import EmulatorState

CONTROL_PREFIX = "/_emulator"


@dataclass(frozen=True)
class RoutingError:
    """A request no service takes, answered in the shape of the protocol it spoke."""

    shape: type[Service]
    code: str
    message: str
    status: int

    def response(self, req: IncomingRequest) -> Response:
        return self.shape.render_error(
            self.code, self.message, self.status, request_id=self.shape.new_request_id(), req=req
        )


class Router:
    def __init__(self, services: Iterable[Service]) -> None:
        self.services = list(services)
        self.keyed: dict[tuple[str, str], Service] = {}
        self.path_routed: list[CosXmlService] = []
        for service in self.services:
            if isinstance(service, CosXmlService):
                self.path_routed.append(service)
                continue
            routing_keys = getattr(type(service), "routing_keys", None)
            for key in routing_keys() if routing_keys else ():
                other = self.keyed.get(key)
                if other is not None:
                    raise ValueError(f"{type(service).__name__} and {type(other).__name__} both serve {key}")
                self.keyed[key] = service

    def resolve(self, req: IncomingRequest) -> Target | RoutingError:
        if req.header("x-tc-action") is not None or req.header("x-tc-version") is not None:
            action, version = tencent_api3.routing_of(req)
            if not action:
                return RoutingError(
                    TencentApi3Service,
                    "MissingParameter",
                    "The request is missing a required parameter `Action`.",
                    200,
                )
            if not version:
                return RoutingError(
                    TencentApi3Service,
                    "MissingParameter",
                    "The request is missing a required parameter `Version`.",
                    200,
                )
            service = self.keyed.get(("tencent", version))
            if service is None:
                return RoutingError(
                    TencentApi3Service, "NoSuchVersion", f"The API version `{version}` does not exist.", 200
                )
            return Target(service, action_name=action)

        action, version = alibaba_rpc.routing_of(req)
        if action is not None or req.header("x-acs-version") is not None:
            if not action:
                return RoutingError(
                    AlibabaRpcService, "MissingAction", "Action is mandatory for this request.", 400
                )
            if not version:
                return RoutingError(
                    AlibabaRpcService, "MissingVersion", "Version is mandatory for this action.", 400
                )
            service = self.keyed.get(("alibaba", version))
            if service is None:
                return RoutingError(
                    AlibabaRpcService, "InvalidVersion", "Specified parameter Version is not valid.", 400
                )
            return Target(service, action_name=action)

        wrong_method: Target | None = None
        for service in self.path_routed:
            spec, path_params, path_known = service.match(req.method, req.path)
            if spec is not None:
                return Target(service, spec=spec, action_name=spec.name, path_params=path_params)
            if path_known and wrong_method is None:
                wrong_method = Target(service)
        if wrong_method is not None:
            return wrong_method
        if req.path == "/":
            return RoutingError(
                AlibabaRpcService,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
                404,
            )
        return RoutingError(CosXmlService, "NoSuchResource", "The specified resource does not exist.", 404)


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
    """The emulator ASGI app. `services` defaults to every vendor service module present."""
    from airflow_provider_cloudflows.emulator import control
    from airflow_provider_cloudflows.emulator.services import default_services

    state = state or EmulatorState(config)
    classes = list(default_services() if services is None else services)
    router = Router(cls(state) for cls in classes)
    app = Starlette(
        routes=[
            Mount(CONTROL_PREFIX, app=control.build_control_app(state, router)),
            Mount("", app=VendorApp(state, router)),
        ]
    )
    app.state.emulator = state
    app.state.router = router
    return app


def service_summary(router: Router) -> list[Mapping[str, object]]:
    return [
        {
            "vendor": s.vendor,
            "protocol": s.protocol,
            "version": getattr(s, "version", None),
            "actions": sorted(spec.name for spec in s.actions.values()),
        }
        for s in router.services
    ]
