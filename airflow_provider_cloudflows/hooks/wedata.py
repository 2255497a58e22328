"""Tencent Cloud WeData (API 3.0, version 2025-08-06): workflow runs of the workflow-scheduling model.

Read a run with GetTriggerWorkflowRun (the run and all its task runs in one call), start one with
CreateTriggerWorkflowRun, stop runs with KillTriggerWorkflowRuns, rerun a run's failed tasks with
RerunTriggerWorkflowRunAsync (observed with GetOpsAsyncJob), list runs page by page with
ListTriggerWorkflowRuns. Signing and errors come from the API 3.0 protocol, retries from the core.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow_provider_cloudflows.errors import (
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    VendorApiError,
)
from airflow_provider_cloudflows.hooks.base import CloudflowsHook
from airflow_provider_cloudflows.hooks.operations import (
    Page,
    PagedOperation,
    sync_and_async,
    sync_and_async_pages,
)
from airflow_provider_cloudflows.hooks.paging import PageGuard
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.protocols.request import Operation
from airflow_provider_cloudflows.protocols.tencent_api3 import TencentApi3
from airflow_provider_cloudflows.runs import StopResult

if TYPE_CHECKING:
    from airflow_provider_cloudflows.models.wedata import ExecutionActionBrief, TriggerWorkflowRunBrief
    from airflow_provider_cloudflows.runs import WorkflowRun

# UNCONFIRMED: no public page documents a deep link to one workflow run. This points at the Ops
# center of the WeData console with the run's identifiers as query parameters; the connection
# extra `console_url_template` overrides it ({project_id}, {workflow_id}, {execution_id}, {region}).
DEFAULT_CONSOLE_URL_TEMPLATE = (
    "https://console.cloud.tencent.com/wedata/ops/workflow-run"
    "?projectId={project_id}&workflowId={workflow_id}&executionId={execution_id}&region={region}"
)

WEDATA = PRODUCTS["wedata"]
VENDOR = WEDATA.name

ORDER_FIELDS = ("CreateTime", "EndTime", "ScheduleTime")
MAX_PAGE_SIZE = 200
# ScheduleTimeGreaterEqual / LessEqual: the format is not documented (UNCONFIRMED); this is the
# `yyyy-MM-dd HH:mm:ss` in China Standard Time that the same API version's ListTaskInstances
# documents for its schedule-time filters.
SCHEDULE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CHINA_TZ = timezone(timedelta(hours=8))


class WeDataHook(CloudflowsHook):
    """Workflow runs in Tencent Cloud WeData (connection type `tencentcloud`).

    The connection's `region` extra is required (WeData needs `X-TC-Region`); `endpoint`
    overrides the default host `https://wedata.tencentcloudapi.com` (e.g. a regional host
    `https://wedata.ap-guangzhou.tencentcloudapi.com`, the international
    `https://wedata.intl.tencentcloudapi.com`, or a local emulator).
    """

    product = WEDATA
    protocol = TencentApi3(VENDOR, service="wedata", api_version="2025-08-06", region_required=True)
    lazy_modules = ("airflow_provider_cloudflows.models.wedata",)
    # Trigger task runs have no log API in 2025-08-06: a failed run's task log shows these.
    error_detail_fields = (
        "ErrorCode",
        "ErrorCodeStr",
        "ExecutionResult",
        "TaskExecutionState",
        "TaskType",
        "JobId",
        "RetryTimes",
        "RerunTimes",
        "ExecutionStartTime",
        "ExecutionEndTime",
        "ResourceGroupName",
    )

    # -- read -----------------------------------------------------------------------------------

    @sync_and_async
    def get_run(
        self, execution_id: str, project_id: str | int | None = None, **_: Any
    ) -> Operation[WorkflowRun]:
        """Read one workflow run and all its task runs (GetTriggerWorkflowRun)."""
        from airflow_provider_cloudflows.models.wedata import to_workflow_run

        project = _require("project_id", project_id, "GetTriggerWorkflowRun")
        execution_id = _require("execution_id", execution_id, "GetTriggerWorkflowRun")
        try:
            payload = yield self.request(
                "GetTriggerWorkflowRun",
                {"ProjectId": project, "WorkflowExecutionId": execution_id},
                run_id=execution_id,
            )
        except NotFoundError as err:
            raise _run_not_found(err, execution_id, project_id) from err
        return to_workflow_run(payload, execution_id=execution_id, project_id=project)

    # -- start / stop ---------------------------------------------------------------------------

    def start_run(
        self,
        project_id: str | int,
        workflow_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        task_ids: Sequence[str] | None = None,
        scheduling_resource_group_id: str | None = None,
        integration_resource_group_id: str | None = None,
    ) -> str:
        """Start a run of a workflow (CreateTriggerWorkflowRun); return its WorkflowExecutionId.

        :param params: run parameters (AdvancedParams); empty means the workflow's latest configuration.
        :param task_ids: run only these tasks; empty means every task.
        """
        from airflow_provider_cloudflows.models.wedata import CreateTriggerWorkflowRunResponse, parse

        action = "CreateTriggerWorkflowRun"
        body: dict[str, Any] = {
            "ProjectId": _require("project_id", project_id, action),
            "WorkflowId": _require("workflow_id", workflow_id, action),
        }
        if params:
            body["AdvancedParams"] = _advanced_params(params)
        if task_ids:
            body["TaskIds"] = [str(t) for t in task_ids]
        if scheduling_resource_group_id:
            body["SchedulingResourceGroupId"] = scheduling_resource_group_id
        if integration_resource_group_id:
            body["IntegrationResourceGroupId"] = integration_resource_group_id
        # Not idempotent: a retried start could launch a second run.
        payload = self.call(self.request(action, body, idempotent=False))
        response = parse(CreateTriggerWorkflowRunResponse, payload, action=action)
        return self._answered(
            response.Data.WorkflowExecutionId if response.Data else None,
            response.RequestId,
            action,
            f"Data.WorkflowExecutionId for workflow {workflow_id}",
        )

    @sync_and_async
    def stop_runs(
        self, project_id: str | int, workflow_id: str, execution_ids: Iterable[str]
    ) -> Operation[list[ExecutionActionBrief]]:
        """Stop runs of one workflow (KillTriggerWorkflowRuns); per run, `OpStatus` says if it worked.

        The state a killed run ends in is not documented; it is reported as FAILED in practice
        (UNCONFIRMED), which the sensor treats as a failure.
        """
        from airflow_provider_cloudflows.models.wedata import KillTriggerWorkflowRunsResponse, parse

        action = "KillTriggerWorkflowRuns"
        execution_ids = list(execution_ids)
        if not execution_ids:
            raise InvalidRequestError("no execution ids to stop", vendor=self.vendor, action=action)
        body = {
            "ProjectId": _require("project_id", project_id, action),
            "WorkflowId": _require("workflow_id", workflow_id, action),
            "WorkflowExecutionIdList": [str(e) for e in execution_ids],
        }
        # Safe to repeat (killing a killed run changes nothing), so the default retries apply.
        payload = yield self.request(action, body, run_id=",".join(body["WorkflowExecutionIdList"]))
        return parse(KillTriggerWorkflowRunsResponse, payload, action=action).Data or []

    @sync_and_async
    def stop_started(
        self, run_ids: Iterable[str], project_id: str | int | None = None, workflow_id: str | None = None
    ) -> Operation[StopResult]:
        """What the trigger and the operators call to stop the runs a task started."""
        ids = [str(i) for i in run_ids]
        briefs = yield from self.stop_runs.operation(self, project_id, workflow_id, ids)
        failed = {
            b.ItemId or ids[0]: b.ErrorMessage or "WeData gave no reason"
            for b in briefs
            if b.OpStatus is False
        }
        for execution_id, message in failed.items():
            self.log.warning("WeData did not stop workflow run %s: %s", execution_id, message)
        # A run WeData does not report on was asked to stop and did not refuse.
        return StopResult(stopped=[i for i in ids if i not in failed], failed=failed)

    # -- rerun ----------------------------------------------------------------------------------

    def rerun_failed(
        self,
        project_id: str | int,
        workflow_id: str,
        execution_id: str,
        *,
        task_ids: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        poll_interval: float = 2.0,
        rerun_timeout: float = 600.0,
    ) -> str:
        """Rerun tasks of a finished run (RerunTriggerWorkflowRunAsync) and wait for WeData to accept it.

        With `task_ids` (or `params`) the rerun is an advanced run (ExecuteType 2) of only those
        tasks; without, a normal run of every task (ExecuteType 1). The request answers an AsyncId;
        GetOpsAsyncJob is polled until it reports SUCCESS (UNCONFIRMED: the API reference names
        GetOpsAsyncJob for the *Async operations of task instances; the emulator does the same for
        this one). The run keeps its execution id. Returns the AsyncId. Not retried once it may
        have reached WeData.
        """
        from airflow_provider_cloudflows.models.wedata import RerunTriggerWorkflowRunAsyncResponse, parse

        action = "RerunTriggerWorkflowRunAsync"
        body: dict[str, Any] = {
            "ProjectId": _require("project_id", project_id, action),
            "WorkflowId": _require("workflow_id", workflow_id, action),
            "WorkflowExecutionId": _require("execution_id", execution_id, action),
            "ExecuteType": "2" if task_ids or params else "1",
        }
        if task_ids:
            body["TaskIds"] = [str(t) for t in task_ids]
        if params:
            body["AdvancedParams"] = _advanced_params(params)
        payload = self.call(self.request(action, body, idempotent=False, run_id=execution_id))
        response = parse(RerunTriggerWorkflowRunAsyncResponse, payload, action=action, run_id=execution_id)
        async_id = self._answered(
            response.Data.AsyncId if response.Data else None,
            response.RequestId,
            action,
            f"Data.AsyncId for workflow run {execution_id}",
        )
        self.log.info("WeData is rerunning workflow run %s (async operation %s)", execution_id, async_id)
        self.wait_for(
            lambda: self._async_job_done(project_id, async_id),
            what=f"rerunning workflow run {execution_id} (async operation {async_id})",
            action="GetOpsAsyncJob",
            poll_interval=poll_interval,
            timeout=rerun_timeout,
        )
        return async_id

    def _async_job_done(self, project_id: str | int, async_id: str) -> bool | None:
        """True once the async operation succeeded, None while it runs; raises if it failed."""
        from airflow_provider_cloudflows.models.wedata import GetOpsAsyncJobResponse, parse

        action = "GetOpsAsyncJob"
        body = {"ProjectId": _require("project_id", project_id, action), "AsyncId": async_id}
        response = parse(GetOpsAsyncJobResponse, self.call(self.request(action, body)), action=action)
        status = response.Data.Status if response.Data else None
        if status == "SUCCESS":
            return True
        if status in ("FAIL", "PART_SUCCESS"):
            raise VendorApiError(
                f"WeData async operation {async_id} ended {status}: "
                + ((response.Data.ErrorDesc if response.Data else None) or "no reason given"),
                vendor=self.vendor,
                action=action,
                code=status,
                request_id=response.RequestId,
            )
        if status not in ("INIT", "RUNNING"):
            self.log.warning("Unexpected status %r of async operation %s; polling on", status, async_id)
        return None

    @staticmethod
    def rerun_count(run: WorkflowRun) -> int:
        """How often the run has been rerun (TriggerWorkflowRun.RerunTimes)."""
        return int(run.detail.get("TriggerWorkflowRun", {}).get("RerunTimes") or 0)

    def _answered(self, value: str | None, request_id: str | None, action: str, what: str) -> str:
        """The id a starting request answers; an answer without it is a vendor error, not a start."""
        if not value:
            raise InvalidResponseError(
                f"{action} answered without {what}", vendor=self.vendor, action=action, request_id=request_id
            )
        return value

    # -- list -----------------------------------------------------------------------------------

    @sync_and_async_pages
    def list_runs(
        self,
        project_id: str | int,
        *,
        workflow_id: str | Sequence[str] | None = None,
        scheduled_after: datetime | str | None = None,
        scheduled_before: datetime | str | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        order_by: str = "CreateTime",
        ascending: bool = False,
        page_size: int = 100,
        limit: int | None = None,
        max_pages: int | None = None,
    ) -> PagedOperation[WorkflowRun]:
        """Runs of a project (ListTriggerWorkflowRuns), newest first, following PageNumber to the end.

        :param workflow_id: only runs of this workflow, or of any of these workflows (one call
            for several: WeData's WorkflowId filter takes a list).
        :param scheduled_after / scheduled_before: the window on the runs' planned schedule time
            (ScheduleTimeGreaterEqual / ScheduleTimeLessEqual, both inclusive; datetime or ISO
            text, naive means UTC).
        :param filters: further vendor filters by name, e.g. {"ExecutionId": ["..."]} or
            {"Keyword": ["etl"]}.
        :param order_by: `CreateTime` (default), `EndTime` or `ScheduleTime`; newest first
            unless `ascending`.
        :param page_size: runs per page, 1-200.
        :param limit: stop after this many runs.

        Yields run summaries without task runs (`get_run` reads those); the brief WeData lists
        is `detail["TriggerWorkflowRun"]`. `alist_runs` is the same as an async iterator.
        """
        from airflow_provider_cloudflows.models.wedata import (
            ListTriggerWorkflowRunsResponse,
            brief_to_workflow_run,
            parse,
            wedata_time,
        )

        action = "ListTriggerWorkflowRuns"
        project = _require("project_id", project_id, action)
        if order_by not in ORDER_FIELDS:
            raise InvalidRequestError(
                f"order_by must be one of {', '.join(ORDER_FIELDS)}, not {order_by!r}",
                vendor=self.vendor,
                action=action,
            )
        if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
            raise InvalidRequestError(
                f"page_size must be 1-{MAX_PAGE_SIZE}, got {page_size}", vendor=self.vendor, action=action
            )
        after, before = _utc(scheduled_after, "scheduled_after"), _utc(scheduled_before, "scheduled_before")
        all_filters = {name: [str(v) for v in values] for name, values in (filters or {}).items()}
        if workflow_id:
            ids = [workflow_id] if isinstance(workflow_id, str) else list(workflow_id)
            all_filters["WorkflowId"] = [_require("workflow_id", i, action) for i in ids]
        if after is not None:
            all_filters["ScheduleTimeGreaterEqual"] = [_schedule_time_text(after)]
        if before is not None:
            all_filters["ScheduleTimeLessEqual"] = [_schedule_time_text(before)]
        body: dict[str, Any] = {
            "ProjectId": project,
            "PageSize": int(page_size),
            "OrderFields": [{"Name": order_by, "Direction": "ASC" if ascending else "DESC"}],
        }
        if all_filters:
            body["Filters"] = [{"Name": k, "Values": vs} for k, vs in all_filters.items()]

        def in_window(item: TriggerWorkflowRunBrief) -> bool:
            # The filter's time format is not documented: the window is checked here as well.
            scheduled = wedata_time(item.ScheduleTime)
            if scheduled is None:
                return True
            return (after is None or scheduled >= after) and (before is None or scheduled <= before)

        guard = PageGuard(self.log, self.vendor, action, max_pages=max_pages, limit=limit)
        page = 1
        while True:
            payload = yield self.request(action, {**body, "PageNumber": page})
            data = parse(ListTriggerWorkflowRunsResponse, payload, action=action).Data
            if data is None:
                return
            items = guard.fresh(data.Items, lambda item: item.ExecutionId, keep=in_window)
            yield Page([brief_to_workflow_run(item, project_id=project) for item in items])
            last = data.TotalPageNumber
            if last is None and data.TotalCount is not None:
                last = -(-data.TotalCount // max(int(page_size), 1))
            # Stop on the last page, an empty page (defends against a TotalPageNumber that never
            # arrives); a page of runs already seen, the limit or the page bound ends it too.
            if not data.Items or (last is not None and page >= last) or not guard.more():
                return
            page += 1

    # -- console --------------------------------------------------------------------------------

    def console_url(self, run: WorkflowRun) -> str | None:
        brief = run.detail.get("TriggerWorkflowRun", {})
        template = self.credentials.extras.get("console_url_template") or DEFAULT_CONSOLE_URL_TEMPLATE
        return fill_console_template(
            template,
            project_id=brief.get("ProjectId") or "",
            workflow_id=run.workflow_id or "",
            execution_id=run.run_id,
            region=self.credentials.region or "",
        )


def fill_console_template(template: str, **values: str) -> str:
    """A console URL from a template; values are URL-encoded so an odd id cannot break the link."""
    return template.format(**{k: urlencode({"": v})[1:] for k, v in values.items()})


def _require(name: str, value: Any, action: str) -> str:
    if value is None or str(value).strip() == "":
        raise InvalidRequestError(f"{action} needs {name}", vendor=VENDOR, action=action)
    return str(value)


def _utc(value: datetime | str | None, name: str) -> datetime | None:
    """A window bound as an aware datetime; naive means UTC; ISO text is read."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequestError(
                f"{name} {value!r} is not a date-time: write ISO 8601, e.g. 2025-08-06T02:00:00+08:00",
                vendor=VENDOR,
                action="ListTriggerWorkflowRuns",
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _schedule_time_text(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).strftime(SCHEDULE_TIME_FORMAT)


def _advanced_params(params: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"ParamKey": str(k), "ParamValue": _param_value(v)} for k, v in params.items()]


def _param_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _run_not_found(
    err: NotFoundError, execution_id: Any, project_id: Any, noun: str = "workflow run"
) -> NotFoundError:
    """Re-word a vendor's not-found so it names what was looked for; keeps every field of the original."""
    if str(execution_id) in err.message and str(project_id) in err.message:
        return err
    return NotFoundError(
        f"{noun} {execution_id} not found in project {project_id}: {err.message}",
        vendor=err.vendor,
        action=err.action,
        http_status=err.http_status,
        code=err.code,
        request_id=err.request_id,
        run_id=err.run_id or (str(execution_id) if execution_id is not None else None),
    )
