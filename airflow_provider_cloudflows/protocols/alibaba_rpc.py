"""Alibaba Cloud RPC-style APIs signed with ACS3-HMAC-SHA256, answering JSON (ICE, DataWorks, STS)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow_provider_cloudflows.errors import (
    InvalidRequestError,
    InvalidResponseError,
    ServiceUnavailableError,
    ThrottledError,
)
from airflow_provider_cloudflows.protocols.base import (
    NestingTooDeepError,
    WireProtocol,
    checked_region,
    json_body,
    response_preview,
)
from airflow_provider_cloudflows.protocols.codes import ALIBABA_CODES, classify
from airflow_provider_cloudflows.protocols.request import ApiRequest

if TYPE_CHECKING:
    import httpx

    from airflow_provider_cloudflows.connections.credentials import CloudCredentials

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class AlibabaRpc(WireProtocol):
    """One product's RPC API: its host prefix (`<product>.<region>.aliyuncs.com`) and version.

    :param region_hosts: regions whose host does not follow the rule, e.g. a central host.
    :param explain: adds what the vendor's message leaves out, given (code, message).
    """

    def __init__(
        self,
        vendor: str,
        *,
        product: str,
        api_version: str,
        region_hosts: Mapping[str, str] | None = None,
        explain: Callable[[str | None, str], str] | None = None,
    ) -> None:
        super().__init__(vendor)
        self.product = product
        self.api_version = api_version
        self.region_hosts = dict(region_hosts or {})
        self._explain = explain

    def signer(self, credentials: CloudCredentials) -> httpx.Auth:
        from airflow_provider_cloudflows.auth.acs3 import Acs3Auth

        return Acs3Auth(credentials.key_id, credentials.secret, credentials.security_token)

    def default_host(self, region: str) -> str:
        return self.region_hosts.get(region) or f"{self.product}.{region}.aliyuncs.com"

    def base_url(self, credentials: CloudCredentials) -> str:
        # Checked even with an endpoint: the region is a template field, and the same connection
        # without the endpoint would paste it into the host name.
        region = checked_region(credentials, self.vendor, example="cn-shanghai")
        if credentials.endpoint:
            return credentials.endpoint
        if not region:
            raise InvalidRequestError(
                f"connection {credentials.conn_id!r} sets neither a region nor an endpoint",
                vendor=self.vendor,
            )
        return f"https://{self.default_host(region)}"

    def request(
        self,
        credentials: CloudCredentials,
        action: str,
        *,
        method: str = "POST",
        query: dict[str, Any] | None = None,
        form: dict[str, Any] | None = None,
        run_id: str | None = None,
        idempotent: bool = True,
    ) -> ApiRequest:
        """An RPC call: business parameters in the query (Get* actions) or a form body (List*, Create*)."""
        from airflow_provider_cloudflows.auth.acs3 import encode_query

        headers = {"x-acs-action": action, "x-acs-version": self.api_version}
        url = self.base_url(credentials) + "/"
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

    def decode(self, request: ApiRequest, response: httpx.Response) -> dict[str, Any]:
        too_deep: NestingTooDeepError | None = None
        try:
            body = json_body(response)
        except NestingTooDeepError as err:
            body, too_deep = None, err
        except ValueError:
            body = None
        if response.is_success:
            if not isinstance(body, dict):
                raise InvalidResponseError(
                    f"expected a JSON object, got {too_deep or response_preview(response)}",
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
        # A retry hint on a 5xx is no proof the vendor did not act: for a start or stop request
        # that answer stays an outage (outcome unknown), never throttling.
        hinted = retry_after and (request.idempotent or response.status_code < 500)
        error_cls = ThrottledError if hinted else classify(code, response.status_code, ALIBABA_CODES)
        if error_cls is ThrottledError and not request.idempotent and response.status_code >= 500:
            error_cls = ServiceUnavailableError
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
        if self._explain is not None:
            message = self._explain(code, message)
        raise error_cls(message, **kwargs)


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
