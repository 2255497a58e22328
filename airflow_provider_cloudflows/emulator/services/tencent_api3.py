"""Tencent Cloud API 3.0 services (WeData): TC3 signatures, JSON envelopes, errors in HTTP 200.

Requests reach a service by `X-TC-Version`; the action is `X-TC-Action`. POST bodies are JSON
objects (nested values stay nested); GET parameters come from the query string.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from starlette.responses import Response

from airflow_provider_cloudflows.auth._base import parse_query
from airflow_provider_cloudflows.emulator.requestlog import RequestRecord
from airflow_provider_cloudflows.emulator.services.base import (
    ActionSpec,
    Call,
    IncomingRequest,
    ServiceError,
    Target,
    VersionRoutedService,
    json_bytes,
)
from airflow_provider_cloudflows.emulator.verify import verify_tc3

JSON_CONTENT_TYPE = "application/json"


class TencentApi3Service(VersionRoutedService):
    """Base for API 3.0 services. Subclasses set `vendor`, `version`, `tc3_service` and actions."""

    family = "tencentcloud"
    protocol = "tencent_api3"
    routing_rank = 10  # its headers name it, whatever else the request carries
    routing_errors = {
        "missing_action": ("MissingParameter", "The request is missing a required parameter `Action`.", 200),
        "missing_version": (
            "MissingParameter",
            "The request is missing a required parameter `Version`.",
            200,
        ),
        "unknown_version": ("NoSuchVersion", "The API version `{version}` does not exist.", 200),
    }
    tc3_service: ClassVar[str] = ""  # the service name in the TC3 credential scope, e.g. "wedata"
    region_required: ClassVar[bool] = True
    regions: ClassVar[frozenset[str] | None] = None  # None: any region
    not_found_status = 200
    media_type = JSON_CONTENT_TYPE
    permission_error = (
        "AuthFailure.UnauthorizedOperation",
        "The request does not have CAM authorization.",
        200,
    )
    # API 3.0 reports its own errors in HTTP 200; these faults are the gateway's non-200 answers.
    fault_errors = {
        "http500": ("InternalError", "An internal error has occurred. Retry your request.", 500),
        "http503": ("ServiceUnavailable", "Service is unavailable now. Retry your request.", 503),
    }

    @classmethod
    def action_and_version(cls, req: IncomingRequest) -> tuple[str | None, str | None] | None:
        action, version = req.header("x-tc-action"), req.header("x-tc-version")
        return None if action is None and version is None else (action, version)

    @classmethod
    def new_request_id(cls) -> str:
        return str(uuid.uuid4())

    # ------------------------------------------------------------------ protocol

    def verify(self, req: IncomingRequest, now: float) -> str:
        return verify_tc3(
            req,
            self.credentials,
            now=now,
            service=self.tc3_service,
            max_skew_seconds=self.state.config.tencent_max_skew_seconds,
        )

    def parse(self, req: IncomingRequest, target: Target) -> tuple[ActionSpec, dict[str, Any], str | None]:
        name = target.action_name or ""
        spec = self.actions.get(name)
        if spec is None:
            raise ServiceError("InvalidAction", f"The action `{name}` does not exist.", 200)
        region = req.header("x-tc-region") or None
        if region is None and self.region_required:
            raise ServiceError(
                "MissingParameter", "The request is missing a required parameter `Region`.", 200
            )
        if region is not None and self.regions is not None and region not in self.regions:
            raise ServiceError("UnsupportedRegion", f"The region `{region}` is not supported.", 200)
        if req.method.upper() == "GET":
            params: dict[str, Any] = dict(parse_query(req.raw_query))
        elif not req.body:
            params = {}
        else:
            try:
                params = json.loads(req.body)
            except ValueError:
                raise ServiceError("InvalidParameter", "The request body is not valid JSON.", 200) from None
            if not isinstance(params, dict):
                raise ServiceError("InvalidParameter", "The request body must be a JSON object.", 200)
        return spec, params, region

    def _error(
        self, exc: ServiceError, request_id: str, req: IncomingRequest, record: RequestRecord
    ) -> Response:
        # API 3.0 answers every error of the service itself in HTTP 200, whatever status was raised.
        exc.http_status = 200
        return super()._error(exc, request_id, req, record)

    @staticmethod
    def _envelope(
        content: Mapping[str, Any],
        request_id: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """`{"Response": {..., "RequestId"}}`, the one shape of every API 3.0 answer."""
        body = {"Response": {**content, "RequestId": request_id}}
        return Response(json_bytes(body), status_code=status, media_type=JSON_CONTENT_TYPE, headers=headers)

    def success_response(self, result: Any, call: Call) -> Response:
        return self._envelope(result or {}, call.request_id)

    def missing_parameter(self, name: str) -> ServiceError:
        return ServiceError("MissingParameter", f"The request is missing a required parameter `{name}`.", 200)

    def invalid_parameter(self, name: str, value: Any) -> ServiceError:
        return ServiceError("InvalidParameterValue", f"The value of parameter `{name}` is invalid.", 200)

    def method_not_allowed(self, method: str) -> ServiceError:
        return ServiceError("UnsupportedProtocol", f"HTTP method {method} is not supported.", 200)

    @classmethod
    def error_response(cls, error: ServiceError, req: IncomingRequest, request_id: str) -> Response:
        content = {"Error": {"Code": error.code, "Message": error.message}}
        return cls._envelope(content, request_id, error.http_status, error.headers)

    @classmethod
    def throttle_error(cls, retry_after_ms: int) -> ServiceError:
        return ServiceError(
            "RequestLimitExceeded",
            "Your current request times exceeds the frequency limit for a second. "
            "Please reduce the frequency of calls.",
            200,
        )

    @classmethod
    def malformed_body(cls, request_id: str) -> bytes:
        return f'{{"Response":{{"RequestId":"{request_id}",<!-- upstream -->'.encode()
