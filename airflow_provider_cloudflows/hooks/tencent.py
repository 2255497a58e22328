"""Tencent Cloud: the `tencentcloud` connection type and the API 3.0 protocol (TC3 signing).

`WeDataHook` (API 3.0) and `CloudInfiniteHook` (COS-style XML API) live in their own modules
and are re-exported here lazily.
"""

from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from airflow_provider_cloudflows.errors import ClockSkewError, InvalidResponseError
from airflow_provider_cloudflows.hooks.base import CloudCredentials, CloudflowsBaseHook, response_preview
from airflow_provider_cloudflows.hooks.classify import TENCENT_API3_CODES, classify
from airflow_provider_cloudflows.hooks.connection_form import TENCENT_CLOUD_FORM
from airflow_provider_cloudflows.hooks.request import ApiRequest, Operation
from airflow_provider_cloudflows.hooks.transport import json_body

if TYPE_CHECKING:
    from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
    from airflow_provider_cloudflows.hooks.wedata import WeDataHook

__all__ = ["CloudInfiniteHook", "TencentCloudHook", "WeDataHook"]

JSON_CONTENT_TYPE = "application/json"


class TencentCloudHook(CloudflowsBaseHook):
    """Connection to Tencent Cloud with a SecretId/SecretKey pair (optionally an STS token).

    Product hooks on API 3.0 set `service`, `api_version` and describe calls with
    `api3_request`. `test_connection` asks STS who the key belongs to.
    """

    conn_name_attr = "tencentcloud_conn_id"
    default_conn_name = "tencentcloud_default"
    conn_type = "tencentcloud"
    hook_name = "Tencent Cloud"
    vendor = "Tencent Cloud"

    service: ClassVar[str] = "sts"
    api_version: ClassVar[str] = "2018-08-13"

    def __init__(self, tencentcloud_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(tencentcloud_conn_id, **kwargs)

    # Airflow 2 only calls these when the hook class itself defines them (it looks in
    # `cls.__dict__`), so each connection-type hook spells them out.
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return TENCENT_CLOUD_FORM.ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return TENCENT_CLOUD_FORM.form_widgets()

    def _build_auth(self, credentials: CloudCredentials) -> httpx.Auth:
        from airflow_provider_cloudflows.auth.tc3 import Tc3Auth

        return Tc3Auth(credentials.key_id, credentials.secret, self.service, credentials.security_token)

    def api3_url(self) -> str:
        return self.credentials.endpoint or f"https://{self.service}.tencentcloudapi.com"

    def api3_request(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        run_id: str | None = None,
        idempotent: bool = True,
    ) -> ApiRequest:
        headers = {
            "Content-Type": JSON_CONTENT_TYPE,
            "X-TC-Action": action,
            "X-TC-Version": self.api_version,
        }
        if self.credentials.region:
            headers["X-TC-Region"] = self.credentials.region
        # The signature covers these exact bytes, so serialize once here.
        content = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return ApiRequest(
            method="POST",
            url=self.api3_url() + "/",
            action=action,
            headers=headers,
            content=content,
            run_id=run_id,
            idempotent=idempotent,
        )

    def _decode(self, request: ApiRequest, response: httpx.Response) -> dict[str, Any]:
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
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: nested too deep
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

    def _test_connection_operation(self) -> Operation[str]:
        body = yield self.api3_request("GetCallerIdentity", {})
        return f"Connected to Tencent Cloud as {body.get('Arn') or body.get('AccountId')}"

    def test_connection(self) -> tuple[bool, str]:
        # STS is signed for service "sts"; a product hook signs for its own service, so the test
        # always runs through the plain connection-type hook.
        if type(self) is TencentCloudHook:
            return super().test_connection()
        return TencentCloudHook(
            self.conn_id, region=self._region_override, endpoint=self._endpoint_override
        ).test_connection()


_SERVER_TIME = re.compile(r"server time[^0-9]*(\d{10})", re.IGNORECASE)


def _server_time(message: str, response: httpx.Response) -> int | None:
    """The server's time from its message, else from its Date header (the vendors' documented
    messages do not always carry it; their gateways' Date headers do)."""
    found = _SERVER_TIME.search(message)
    if found:
        return int(found.group(1))
    try:
        return round(parsedate_to_datetime(response.headers["date"]).timestamp())
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def clock_skew_error(
    message: str, response: httpx.Response, *, request_time_header: str | None, **kwargs: Any
) -> ClockSkewError:
    """Say the machine's clock is off, and by how much when the vendor tells its own time."""
    skew: float | None = None
    server = _server_time(message, response)
    sent = response.request.headers.get(request_time_header) if request_time_header else None
    if server is not None:
        # Without a request time header (COS signs a window), the answer just arrived: now is
        # when it was sent, to within the round trip.
        skew = (int(sent) if sent and sent.isdigit() else round(time.time())) - server
    hint = (
        f"this machine's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server's"
        if skew is not None
        else "this machine's clock is off; check NTP"
    )
    return ClockSkewError(f"{message} ({hint})", skew_seconds=skew, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "WeDataHook":
        from airflow_provider_cloudflows.hooks.wedata import WeDataHook

        return WeDataHook
    if name == "CloudInfiniteHook":
        from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook

        return CloudInfiniteHook
    raise AttributeError(name)
