"""Tencent Cloud API 3.0, signed with TC3-HMAC-SHA256, answering JSON (WeData, STS)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.errors import InvalidRequestError, InvalidResponseError
from airflow_provider_cloudflows.protocols.base import (
    NestingTooDeepError,
    WireProtocol,
    checked_region,
    clock_skew_error,
    json_body,
    response_preview,
)
from airflow_provider_cloudflows.protocols.codes import TENCENT_API3_CODES, classify
from airflow_provider_cloudflows.protocols.request import ApiRequest

if TYPE_CHECKING:
    import httpx

    from airflow_provider_cloudflows.connections.credentials import CloudCredentials

JSON_CONTENT_TYPE = "application/json"


class TencentApi3(WireProtocol):
    """One service's API 3.0 (`https://<service>.tencentcloudapi.com`, one version).

    :param region_required: the service refuses calls without `X-TC-Region` (WeData does).
    """

    def __init__(self, vendor: str, *, service: str, api_version: str, region_required: bool = False) -> None:
        super().__init__(vendor)
        self.service = service
        self.api_version = api_version
        self.region_required = region_required

    def signer(self, credentials: CloudCredentials) -> httpx.Auth:
        from airflow_provider_cloudflows.auth.tc3 import Tc3Auth

        return Tc3Auth(credentials.key_id, credentials.secret, self.service, credentials.security_token)

    def url(self, credentials: CloudCredentials) -> str:
        return credentials.endpoint or f"https://{self.service}.tencentcloudapi.com"

    def request(
        self,
        credentials: CloudCredentials,
        action: str,
        payload: dict[str, Any],
        *,
        run_id: str | None = None,
        idempotent: bool = True,
    ) -> ApiRequest:
        region = checked_region(credentials, self.vendor, example="ap-guangzhou")
        if self.region_required and not region:
            raise InvalidRequestError(
                f"connection {credentials.conn_id!r} has no region; {self.vendor} needs one "
                "(set the extra 'region', e.g. 'ap-guangzhou')",
                vendor=self.vendor,
                action=action,
            )
        headers = {
            "Content-Type": JSON_CONTENT_TYPE,
            "X-TC-Action": action,
            "X-TC-Version": self.api_version,
        }
        if region:
            headers["X-TC-Region"] = region
        # The signature covers these exact bytes, so serialize once here.
        content = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return ApiRequest(
            method="POST",
            url=self.url(credentials) + "/",
            action=action,
            headers=headers,
            content=content,
            run_id=run_id,
            idempotent=idempotent,
        )

    def decode(self, request: ApiRequest, response: httpx.Response) -> dict[str, Any]:
        base: dict[str, Any] = {
            "vendor": self.vendor,
            "action": request.action,
            "http_status": response.status_code,
            "run_id": request.run_id,
        }
        if response.status_code != 200:
            # API 3.0 reports every error with HTTP 200; anything else came from a gateway.
            raise classify(None, response.status_code, TENCENT_API3_CODES)(
                f"unexpected {response_preview(response)}", **base
            )
        try:
            envelope = json_body(response)["Response"]
        except NestingTooDeepError as err:
            raise InvalidResponseError(f"expected a JSON {{'Response': ...}} body; {err}", **base) from None
        except (ValueError, KeyError, TypeError):
            raise InvalidResponseError(
                f"expected a JSON {{'Response': ...}} body, got {response_preview(response)}", **base
            ) from None
        if not isinstance(envelope, dict):
            raise InvalidResponseError("'Response' is not an object", **base)
        error = envelope.get("Error")
        if error is None:
            return envelope
        code = str(error.get("Code") or "") if isinstance(error, dict) else ""
        message = str(error.get("Message") or "") if isinstance(error, dict) else str(error)
        base |= {"code": code or None, "request_id": envelope.get("RequestId")}
        if code == "AuthFailure.SignatureExpire":
            raise clock_skew_error(message, response, request_time_header="X-TC-Timestamp", **base)
        raise classify(code, None, TENCENT_API3_CODES)(message or code, **base)
