"""Alibaba Cloud: the `alibabacloud` connection type and the RPC-style API protocol (ACS3 signing).

`IceHook` and `DataWorksHook` live in their own modules and are re-exported here lazily.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

import httpx

from airflow_provider_cloudflows.errors import InvalidRequestError, InvalidResponseError, ThrottledError
from airflow_provider_cloudflows.hooks.base import CloudCredentials, CloudflowsBaseHook, response_preview
from airflow_provider_cloudflows.hooks.classify import ALIBABA_CODES, classify
from airflow_provider_cloudflows.hooks.connection_form import ALIBABA_CLOUD_FORM
from airflow_provider_cloudflows.hooks.request import ApiRequest, Operation
from airflow_provider_cloudflows.hooks.transport import json_body

if TYPE_CHECKING:
    from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
    from airflow_provider_cloudflows.hooks.ice import IceHook

__all__ = ["AlibabaCloudHook", "DataWorksHook", "IceHook"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class AlibabaCloudHook(CloudflowsBaseHook):
    """Connection to Alibaba Cloud with an AccessKey pair (optionally an STS token).

    Product hooks set `product` (the host prefix) and `api_version`, and describe their actions
    with `rpc_request`. `test_connection` asks STS who the key belongs to, which every valid key
    may do whatever products it is allowed to use.
    """

    conn_name_attr = "alibabacloud_conn_id"
    default_conn_name = "alibabacloud_default"
    conn_type = "alibabacloud"
    hook_name = "Alibaba Cloud"
    vendor = "Alibaba Cloud"

    product: ClassVar[str] = "sts"
    api_version: ClassVar[str] = "2015-04-01"
    # Regions whose product host is not `<product>.<region>.aliyuncs.com`, per product hook.
    region_hosts: ClassVar[dict[str, str]] = {}

    def __init__(self, alibabacloud_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(alibabacloud_conn_id, **kwargs)

    # Airflow 2 only calls these when the hook class itself defines them (it looks in
    # `cls.__dict__`), so each connection-type hook spells them out.
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ALIBABA_CLOUD_FORM.ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return ALIBABA_CLOUD_FORM.form_widgets()

    def _build_auth(self, credentials: CloudCredentials) -> httpx.Auth:
        from airflow_provider_cloudflows.auth.acs3 import Acs3Auth

        return Acs3Auth(credentials.key_id, credentials.secret, credentials.security_token)

    def default_host(self, product: str, region: str) -> str:
        return self.region_hosts.get(region) or f"{product}.{region}.aliyuncs.com"

    def base_url(self, product: str | None = None) -> str:
        creds = self.credentials
        if creds.endpoint:
            return creds.endpoint
        if not creds.region:
            raise InvalidRequestError(
                f"connection {self.conn_id!r} sets neither a region nor an endpoint",
                vendor=self.vendor,
            )
        return f"https://{self.default_host(product or self.product, creds.region)}"

    def rpc_request(
        self,
        action: str,
        *,
        method: str = "POST",
        query: dict[str, Any] | None = None,
        form: dict[str, Any] | None = None,
        run_id: str | None = None,
        idempotent: bool = True,
        version: str | None = None,
        product: str | None = None,
    ) -> ApiRequest:
        """An RPC call: business parameters in the query (Get* actions) or a form body (List*, Create*)."""
        from airflow_provider_cloudflows.auth.acs3 import encode_query

        headers = {"x-acs-action": action, "x-acs-version": version or self.api_version}
        url = self.base_url(product) + "/"
        if query:
            url += "?" + encode_query(_stringify(query))
        content = None
        if form:
            content = urlencode(_stringify(form)).encode()
            headers["content-type"] = FORM_CONTENT_TYPE
        return ApiRequest(
            method=method,
            url=url,
            action=action,
            headers=headers,
            content=content,
            run_id=run_id,
            idempotent=idempotent,
        )

    def _decode(self, request: ApiRequest, response: httpx.Response) -> dict[str, Any]:
        try:
            body = json_body(response)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to decode
            body = None
        if response.is_success:
            if not isinstance(body, dict):
                raise InvalidResponseError(
                    f"expected a JSON object, got {response_preview(response)}",
                    vendor=self.vendor,
                    action=request.action,
                    http_status=response.status_code,
                )
            return body
        body = body if isinstance(body, dict) else {}
        code = body.get("Code") or body.get("code")
        message = body.get("Message") or body.get("message") or response_preview(response)
        request_id = body.get("RequestId") or body.get("requestId")
        retry_after = response.headers.get("x-acs-retry-after")
        error_cls = ThrottledError if retry_after else classify(code, response.status_code, ALIBABA_CODES)
        kwargs: dict[str, Any] = {
            "vendor": self.vendor,
            "action": request.action,
            "http_status": response.status_code,
            "code": code,
            "request_id": request_id,
            "run_id": request.run_id,
        }
        if error_cls is ThrottledError:
            kwargs["retry_after"] = _retry_after_seconds(retry_after)
        raise error_cls(self._explain(code, message), **kwargs)

    def _explain(self, code: str | None, message: str) -> str:
        """Product hooks add what the vendor's message leaves out (e.g. ICE's one-year limit)."""
        return message

    def _test_connection_operation(self) -> Operation[str]:
        body = yield self.rpc_request("GetCallerIdentity", product="sts", version="2015-04-01")
        return f"Connected to Alibaba Cloud as {body.get('Arn') or body.get('AccountId')}"


def _stringify(params: dict[str, Any]) -> dict[str, str]:
    """Alibaba RPC wants scalars as text and lists/dicts as JSON text ("shrink" style)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | dict):
            out[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            out[key] = str(value)
    return out


def _retry_after_seconds(header: str | None) -> float | None:
    # The SDK treats x-acs-retry-after as milliseconds.
    try:
        return max(0.0, float(header) / 1000) if header else None
    except ValueError:
        return None


def __getattr__(name: str) -> Any:
    # Lazy, so importing the connection type does not import every product's models.
    if name == "IceHook":
        from airflow_provider_cloudflows.hooks.ice import IceHook

        return IceHook
    if name == "DataWorksHook":
        from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook

        return DataWorksHook
    raise AttributeError(name)
