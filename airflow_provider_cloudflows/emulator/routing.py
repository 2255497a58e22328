"""Which service a vendor request goes to, routed the way the vendors route them.

Tencent API 3.0 by X-TC-Version, Alibaba RPC by x-acs-version (ACS3) or the Version parameter
(legacy RPC), COS/CI by path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.responses import Response

from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.services import alibaba_rpc, tencent_api3
from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import Service, ServiceError, Target
from airflow_provider_cloudflows.emulator.services.cos_xml import CosXmlService
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service


@dataclass(frozen=True)
class RoutingError:
    """A request no service takes, answered in the shape of the protocol it spoke."""

    shape: type[Service]
    code: str
    message: str
    status: int

    def response(self, req: IncomingRequest) -> Response:
        error = ServiceError(self.code, self.message, self.status)
        return self.shape.error_response(error, req, self.shape.new_request_id())


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

    def summary(self) -> list[Mapping[str, object]]:
        """Each service's vendor, protocol, version and actions (GET /_emulator/health)."""
        return [
            {
                "vendor": s.vendor,
                "protocol": s.protocol,
                "version": getattr(s, "version", None),
                "actions": sorted(spec.name for spec in s.actions.values()),
            }
            for s in self.services
        ]
