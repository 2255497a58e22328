"""The COS-style XML API signed with q-sign (sha1), as Tencent Cloud Infinite speaks it.

Requests go to the bucket's virtual host `<BucketName-APPID>.<service>.<region>.myqcloud.com` and
answer XML, errors included (`<Error><Code/><Message/><RequestId/></Error>` with a 4xx/5xx status).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.errors import InvalidRequestError, InvalidResponseError, ThrottledError
from airflow_provider_cloudflows.protocols.base import (
    NestingTooDeepError,
    WireProtocol,
    check_nesting,
    checked_region,
    clock_skew_error,
    json_body,
    response_preview,
)
from airflow_provider_cloudflows.protocols.codes import COS_CODES, classify
from airflow_provider_cloudflows.protocols.request import ApiRequest

if TYPE_CHECKING:
    import httpx

    from airflow_provider_cloudflows.connections.credentials import CloudCredentials

# BucketName-APPID: lowercase letters, digits and dashes, then the numeric APPID (ASCII digits).
# Checked (whole string, no trailing newline) before the bucket becomes part of a host name.
_BUCKET = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]+")


class CosXml(WireProtocol):
    """One COS-style service (`ci`) addressed by bucket.

    :param force_list: XML elements that are always lists, even when one is present.
    """

    def __init__(self, vendor: str, *, service: str, force_list: Iterable[str] = ()) -> None:
        super().__init__(vendor)
        self.service = service
        self.force_list = tuple(force_list)

    def signer(self, credentials: CloudCredentials) -> httpx.Auth:
        from airflow_provider_cloudflows.auth.cos import CosAuth

        return CosAuth(credentials.key_id, credentials.secret, credentials.security_token)

    # -- addressing ----------------------------------------------------------------------------

    def check_bucket(self, credentials: CloudCredentials, bucket: str | None) -> str:
        chosen = bucket or ""
        if not chosen.strip():
            raise InvalidRequestError(
                f"no bucket: pass bucket= or set the extra 'bucket' (BucketName-APPID) on connection "
                f"{credentials.conn_id!r}",
                vendor=self.vendor,
            )
        if not _BUCKET.fullmatch(chosen):
            raise InvalidRequestError(
                f"bucket {chosen!r} is not of the form BucketName-APPID: lowercase letters, digits and "
                "dashes, a dash, then the numeric APPID (e.g. examplebucket-1250000000)",
                vendor=self.vendor,
            )
        return chosen

    def region(self, credentials: CloudCredentials) -> str:
        region = checked_region(credentials, self.vendor, example="ap-chongqing")
        if not region:
            raise InvalidRequestError(
                f"connection {credentials.conn_id!r} needs a region (e.g. ap-chongqing) for {self.vendor}",
                vendor=self.vendor,
            )
        return region

    def virtual_host(self, credentials: CloudCredentials, bucket: str) -> str:
        return f"{bucket}.{self.service}.{self.region(credentials)}.myqcloud.com"

    def base(self, credentials: CloudCredentials, bucket: str) -> tuple[str, dict[str, str]]:
        """(base URL, extra headers) for a bucket.

        Without `{bucket}` in the endpoint, requests carry (and sign) the virtual-host name as
        their Host header, exactly as the official SDK does when given an IP and port.
        """
        # Checked in every branch: both end up in a host name (the URL's or the signed Host header).
        bucket = self.check_bucket(credentials, bucket)
        endpoint = credentials.endpoint
        if not endpoint:
            return f"https://{self.virtual_host(credentials, bucket)}", {}
        if "{bucket}" in endpoint or "{region}" in endpoint:
            region = self.region(credentials) if "{region}" in endpoint else ""
            try:
                return endpoint.format(bucket=bucket, region=region), {}
            except (KeyError, IndexError, ValueError) as err:
                raise InvalidRequestError(
                    f"endpoint {endpoint!r} of connection {credentials.conn_id!r} is not a valid template: "
                    f"only {{bucket}} and {{region}} may appear in braces ({type(err).__name__}: {err})",
                    vendor=self.vendor,
                ) from None
        return endpoint, {"Host": self.virtual_host(credentials, bucket)}

    def request(
        self,
        credentials: CloudCredentials,
        method: str,
        path: str,
        params: Iterable[tuple[str, str]] = (),
        *,
        action: str,
        bucket: str,
        run_id: str | None = None,
        idempotent: bool = True,
    ) -> ApiRequest:
        """A request; the query is encoded here exactly as CosAuth signs it (`%20`, `%2F`)."""
        from airflow_provider_cloudflows.auth.cos import encode

        base, headers = self.base(credentials, bucket)
        query = "&".join(f"{encode(k)}={encode(v)}" for k, v in params)
        return ApiRequest(
            method=method,
            url=f"{base}{path}" + (f"?{query}" if query else ""),
            action=action,
            headers=headers,
            content=b"" if method in ("POST", "PUT") else None,
            run_id=run_id,
            idempotent=idempotent,
        )

    # -- answers -------------------------------------------------------------------------------

    def decode(self, request: ApiRequest, response: httpx.Response) -> dict[str, Any]:
        request_id = response.headers.get("x-ci-request-id") or response.headers.get("x-cos-request-id")
        base: dict[str, Any] = {
            "vendor": self.vendor,
            "action": request.action,
            "http_status": response.status_code,
            "run_id": request.run_id,
            "request_id": request_id,
        }
        if 200 <= response.status_code < 300:
            try:
                body = self.parse_xml(response.content)
            except NestingTooDeepError as err:
                raise InvalidResponseError(f"expected an XML <Response>; {err}", **base) from None
            envelope = body.get("Response") if isinstance(body, dict) else None
            if not isinstance(envelope, dict):
                raise InvalidResponseError(
                    f"expected an XML <Response>, got {response_preview(response)}", **base
                )
            return envelope
        code, message, body_request_id = self._error_fields(response)
        base |= {"code": code, "request_id": request_id or body_request_id}
        # COS refuses a request outside its signed time window either way round: before its
        # start as skewed, after its end as expired. A fresh signature per request means the
        # server's clock is off from ours.
        if code == "RequestTimeTooSkewed" or (
            code == "AccessDenied" and "expired" in (message or "").lower()
        ):
            raise clock_skew_error(message or code, response, request_time_header=None, **base)
        error_class = classify(code, response.status_code, COS_CODES)
        text = message or code or f"unexpected {response_preview(response)}"
        if error_class is ThrottledError:
            raise ThrottledError(text, retry_after=_retry_after(response), **base)
        raise error_class(text, **base)

    def parse_xml(self, content: bytes) -> Any:
        """The parsed XML, None when it is not XML; NestingTooDeepError when it nests too deep to
        be kept (a run that cannot be serialized would fail only when pushed to XCom)."""
        import xmltodict  # here, not at module level: DAG files importing the sensor never parse XML

        try:
            parsed = xmltodict.parse(content, force_list=self.force_list) if content.strip() else None
        except Exception:  # expat errors and anything else a cut or garbled body produces
            return None
        return check_nesting(parsed, "the XML answer")

    def _error_fields(self, response: httpx.Response) -> tuple[str | None, str | None, str | None]:
        """(Code, Message, RequestId) of an `<Error>` body; JSON bodies are read too, as the SDK does."""
        error: Any = None
        try:
            body = self.parse_xml(response.content)
        except NestingTooDeepError:
            body = None
        if isinstance(body, dict):
            error = body.get("Error") or body.get("Response")
        if error is None:
            try:
                data = json_body(response)
            except ValueError:  # not JSON, or nested too deep
                data = None
            if isinstance(data, dict):
                error = data.get("Error", data)
        if not isinstance(error, dict):
            return None, None, None

        def text(key: str) -> str | None:
            value = error.get(key)
            return str(value).strip() or None if value is not None else None

        return text("Code"), text("Message"), text("RequestId")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
