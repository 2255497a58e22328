"""Tencent Cloud Infinite (CI) media workflows: executions, their task nodes, listing and triggering.

CI speaks the COS protocol, not API 3.0: requests go to `<BucketName-APPID>.ci.<region>.myqcloud.com`,
are signed with `q-sign-algorithm=sha1` (`CosAuth`), and answer XML, errors included
(`<Error><Code/><Message/><RequestId/></Error>` with a 4xx/5xx status).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from airflow_provider_cloudflows.auth.cos import CosAuth, encode
from airflow_provider_cloudflows.errors import InvalidRequestError, InvalidResponseError, ThrottledError
from airflow_provider_cloudflows.hooks.base import CloudCredentials, response_preview
from airflow_provider_cloudflows.hooks.classify import COS_CODES, classify
from airflow_provider_cloudflows.hooks.request import ApiRequest, Operation
from airflow_provider_cloudflows.hooks.tencent import TencentCloudHook, clock_skew_error
from airflow_provider_cloudflows.hooks.transport import json_body
from airflow_provider_cloudflows.runs import WorkflowRun, parse_datetime

# Must match the VENDOR of the response models (kept apart so the models load lazily).
VENDOR = "Tencent Cloud Infinite"

CONSOLE = "https://console.cloud.tencent.com/ci/bucket"
MAX_PAGE_SIZE = 100
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # what the list API's startCreationTime/endCreationTime take

# BucketName-APPID: lowercase letters, digits and dashes, then the numeric APPID. Checked before
# the bucket becomes part of a host name.
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-\d+$")
_REGION = re.compile(r"^[a-z0-9-]+$")

ACTION_GET = "DescribeMediaWorkflowExecution"
ACTION_LIST = "DescribeMediaWorkflowExecutions"
ACTION_TRIGGER = "TriggerWorkflow"


def format_ci_time(value: datetime | str | None) -> str | None:
    """`%Y-%m-%dT%H:%M:%S%z` (e.g. 2019-07-07T12:12:12+0800); naive datetimes are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise InvalidRequestError(f"cannot read {value!r} as a date-time", vendor=VENDOR)
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.strftime(TIME_FORMAT)


@dataclass
class _Pager:
    """Where a listing is: the query of the next page, the tokens seen, how many runs are still wanted."""

    query: dict[str, str]
    limit: int | None
    yielded: int = 0
    seen_tokens: set[str] = field(default_factory=set)

    def take(self, runs: list[WorkflowRun]) -> list[WorkflowRun]:
        if self.limit is not None:
            runs = runs[: max(self.limit - self.yielded, 0)]
        self.yielded += len(runs)
        return runs

    def advance(self, page_len: int, next_token: str | None) -> bool:
        """Move to the next page; False when the listing is complete.

        The docs do not say whether the last page has an empty NextToken or is a short page, so
        either ends the listing. A token seen before would loop forever, so it is an error.
        """
        if self.limit is not None and self.yielded >= self.limit:
            return False
        if not next_token or page_len < int(self.query["size"]):
            return False
        if next_token in self.seen_tokens:
            raise InvalidResponseError(
                f"NextToken {next_token!r} was returned twice; the listing would never end",
                vendor=VENDOR,
                action=ACTION_LIST,
            )
        self.seen_tokens.add(next_token)
        self.query["nextToken"] = next_token
        return True


class CloudInfiniteHook(TencentCloudHook):
    """Cloud Infinite media-workflow executions (connection type `tencentcloud`).

    :param tencentcloud_conn_id: the Airflow connection (SecretId as login, SecretKey as password,
        extras `region` (required), `bucket` (BucketName-APPID, default for every call),
        `endpoint`, `security_token`).
    :param bucket: overrides the connection's bucket for every call of this hook.

    The endpoint extra sends every request to that base URL. Without `{bucket}` in it, requests
    carry (and sign) the virtual-host name `<bucket>.ci.<region>.myqcloud.com` as their Host
    header, exactly as the official SDK does when given an IP and port; with `{bucket}` (and
    optionally `{region}`) in it, e.g. `https://{bucket}.ci.internal.example`, the formatted URL is
    the host.
    """

    lazy_modules = ("airflow_provider_cloudflows.models.cloud_infinite", "xmltodict")

    hook_name = "Tencent Cloud Infinite"
    vendor = VENDOR
    service = "ci"

    def __init__(
        self,
        tencentcloud_conn_id: str = TencentCloudHook.default_conn_name,
        *,
        bucket: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(tencentcloud_conn_id, **kwargs)
        self._bucket_override = bucket

    # -- protocol -----------------------------------------------------------------------------

    def _build_auth(self, credentials: CloudCredentials) -> httpx.Auth:
        return CosAuth(credentials.key_id, credentials.secret, credentials.security_token)

    def _decode(self, request: ApiRequest, response: httpx.Response) -> dict[str, Any]:
        request_id = response.headers.get("x-ci-request-id") or response.headers.get("x-cos-request-id")
        base: dict[str, Any] = {
            "vendor": self.vendor,
            "action": request.action,
            "http_status": response.status_code,
            "run_id": request.run_id,
            "request_id": request_id,
        }
        if 200 <= response.status_code < 300:
            body = _parse_xml(response.content)
            envelope = body.get("Response") if isinstance(body, dict) else None
            if not isinstance(envelope, dict):
                raise InvalidResponseError(
                    f"expected an XML <Response>, got {response_preview(response)}", **base
                )
            return envelope
        code, message, body_request_id = _error_fields(response)
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

    # -- addressing ----------------------------------------------------------------------------

    @property
    def default_bucket(self) -> str | None:
        return self._bucket_override or self.credentials.extras.get("bucket") or None

    def bucket_for(self, bucket: str | None) -> str:
        chosen = (bucket or self.default_bucket or "").strip()
        if not chosen:
            raise InvalidRequestError(
                f"no bucket: pass bucket= or set the extra 'bucket' (BucketName-APPID) on connection "
                f"{self.conn_id!r}",
                vendor=self.vendor,
            )
        if not _BUCKET.match(chosen):
            raise InvalidRequestError(
                f"bucket {chosen!r} is not of the form BucketName-APPID (e.g. examplebucket-1250000000)",
                vendor=self.vendor,
            )
        return chosen

    def _region(self) -> str:
        region = self.credentials.region
        if not region or not _REGION.match(region):
            raise InvalidRequestError(
                f"connection {self.conn_id!r} needs a region (e.g. ap-chongqing) for Cloud Infinite",
                vendor=self.vendor,
            )
        return region

    def virtual_host(self, bucket: str) -> str:
        return f"{bucket}.ci.{self._region()}.myqcloud.com"

    def _base(self, bucket: str) -> tuple[str, dict[str, str]]:
        """(base URL, extra headers) for a bucket."""
        endpoint = self.credentials.endpoint
        if not endpoint:
            return f"https://{self.virtual_host(bucket)}", {}
        if "{bucket}" in endpoint or "{region}" in endpoint:
            return endpoint.format(bucket=bucket, region=self.credentials.region or ""), {}
        return endpoint, {"Host": self.virtual_host(bucket)}

    def ci_request(
        self,
        method: str,
        path: str,
        params: Iterable[tuple[str, str]] = (),
        *,
        action: str,
        bucket: str,
        run_id: str | None = None,
        idempotent: bool = True,
    ) -> ApiRequest:
        """A CI request; the query is encoded here exactly as CosAuth signs it (`%20`, `%2F`)."""
        base, headers = self._base(bucket)
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

    # -- one execution -------------------------------------------------------------------------

    def _get_run_operation(self, run_id: str, bucket: str | None = None) -> Operation[WorkflowRun]:
        from airflow_provider_cloudflows.models.cloud_infinite import run_from_describe

        run_id = _required("run_id", run_id, self.vendor)
        bucket = self.bucket_for(bucket)
        payload = yield self.ci_request(
            "GET",
            f"/workflowexecution/{quote(run_id, safe='')}",
            action=ACTION_GET,
            bucket=bucket,
            run_id=run_id,
        )
        return run_from_describe(payload, bucket=bucket, run_id=run_id, action=ACTION_GET)

    def get_run(self, run_id: str, bucket: str | None = None) -> WorkflowRun:  # type: ignore[override]
        """DescribeMediaWorkflowExecution: the execution with one task run per node (JobId each)."""
        return super().get_run(run_id, bucket=bucket)

    async def aget_run(self, run_id: str, bucket: str | None = None) -> WorkflowRun:  # type: ignore[override]
        return await super().aget_run(run_id, bucket=bucket)

    # -- listing -------------------------------------------------------------------------------

    def _pager(
        self,
        workflow_id: str,
        *,
        states: str | Iterable[str] | None = None,
        name: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        job_id: str | None = None,
        order_by_time: str = "Desc",
        size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
    ) -> _Pager:
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidRequestError(f"size must be 1..{MAX_PAGE_SIZE}, got {size}", vendor=self.vendor)
        if order_by_time not in ("Desc", "Asc"):
            raise InvalidRequestError(
                f"order_by_time must be Desc or Asc, not {order_by_time!r}", vendor=self.vendor
            )
        if limit is not None:
            if limit < 1:
                raise InvalidRequestError(f"limit must be positive, got {limit}", vendor=self.vendor)
            size = min(size, limit)
        states_value = states if isinstance(states, str) or states is None else ",".join(states)
        # The SDK always sends these six, empty or not (and signs them all); the rest only when set.
        query = {
            "workflowId": _required("workflow_id", workflow_id, self.vendor),
            "name": name or "",
            "orderByTime": order_by_time,
            "states": states_value or "All",
            "size": str(size),
            "nextToken": "",
        }
        for key, value in (
            ("startCreationTime", format_ci_time(start)),
            ("endCreationTime", format_ci_time(end)),
            ("jobId", job_id or None),
        ):
            if value is not None:
                query[key] = value
        return _Pager(query=query, limit=limit)

    def _list_page_operation(
        self, query: dict[str, str], bucket: str
    ) -> Operation[tuple[list[WorkflowRun], str | None]]:
        from airflow_provider_cloudflows.models.cloud_infinite import runs_from_list

        payload = yield self.ci_request(
            "GET", "/workflowexecution", list(query.items()), action=ACTION_LIST, bucket=bucket
        )
        return runs_from_list(payload, bucket=bucket, action=ACTION_LIST)

    def list_runs(
        self,
        workflow_id: str,
        *,
        states: str | Iterable[str] | None = None,
        name: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        job_id: str | None = None,
        order_by_time: str = "Desc",
        size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        bucket: str | None = None,
    ) -> Iterator[WorkflowRun]:
        """DescribeMediaWorkflowExecutions over every page (NextToken), yielding runs as pages arrive.

        :param workflow_id: the workflow whose executions to list.
        :param states: `Success`, `Failed`, `Running`, `Cancel`, `Pause` (comma-separated or a
            list); default all.
        :param name: only executions of this object key (CI's `name` filter).
        :param start / end: creation-time bounds (datetime or ISO string; naive means UTC).
        :param job_id: only executions started by this batch job.
        :param order_by_time: `Desc` (newest first, the default) or `Asc`.
        :param size: page size, 1..100.
        :param limit: stop after this many runs.

        List items carry no task runs (the API does not return them); `get_run` gives those.
        """
        bucket = self.bucket_for(bucket)
        pager = self._pager(
            workflow_id,
            states=states,
            name=name,
            start=start,
            end=end,
            job_id=job_id,
            order_by_time=order_by_time,
            size=size,
            limit=limit,
        )
        while True:
            runs, token = self.run_operation(self._list_page_operation(pager.query, bucket))
            yield from pager.take(runs)
            if not pager.advance(len(runs), token):
                return

    async def alist_runs(
        self, workflow_id: str, *, bucket: str | None = None, **filters: Any
    ) -> AsyncIterator[WorkflowRun]:
        """`list_runs` without blocking the event loop; the same keyword arguments."""
        await self.aload_credentials()
        bucket = self.bucket_for(bucket)
        pager = self._pager(workflow_id, **filters)
        while True:
            runs, token = await self.arun_operation(self._list_page_operation(pager.query, bucket))
            for run in pager.take(runs):
                yield run
            if not pager.advance(len(runs), token):
                return

    def newest_run(
        self,
        workflow_id: str,
        object_key: str,
        *,
        start: datetime | str | None = None,
        bucket: str | None = None,
    ) -> WorkflowRun | None:
        """The newest execution of `workflow_id` for `object_key` (created at/after `start`), or None."""
        return next(
            iter(
                self.list_runs(
                    workflow_id,
                    name=_required("object_key", object_key, self.vendor),
                    start=start,
                    order_by_time="Desc",
                    limit=1,
                    bucket=bucket,
                )
            ),
            None,
        )

    # -- starting ------------------------------------------------------------------------------

    def _trigger_operation(self, workflow_id: str, object_key: str, bucket: str | None) -> Operation[str]:
        from airflow_provider_cloudflows.models.cloud_infinite import instance_id_from_trigger

        params = [
            ("workflowId", _required("workflow_id", workflow_id, self.vendor)),
            ("object", _required("object_key", object_key, self.vendor)),
        ]
        # Not idempotent: each call starts another execution, so it is only retried when CI
        # certainly did not act (throttled, or never connected).
        payload = yield self.ci_request(
            "POST",
            "/triggerworkflow",
            params,
            action=ACTION_TRIGGER,
            bucket=self.bucket_for(bucket),
            idempotent=False,
        )
        return instance_id_from_trigger(payload, action=ACTION_TRIGGER)

    def trigger(self, workflow_id: str, object_key: str, bucket: str | None = None) -> str:
        """TriggerWorkflow: run `workflow_id` on `object_key`; returns the new execution's RunId."""
        return self.run_operation(self._trigger_operation(workflow_id, object_key, bucket))

    async def atrigger(self, workflow_id: str, object_key: str, bucket: str | None = None) -> str:
        return await self.arun_operation(self._trigger_operation(workflow_id, object_key, bucket))

    # -- console -------------------------------------------------------------------------------

    def console_url(self, run: WorkflowRun) -> str | None:
        """The bucket's workflow page in the CI console.

        The console's `ci/bucket?bucket=...&region=...&type=...` form is confirmed from public
        pages (with `type=document`); `type=workflow` and the `workflowId`/`runId` parameters
        that should open the execution itself are UNCONFIRMED: at worst the link opens the
        bucket in the CI console.
        """
        bucket = run.detail.get("BucketId") or self.default_bucket
        region = self.credentials.region
        if not bucket or not region:
            return None
        query = [("bucket", bucket), ("region", region), ("type", "workflow")]
        if run.workflow_id:
            query.append(("workflowId", run.workflow_id))
        query.append(("runId", run.run_id))
        return CONSOLE + "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query)


def _required(name: str, value: Any, vendor: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise InvalidRequestError(f"{name} is required", vendor=vendor)
    return text


def _parse_xml(content: bytes) -> Any:
    import xmltodict  # here, not at module level: DAG files importing the sensor never parse XML

    from airflow_provider_cloudflows.models.cloud_infinite import REPEATED_ELEMENTS

    try:
        return xmltodict.parse(content, force_list=REPEATED_ELEMENTS) if content.strip() else None
    except Exception:  # expat errors and anything else a cut or garbled body produces
        return None


def _error_fields(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """(Code, Message, RequestId) of an `<Error>` body; JSON bodies are read too, as the SDK does."""
    error: Any = None
    body = _parse_xml(response.content)
    if isinstance(body, dict):
        error = body.get("Error") or body.get("Response")
    if error is None:
        try:
            data = json_body(response)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to decode
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
