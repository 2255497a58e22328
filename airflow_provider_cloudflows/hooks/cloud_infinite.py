"""Tencent Cloud Infinite (CI) media workflows: executions, their task nodes, listing and triggering.

CI speaks the COS XML protocol (protocols/cos_xml.py), not API 3.0: requests go to
`<BucketName-APPID>.ci.<region>.myqcloud.com`, are signed with `q-sign-algorithm=sha1` and answer XML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from airflow_provider_cloudflows.errors import InvalidRequestError
from airflow_provider_cloudflows.hooks.base import CloudflowsHook
from airflow_provider_cloudflows.hooks.operations import (
    Page,
    PagedOperation,
    sync_and_async,
    sync_and_async_pages,
)
from airflow_provider_cloudflows.hooks.paging import PageGuard
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.protocols.cos_xml import CosXml
from airflow_provider_cloudflows.protocols.request import Operation
from airflow_provider_cloudflows.runs import WorkflowRun, parse_datetime

CLOUD_INFINITE = PRODUCTS["cloud_infinite"]
VENDOR = CLOUD_INFINITE.name
# XML elements that are lists even when one is present (the models read them as lists).
REPEATED_ELEMENTS = ("WorkflowExecutionList", "WorkflowExecution", "Tasks", "JobsDetail")

CONSOLE = "https://console.cloud.tencent.com/ci/bucket"
MAX_PAGE_SIZE = 100
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # what the list API's startCreationTime/endCreationTime take

# What a RunId may hold: CI issues `i` and 32 hex digits; letters, digits, `-` and `_` are allowed
# so an id format change still reads. Anything else (`.`, `..`, `/`, `?`, `%`, spaces) would
# turn the path into another API (`/workflowexecution/..` is `GET /`), so it is refused.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")

ACTION_GET = "DescribeMediaWorkflowExecution"
ACTION_LIST = "DescribeMediaWorkflowExecutions"
ACTION_TRIGGER = "TriggerWorkflow"
ACTION_JOB = "DescribeMediaJob"


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
    """Where a listing is: the query of the next page, how many runs are still wanted, and the
    guard that ends it on a repeated token, a page of runs already seen or the page bound."""

    query: dict[str, str]
    limit: int | None
    guard: PageGuard
    yielded: int = 0

    def take(self, runs: list[WorkflowRun]) -> list[WorkflowRun]:
        if self.limit is not None:
            runs = runs[: max(self.limit - self.yielded, 0)]
        self.yielded += len(runs)
        return runs

    def advance(self, page_len: int, next_token: str | None) -> bool:
        """Move to the next page; False when the listing is complete.

        The docs do not say whether the last page has an empty NextToken or is a short page, so
        either ends the listing. A token seen before would loop forever, so it ends it too.
        """
        if self.limit is not None and self.yielded >= self.limit:
            return False
        if not next_token or page_len < int(self.query["size"]):
            return False
        if not self.guard.more(next_token):
            return False
        self.query["nextToken"] = next_token
        return True


class CloudInfiniteHook(CloudflowsHook):
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

    product = CLOUD_INFINITE
    protocol = CosXml(VENDOR, service="ci", force_list=REPEATED_ELEMENTS)
    lazy_modules = ("airflow_provider_cloudflows.models.cloud_infinite", "xmltodict")

    def __init__(
        self,
        tencentcloud_conn_id: str | None = None,
        *,
        bucket: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(tencentcloud_conn_id, **kwargs)
        self._bucket_override = bucket

    # -- addressing ----------------------------------------------------------------------------

    @property
    def default_bucket(self) -> str | None:
        return self._bucket_override or self.credentials.extras.get("bucket") or None

    def bucket_for(self, bucket: str | None) -> str:
        return self.protocol.check_bucket(self.credentials, bucket or self.default_bucket)

    def virtual_host(self, bucket: str) -> str:
        return self.protocol.virtual_host(self.credentials, bucket)

    # -- one execution -------------------------------------------------------------------------

    @sync_and_async
    def get_run(self, run_id: str, bucket: str | None = None) -> Operation[WorkflowRun]:
        """DescribeMediaWorkflowExecution: the execution with one task run per node (JobId each)."""
        from airflow_provider_cloudflows.models.cloud_infinite import run_from_describe

        run_id = check_run_id(run_id)
        bucket = self.bucket_for(bucket)
        payload = yield self.request(
            "GET",
            f"/workflowexecution/{quote(run_id, safe='')}",
            action=ACTION_GET,
            bucket=bucket,
            run_id=run_id,
        )
        return run_from_describe(payload, bucket=bucket, run_id=run_id, action=ACTION_GET)

    # -- listing -------------------------------------------------------------------------------

    @sync_and_async_pages
    def list_runs(
        self,
        workflow_id: str,
        *,
        states: str | Iterable[str] | None = None,
        name: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        job_id: str | None = None,
        order_by_time: str = "Desc",
        size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        bucket: str | None = None,
    ) -> PagedOperation[WorkflowRun]:
        """DescribeMediaWorkflowExecutions over every page (NextToken), yielding runs as pages arrive.

        :param workflow_id: the workflow whose executions to list.
        :param states: `Success`, `Failed`, `Running`, `Cancel`, `Pause` (comma-separated or a
            list); default all.
        :param name: only executions of this object key (CI's `name` filter).
        :param created_after / created_before: creation-time bounds (startCreationTime /
            endCreationTime; datetime or ISO string; naive means UTC).
        :param job_id: only executions started by this batch job.
        :param order_by_time: `Desc` (newest first, the default) or `Asc`.
        :param size: page size, 1..100.
        :param limit: stop after this many runs.

        List items carry no task runs (the API does not return them); `get_run` gives those.
        `alist_runs` is the same as an async iterator.
        """
        from airflow_provider_cloudflows.models.cloud_infinite import runs_from_list

        bucket = self.bucket_for(bucket)
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
            ("startCreationTime", format_ci_time(created_after)),
            ("endCreationTime", format_ci_time(created_before)),
            ("jobId", job_id or None),
        ):
            if value is not None:
                query[key] = value
        pager = _Pager(query=query, limit=limit, guard=PageGuard(self.log, self.vendor, ACTION_LIST))
        while True:
            payload = yield self.request(
                "GET", "/workflowexecution", list(pager.query.items()), action=ACTION_LIST, bucket=bucket
            )
            runs, token = runs_from_list(payload, bucket=bucket, action=ACTION_LIST)
            yield Page(pager.take(pager.guard.fresh(runs, lambda run: run.run_id)))
            if not pager.advance(len(runs), token):
                return

    def newest_run(
        self,
        workflow_id: str,
        object_key: str | None = None,
        *,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        bucket: str | None = None,
    ) -> WorkflowRun | None:
        """The newest execution of `workflow_id` (for `object_key`, created in the window), or None."""
        return next(
            iter(
                self.list_runs(
                    workflow_id,
                    name=object_key or None,
                    created_after=created_after,
                    created_before=created_before,
                    order_by_time="Desc",
                    limit=1,
                    bucket=bucket,
                )
            ),
            None,
        )

    # -- starting ------------------------------------------------------------------------------

    @sync_and_async
    def trigger(self, workflow_id: str, object_key: str, bucket: str | None = None) -> Operation[str]:
        """TriggerWorkflow: run `workflow_id` on `object_key`; returns the new execution's RunId."""
        from airflow_provider_cloudflows.models.cloud_infinite import instance_id_from_trigger

        params = [
            ("workflowId", _required("workflow_id", workflow_id, self.vendor)),
            ("object", _required("object_key", object_key, self.vendor)),
        ]
        # Not idempotent: each call starts another execution, so it is only retried when CI
        # certainly did not act (throttled, or never connected).
        payload = yield self.request(
            "POST",
            "/triggerworkflow",
            params,
            action=ACTION_TRIGGER,
            bucket=self.bucket_for(bucket),
            idempotent=False,
        )
        return instance_id_from_trigger(payload, action=ACTION_TRIGGER)

    # -- a failed node's job ---------------------------------------------------------------------

    def get_job_detail(self, job_id: str, bucket: str | None = None) -> str:
        """How one node's media job ended (`GET /jobs/<JobId>`): its Code, Message, State, times."""
        from airflow_provider_cloudflows.models.cloud_infinite import job_detail_text

        job_id = check_job_id(job_id)
        payload = self.call(
            self.request(
                "GET",
                f"/jobs/{quote(job_id, safe='')}",
                action=ACTION_JOB,
                bucket=self.bucket_for(bucket),
                run_id=job_id,
            )
        )
        return job_detail_text(payload, job_id=job_id, action=ACTION_JOB)

    def failed_task_logs(
        self, run: WorkflowRun, *, max_task_runs: int, max_bytes: int
    ) -> list[tuple[str, str]]:
        """CI keeps no log of a node: each failed node's job detail, one job query per node.

        A node without a JobId shows the Code and Message the execution reported for it.
        """
        from airflow_provider_cloudflows.task_logs import error_detail_text, excerpt, task_run_header

        bucket = run.detail.get("BucketId") or None
        logs: list[tuple[str, str]] = []
        for task_run in run.failed_task_runs()[:max_task_runs]:
            if task_run.job_id:
                text, what = self.get_job_detail(task_run.job_id, bucket=bucket), f"job {task_run.job_id}"
            else:
                text, what = error_detail_text(task_run, ("Code", "Message", "State")), "error detail"
            shown = excerpt(text, max_bytes)
            logs.append((task_run_header(self.vendor, task_run, what, shown), shown.text))
        return logs

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


def check_job_id(value: Any) -> str:
    """A node's JobId as the execution reported it; anything else would address another API path."""
    job_id = "" if value is None else str(value)
    if not RUN_ID_PATTERN.fullmatch(job_id):
        raise InvalidRequestError(
            f"JobId {value!r} is not a Cloud Infinite job id (letters, digits, '-' and '_')",
            vendor=VENDOR,
            run_id=job_id or None,
        )
    return job_id


def check_run_id(value: Any) -> str:
    """A RunId as CI issues it (e.g. i166ee19017b011eda8a5525400c540df), refused before any request."""
    _required("run_id", value, VENDOR)
    run_id = str(value)  # not stripped: a RunId with spaces or a newline is not one CI issued
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise InvalidRequestError(
            f"run_id {value!r} is not a Cloud Infinite RunId: RunIds are letters, digits, '-' and '_' "
            "(e.g. i166ee19017b011eda8a5525400c540df); pass the RunId TriggerWorkflow or the console "
            "gave, or workflow_id and object_key to wait by object key",
            vendor=VENDOR,
            run_id=run_id,
        )
    return run_id


def _required(name: str, value: Any, vendor: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise InvalidRequestError(f"{name} is required", vendor=vendor)
    return text
