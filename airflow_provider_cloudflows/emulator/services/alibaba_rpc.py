"""Alibaba Cloud RPC-style APIs (ICE, DataWorks): ACS3 or legacy RPC signatures, JSON bodies.

Requests reach a service by version: `x-acs-version` (ACS3) or the `Version` parameter (legacy
RPC, in the query or a form body). Parameters are the query merged with an
x-www-form-urlencoded (or JSON) body, so handlers see one flat dict of strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from starlette.responses import Response

from airflow_provider_cloudflows.auth._base import parse_query
from airflow_provider_cloudflows.emulator.services.base import (
    ActionSpec,
    Call,
    IncomingRequest,
    RoutingError,
    ServiceError,
    Target,
    VersionRoutedService,
    json_bytes,
)
from airflow_provider_cloudflows.emulator.verify import verify_acs3, verify_rpc_v1

# Parameters of the legacy RPC signature itself; handlers never see them.
RPC_COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "Signature",
        "SecurityToken",
    }
)

JSON_CONTENT_TYPE = "application/json;charset=utf-8"


def _query_and_form(req: IncomingRequest) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_query(req.raw_query))
    content_type = (req.header("content-type") or "").lower()
    if req.body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_query(req.body.decode("utf-8", errors="replace")))
    return params


def request_params(req: IncomingRequest) -> dict[str, Any]:
    """Query parameters merged with a form (or JSON object) body; the body wins on conflicts."""
    params = _query_and_form(req)
    if req.body:
        content_type = (req.header("content-type") or "").lower()
        if content_type.startswith("application/json"):
            try:
                document = json.loads(req.body)
            except ValueError:
                raise ServiceError("InvalidParameter", "The request body is not valid JSON.", 400) from None
            if isinstance(document, dict):
                params.update(document)
    return params


def api_not_found() -> ServiceError:
    """What the gateway answers for an action, path or method it does not know."""
    return ServiceError(
        "InvalidAction.NotFound", "Specified api is not found, please check your url and method.", 404
    )


class AlibabaRpcService(VersionRoutedService):
    """Base for Alibaba RPC services. Subclasses set `vendor`, `version`, `product` and actions."""

    family = "alibabacloud"
    protocol = "alibaba_rpc"
    product: ClassVar[str] = ""  # e.g. "ICE" (used in the Recommend link)
    # After API 3.0, whose headers name it; before COS, which takes requests by path.
    routing_rank = 20
    routing_errors = {
        "missing_action": ("MissingAction", "Action is mandatory for this request.", 400),
        "missing_version": ("MissingVersion", "Version is mandatory for this action.", 400),
        "unknown_version": ("InvalidVersion", "Specified parameter Version is not valid.", 400),
    }
    media_type = JSON_CONTENT_TYPE
    permission_error = (
        "Forbidden.RAM",
        "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        403,
    )
    fault_errors = {
        "http500": (
            "InternalError",
            "The request processing has failed due to some unknown error, exception or failure.",
            500,
        ),
        "http503": (
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
            503,
        ),
    }

    # ------------------------------------------------------------------ routing

    @classmethod
    def action_and_version(cls, req: IncomingRequest) -> tuple[str | None, str | None] | None:
        """From the ACS3 headers, or else the legacy RPC parameters (query or form body)."""
        action = req.header("x-acs-action")
        if action is not None:
            return action, req.header("x-acs-version")
        params = _query_and_form(req)
        if params.get("Action") is None and req.header("x-acs-version") is None:
            return None
        return params.get("Action"), params.get("Version")

    @classmethod
    def unclaimed(cls, req: IncomingRequest) -> RoutingError | None:
        # The RPC gateway answers at the root path, whatever else the request lacks.
        return RoutingError(cls, api_not_found()) if req.path == "/" else None

    # ------------------------------------------------------------------ protocol

    def verify(self, req: IncomingRequest, now: float) -> str:
        kwargs = {
            "now": now,
            "max_skew_seconds": self.state.config.alibaba_max_skew_seconds,
            "seen_nonces": self.state.nonces,
        }
        if not req.header("authorization") and "Signature" in _query_and_form(req):
            return verify_rpc_v1(req, self.credentials, **kwargs)
        return verify_acs3(req, self.credentials, **kwargs)

    def parse(self, req: IncomingRequest, target: Target) -> tuple[ActionSpec, dict[str, Any], str | None]:
        spec = self.actions.get(target.action_name or "")
        if spec is None:
            raise api_not_found()
        params = {k: v for k, v in request_params(req).items() if k not in RPC_COMMON_PARAMS}
        return spec, params, params.get("RegionId")

    @staticmethod
    def _json_response(
        body: Mapping[str, Any], request_id: str, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        return Response(
            json_bytes(body),
            status_code=status,
            media_type=JSON_CONTENT_TYPE,
            headers={"x-acs-request-id": request_id, **(headers or {})},
        )

    def success_response(self, result: Any, call: Call) -> Response:
        return self._json_response({"RequestId": call.request_id, **(result or {})}, call.request_id)

    def missing_parameter(self, name: str) -> ServiceError:
        return ServiceError(
            "MissingParameter",
            f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
            400,
        )

    def invalid_parameter(self, name: str, value: Any) -> ServiceError:
        return ServiceError("InvalidParameter", f"The specified parameter {name} is not valid.", 400)

    def method_not_allowed(self, method: str) -> ServiceError:
        return api_not_found()

    @classmethod
    def error_response(cls, error: ServiceError, req: IncomingRequest, request_id: str) -> Response:
        product = cls.product or "emulator"
        body = {
            "RequestId": request_id,
            "HostId": req.header("host") or "",
            "Code": error.code,
            "Message": error.message,
            "Recommend": (
                f"https://api.aliyun.com/troubleshoot?q={quote(error.code)}&product={quote(product)}"
                f"&requestId={request_id}"
            ),
        }
        return cls._json_response(body, request_id, error.http_status, error.headers)

    @classmethod
    def throttle_error(cls, retry_after_ms: int) -> ServiceError:
        # The SDKs treat any response carrying x-acs-retry-after as throttling.
        return ServiceError(
            "Throttling.User",
            "Request was denied due to user flow control.",
            400,
            headers={"x-acs-retry-after": str(max(retry_after_ms, 1))},
        )

    @classmethod
    def malformed_body(cls, request_id: str) -> bytes:
        return f'{{"RequestId":"{request_id}","Code":<html>upstream error</html>'.encode()
