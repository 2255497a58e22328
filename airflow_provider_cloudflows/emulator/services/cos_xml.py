"""COS-style XML APIs (Cloud Infinite): q-sign signatures, path routing, XML bodies.

Handlers are declared with `@route(METHOD, "/path/{param}", action="VendorActionName")`; they
get the query parameters in `call.params`, the path parameters in `call.path_params`, and
return the content of the `<Response>` element as a dict (a list value renders as repeated
tags), or a full Response from `xml_response`.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar

import xmltodict
from starlette.responses import Response

from airflow_provider_cloudflows.auth._base import parse_query
from airflow_provider_cloudflows.emulator.services.base import (
    ActionSpec,
    Call,
    IncomingRequest,
    RoutingError,
    Service,
    ServiceError,
    Target,
)
from airflow_provider_cloudflows.emulator.verify import verify_cos

XML_CONTENT_TYPE = "application/xml"


def _xml_value(value: Any) -> Any:
    # xmltodict renders lists as repeated elements already; normalise scalars it would print oddly.
    if isinstance(value, Mapping):
        return {k: _xml_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_xml_value(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def to_xml(document: Mapping[str, Any]) -> bytes:
    """`{"Response": {"A": 1, "B": [{..}, {..}]}}` -> XML with `<B>` repeated, UTF-8 bytes."""
    return xmltodict.unparse(_xml_value(document), full_document=True, encoding="utf-8").encode("utf-8")


def parse_xml(body: bytes) -> dict[str, Any]:
    return xmltodict.parse(body)


def _ci_request_id() -> str:
    raw = f"{secrets.token_hex(4)}_{secrets.token_hex(4)}_{secrets.token_hex(2)}_{secrets.randbelow(1000)}"
    return base64.b64encode(raw.encode()).decode().rstrip("=")


def _trace_id() -> str:
    return base64.b64encode(secrets.token_hex(36).encode()).decode().rstrip("=")


class CosXmlService(Service):
    """Base for COS/CI XML services. Subclasses set `vendor` and declare `@route` handlers."""

    family = "tencentcloud"
    protocol = "cos_xml"
    not_found_code = "NoSuchResource"
    request_id_header: ClassVar[str] = "x-ci-request-id"
    media_type = XML_CONTENT_TYPE
    fault_errors = {
        "http500": ("InternalError", "We encountered an internal error. Please try again.", 500),
        "http503": ("ServiceUnavailable", "Service is unavailable. Please try again.", 503),
    }

    # By path: asked after the protocols whose requests name themselves in headers or parameters.
    routing_rank = 30

    @classmethod
    def routes(cls) -> list[ActionSpec]:
        return [spec for spec in cls.actions.values() if spec.pattern is not None]

    @classmethod
    def match(cls, method: str, path: str) -> tuple[ActionSpec | None, dict[str, str], bool]:
        """(spec, path params, path known): path known with no spec means a wrong method."""
        path_known = False
        for spec in cls.routes():
            assert spec.pattern is not None
            found = spec.pattern.match(path)
            if found is None:
                continue
            path_known = True
            if spec.methods is None or method.upper() in spec.methods:
                return spec, found.groupdict(), True
        return None, {}, path_known

    @classmethod
    def resolve(cls, req: IncomingRequest, table: list[CosXmlService]) -> Target | None:
        """The service with a route for the path; a known path with another method still goes to
        its service, which answers MethodNotAllowed."""
        wrong_method: Target | None = None
        for service in table:
            spec, path_params, path_known = service.match(req.method, req.path)
            if spec is not None:
                return Target(service, spec=spec, action_name=spec.name, path_params=path_params)
            if path_known and wrong_method is None:
                wrong_method = Target(service)
        return wrong_method

    @classmethod
    def unclaimed(cls, req: IncomingRequest) -> RoutingError:
        return RoutingError(
            cls, ServiceError("NoSuchResource", "The specified resource does not exist.", 404)
        )

    @classmethod
    def new_request_id(cls) -> str:
        return _ci_request_id()

    # ------------------------------------------------------------------ protocol

    def verify(self, req: IncomingRequest, now: float) -> str:
        return verify_cos(req, self.credentials, now=now)

    def parse(self, req: IncomingRequest, target: Target) -> tuple[ActionSpec, dict[str, Any], str | None]:
        if target.spec is None:
            raise self.method_not_allowed(req.method)
        return target.spec, dict(parse_query(req.raw_query)), None

    @classmethod
    def xml_response(
        cls,
        document: Mapping[str, Any],
        request_id: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return Response(
            to_xml(document),
            status_code=status,
            media_type=XML_CONTENT_TYPE,
            headers={cls.request_id_header: request_id, **(headers or {})},
        )

    def success_response(self, result: Any, call: Call) -> Response:
        return self.xml_response({"Response": result or {}}, call.request_id)

    def missing_parameter(self, name: str) -> ServiceError:
        return ServiceError("InvalidArgument", f"The parameter {name} is required.", 400)

    def invalid_parameter(self, name: str, value: Any) -> ServiceError:
        return ServiceError("InvalidArgument", f"The parameter {name} has an invalid value.", 400)

    def method_not_allowed(self, method: str) -> ServiceError:
        return ServiceError("MethodNotAllowed", f"The specified method {method} is not allowed.", 405)

    @classmethod
    def error_response(cls, error: ServiceError, req: IncomingRequest, request_id: str) -> Response:
        document = {
            "Error": {
                "Code": error.code,
                "Message": error.message,
                "Resource": f"{req.header('host') or ''}{req.path}",
                "RequestId": request_id,
                "TraceId": _trace_id(),
            }
        }
        return cls.xml_response(document, request_id, error.http_status, error.headers)

    @classmethod
    def throttle_error(cls, retry_after_ms: int) -> ServiceError:
        return ServiceError("SlowDown", "Please reduce your request rate.", 503)

    @classmethod
    def malformed_body(cls, request_id: str) -> bytes:
        return (
            f'<?xml version="1.0" encoding="utf-8"?><Response><RequestId>{request_id}</RequestId>'
            "<WorkflowExecution></Response>"
        ).encode()
