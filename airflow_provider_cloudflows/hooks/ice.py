"""Alibaba Cloud ICE (Intelligent Media Services): workflow tasks over the 2020-11-09 RPC API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

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
from airflow_provider_cloudflows.protocols.alibaba_rpc import AlibabaRpc
from airflow_provider_cloudflows.protocols.request import Operation
from airflow_provider_cloudflows.runs import WorkflowRun, parse_datetime

ICE = PRODUCTS["ice"]

# Regions where IMS serves the workflow API, each on its regional host. The official SDK's
# generated `_endpoint_map` sends every region except cn-shanghai to the central host
# `ice.aliyuncs.com`; workflow tasks belong to a region, so this provider addresses the
# region's own host instead (the rule the SDK itself applies to cn-shanghai). Any region not
# listed falls back to the same `ice.<region>.aliyuncs.com` rule; `endpoint` overrides both.
ICE_REGIONS: tuple[str, ...] = (
    "cn-shanghai",
    "cn-hangzhou",
    "cn-beijing",
    "cn-shenzhen",
    "cn-qingdao",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-chengdu",
    "cn-hongkong",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-west-1",
    "me-east-1",
)

ICE_REGION_HOSTS = {region: f"ice.{region}.aliyuncs.com" for region in ICE_REGIONS}

# The IMS console shows workflow templates at /settings/workflow/list (linked from the SDK's
# own docstrings). The page of a single workflow task is UNCONFIRMED: this URL opens the task
# list of that area filtered to the task id.
CONSOLE_TASK_URL = "https://ims.console.aliyun.com/settings/workflow/task/list"

USER_DATA_MAX_BYTES = 512
LIST_PAGE_MAX = 100

GET_WORKFLOW_TASK = "GetWorkflowTask"
START_WORKFLOW = "StartWorkflow"
LIST_WORKFLOW_TASKS = "ListWorkflowTasks"


def _explain(code: str | None, message: str) -> str:
    if code and ("NotFound" in code or "NotExist" in code) and not code.startswith("InvalidAccessKeyId"):
        return (
            f"{message} (ICE only answers GetWorkflowTask for workflow tasks created within the "
            "last year; an older task can no longer be queried)"
        )
    return message


class IceHook(CloudflowsHook):
    """Read, start and list ICE workflow tasks (connection type `alibabacloud`).

    `get_run(task_id)` returns a WorkflowRun whose task runs are the nodes of the task's
    `ActivityResults`; `detail` keeps the task as ICE sent it plus the decoded JSON fields.
    ICE only answers GetWorkflowTask for tasks created within the last year, and
    ListWorkflowTasks only covers the last 90 days.
    """

    product = ICE
    protocol = AlibabaRpc(
        ICE.name,
        product="ice",
        api_version="2020-11-09",
        region_hosts=ICE_REGION_HOSTS,
        explain=_explain,
    )
    lazy_modules = ("airflow_provider_cloudflows.models.ice",)

    # -- reading one task ---------------------------------------------------------------------------

    @sync_and_async
    def get_run(self, run_id: str, **params: Any) -> Operation[WorkflowRun]:
        """GetWorkflowTask: the task with one task run per node of its ActivityResults."""
        from airflow_provider_cloudflows.models.ice import GetWorkflowTaskResponse, parse, to_workflow_run

        if params:
            raise InvalidRequestError(
                f"GetWorkflowTask takes only the task id, not {sorted(params)}", vendor=self.vendor
            )
        # Named as the sensor and operators name it: `task_id` is Airflow's own argument.
        task_id = _require_text(run_id, "workflow_task_id (the ICE TaskId)")
        body = yield self.protocol.request(
            self.credentials, GET_WORKFLOW_TASK, query={"TaskId": task_id}, run_id=task_id
        )
        response = parse(GetWorkflowTaskResponse, body, action=GET_WORKFLOW_TASK, run_id=task_id)
        return to_workflow_run(response.WorkflowTask, request_id=response.RequestId)

    # -- starting a task ------------------------------------------------------------------------------

    def start_run(
        self,
        workflow_id: str,
        task_input: Mapping[str, Any] | str,
        user_data: Mapping[str, Any] | str | None = None,
        *,
        skip_input_verification: bool | None = None,
    ) -> str:
        """Submit a workflow task (StartWorkflow) and return its TaskId.

        :param workflow_id: the workflow template id.
        :param task_input: `{"Type": "OSS" | "Media", "Media": "<url or media id>"}`, or that as JSON text.
        :param user_data: JSON object (or text) of at most 512 bytes, e.g. a callback URL.
        """
        from airflow_provider_cloudflows.models.ice import StartWorkflowResponse, parse

        user_data_text = _json_text(user_data) if user_data is not None else None
        if user_data_text is not None and len(user_data_text.encode()) > USER_DATA_MAX_BYTES:
            raise InvalidRequestError(
                f"UserData is {len(user_data_text.encode())} bytes; "
                f"ICE accepts at most {USER_DATA_MAX_BYTES}",
                vendor=self.vendor,
                action=START_WORKFLOW,
            )
        query = {
            "WorkflowId": _require_text(workflow_id, "workflow_id"),
            "TaskInput": _json_text(task_input),
            "UserData": user_data_text,
            "SkipInputVerification": skip_input_verification,
        }
        # Not idempotent: a retried StartWorkflow could start the workflow twice.
        body = self.call(self.request(START_WORKFLOW, query=query, idempotent=False))
        return parse(StartWorkflowResponse, body, action=START_WORKFLOW).TaskId

    # -- listing tasks --------------------------------------------------------------------------------

    @sync_and_async_pages
    def list_runs(
        self,
        workflow_id: str | None = None,
        *,
        workflow_name: str | None = None,
        key_text: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        max_results: int = LIST_PAGE_MAX,
        limit: int | None = None,
    ) -> PagedOperation[WorkflowRun]:
        """Workflow tasks of the last 90 days (ListWorkflowTasks), newest first, over every page.

        :param workflow_id / workflow_name: only tasks of this workflow template.
        :param key_text: only tasks whose TaskInput contains this text (a file name, a media id).
        :param created_after / created_before: the creation-time window (StartOfCreateTime /
            EndOfCreateTime; datetime or ISO text, naive means UTC). ICE lists the last 90 days
            only, whatever the window says.
        :param max_results: page size, 1-100.
        :param limit: stop after this many tasks.

        Yields task summaries as pages arrive (ICE lists no node results: `get_run` reads them);
        `alist_runs` is the same as an async iterator. ListWorkflowTasks has no state filter.
        """
        from airflow_provider_cloudflows.models.ice import ListWorkflowTasksResponse, parse, to_workflow_run

        query = _list_query(workflow_id, workflow_name, key_text, created_after, created_before, max_results)
        guard = PageGuard(self.log, self.vendor, LIST_WORKFLOW_TASKS, limit=limit)
        while True:
            body = yield self.request(LIST_WORKFLOW_TASKS, query=query)
            page = parse(ListWorkflowTasksResponse, body, action=LIST_WORKFLOW_TASKS)
            tasks = guard.fresh(page.TaskList, lambda task: task.TaskId)
            yield Page([to_workflow_run(task, request_id=page.RequestId) for task in tasks])
            token = page.NextToken
            # A token seen before, a page of tasks already seen, the limit or the page bound ends it too.
            if not token or not page.TaskList or not guard.more(token):
                return
            query = {**query, "NextToken": token}

    # -- links, connection test -----------------------------------------------------------------------

    def console_url_for(self, task_id: str) -> str:
        query = {"taskId": task_id}
        region = self._region_override or self._connection_region()
        if region:
            query["regionId"] = region
        return f"{CONSOLE_TASK_URL}?{urlencode(query)}"

    def console_url(self, run: WorkflowRun) -> str | None:
        return self.console_url_for(run.run_id)

    def _connection_region(self) -> str | None:
        try:
            return self.credentials.region
        except Exception:  # a link must never fail a task
            return None

    def check_connection(self) -> str:
        from airflow_provider_cloudflows.models.ice import ListWorkflowTasksResponse, parse

        body = self.call(self.request(LIST_WORKFLOW_TASKS, query={"MaxResults": 1}))
        page = parse(ListWorkflowTasksResponse, body, action=LIST_WORKFLOW_TASKS)
        total = page.TotalCount if page.TotalCount is not None else len(page.TaskList)
        return f"Connected to Alibaba Cloud ICE ({total} workflow tasks in the last 90 days)"


def _list_query(
    workflow_id: str | None,
    workflow_name: str | None,
    key_text: str | None,
    created_after: datetime | str | None,
    created_before: datetime | str | None,
    max_results: int,
) -> dict[str, Any]:
    if not 1 <= max_results <= LIST_PAGE_MAX:
        raise InvalidRequestError(
            f"max_results must be 1-{LIST_PAGE_MAX}, got {max_results}",
            vendor=ICE.name,
            action=LIST_WORKFLOW_TASKS,
        )
    return {
        "WorkflowId": workflow_id,
        "WorkflowName": workflow_name,
        "KeyText": key_text,
        "StartOfCreateTime": _iso_utc(created_after),
        "EndOfCreateTime": _iso_utc(created_before),
        "MaxResults": max_results,
    }


def _require_text(value: Any, name: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise InvalidRequestError(f"{name} must not be empty", vendor=ICE.name)
    return text


def _json_text(value: Mapping[str, Any] | str) -> str:
    """ICE wants TaskInput/UserData as JSON text; a mapping is serialized compactly."""
    if isinstance(value, str):
        return value
    return json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False)


def _iso_utc(value: datetime | str | None) -> str | None:
    """ICE's time format: yyyy-MM-ddTHH:mm:ssZ in UTC (ISO text in any offset is converted)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            raise InvalidRequestError(
                f"cannot read {value!r} as a date-time: write ISO 8601, e.g. 2025-08-06T02:00:00+08:00",
                vendor=ICE.name,
                action=LIST_WORKFLOW_TASKS,
            )
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
