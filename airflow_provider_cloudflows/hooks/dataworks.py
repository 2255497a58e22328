"""Alibaba Cloud DataWorks (OpenAPI 2024-05-18): workflow instances and their task instances.

Reads go through `GetWorkflowInstance` (GET, `Id` in the query) and, for the task instances,
every page of `ListTaskInstances` (POST form body); a failed task instance's log through
`GetTaskInstanceLog` (GET, `Id` and `RunNumber`). Instances are started with the asynchronous
`CreateWorkflowInstances` + `GetCreateWorkflowInstancesResult` pair, their failed task instances
rerun with the asynchronous `RerunWorkflowInstances` + `GetRerunWorkflowInstancesResult` pair, and
instances stopped with `StopWorkflowInstances`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.errors import InvalidRequestError, VendorApiError
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
from airflow_provider_cloudflows.runs import StopResult

if TYPE_CHECKING:
    from airflow_provider_cloudflows.models.dataworks import TaskInstance, WorkflowInstance
    from airflow_provider_cloudflows.runs import TaskRun, WorkflowRun

DATAWORKS = PRODUCTS["dataworks"]
DATAWORKS_VENDOR = DATAWORKS.name
MAX_TASK_PAGE_SIZE = 500
# Where a person sees a workspace's Operation Center. The `/<region>/<module>?defaultProjectId=`
# shape is the one DataWorks console pages use; that the Operation Center module is `ops` and
# that it reads `workflowInstanceId` to open one instance is UNCONFIRMED (no public page states
# the deep link): at worst the link opens the right workspace's Operation Center.
CONSOLE_URL = (
    "https://dataworks.data.aliyun.com/{region}/ops?defaultProjectId={project_id}&workflowInstanceId={id}"
)

# The official SDK's endpoint map sends these public regions to the central host.
DATAWORKS_REGION_HOSTS = dict.fromkeys(
    (
        "ap-south-1",
        "ap-southeast-2",
        "cn-fujian",
        "cn-huhehaote",
        "cn-qingdao",
        "cn-wuhan",
        "cn-zhangbei",
    ),
    "dataworks.aliyuncs.com",
)

# What `with_task_runs` accepts: always, never, or only when the instance is in one of these raw states.
TaskRunsWanted = bool | Collection[str]


# What ListWorkflowInstances sorts by (SDK docstring of SortBy) and its instance types (`Type`).
SORT_FIELDS = ("Id", "TriggerTime", "StartedTime", "FinishedTime", "CreateTime")
INSTANCE_TYPES = ("Normal", "Manual", "SmokeTest", "SupplementData", "ManualWorkflow", "TriggerWorkflow")

# A business date as callers give it: epoch ms, a date, a datetime, or text of either.
BizDate = int | str | date | datetime

# Business dates are midnight in the workspace's time zone; DataWorks' mainland regions run on
# Beijing time (UTC+8), and so does this provider's reading of a date.
BEIJING = timezone(timedelta(hours=8))

# DataWorks ids are Java longs.
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+")


def parse_instance_id(value: Any, what: str = "workflow instance id") -> int:
    """DataWorks ids are positive integers; templates render them as text, so accept ASCII digit
    strings too - exactly digits: no spaces, signs, underscores or other scripts' digits."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value) and 0 < int(value) <= MAX_ID:
        return int(value)
    raise InvalidRequestError(
        f"a DataWorks {what} is a positive integer, got {value!r}: write it in ASCII digits only, "
        "without spaces or a sign (e.g. 1001)",
        vendor=DATAWORKS_VENDOR,
    )


def biz_date_ms(value: BizDate) -> int:
    """A business date as DataWorks wants it: midnight Beijing time (UTC+8), epoch milliseconds.

    A date, `YYYY-MM-DD` text (what `{{ ds }}` renders) or `YYYYMMDD` text is that day; a datetime (or ISO text
    of one) is the day it falls on - in Beijing time when it has a time zone, as written when
    naive; an int (or digit text) is taken as epoch milliseconds already.
    """
    if isinstance(value, bool):
        raise _bad_biz_date(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.fullmatch(text) and len(text) > 8:
            return int(text)
        if _DIGITS.fullmatch(text) and len(text) == 8:  # {{ ds_nodash }}, DataWorks' own $bizdate
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise _bad_biz_date(value) from None
    if isinstance(value, datetime):
        value = value.astimezone(BEIJING).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=BEIJING).timestamp() * 1000)
    raise _bad_biz_date(value)


def _bad_biz_date(value: Any) -> InvalidRequestError:
    return InvalidRequestError(
        f"biz_date {value!r} is not a business date: give a date, 'YYYY-MM-DD' text such as "
        "'{{ ds }}', a datetime, or epoch milliseconds",
        vendor=DATAWORKS_VENDOR,
    )


class DataWorksHook(CloudflowsHook):
    """DataWorks workflow instances over the `alibabacloud` connection.

    :param alibabacloud_conn_id: the Airflow connection (AccessKey id as login, secret as password,
        extras `region` and optionally `endpoint`, `security_token`).
    :param task_page_size: task instances per ListTaskInstances page (1-500).

    ``get_run(instance_id, with_task_runs=True)`` returns a WorkflowRun whose ``task_runs`` are the
    instance's task instances. ``with_task_runs`` may also be a collection of raw states: the task
    instances are then read only while the instance is in one of them (the sensor uses this to
    read them once, when the instance finishes).
    """

    product = DATAWORKS
    protocol = AlibabaRpc(
        DATAWORKS.name,
        product="dataworks",
        api_version="2024-05-18",
        region_hosts=DATAWORKS_REGION_HOSTS,
    )
    lazy_modules = ("airflow_provider_cloudflows.models.dataworks",)

    def __init__(
        self,
        alibabacloud_conn_id: str | None = None,
        *,
        task_page_size: int = MAX_TASK_PAGE_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(alibabacloud_conn_id, **kwargs)
        if not 1 <= int(task_page_size) <= MAX_TASK_PAGE_SIZE:
            raise ValueError(
                f"task_page_size must be between 1 and {MAX_TASK_PAGE_SIZE}, got {task_page_size}"
            )
        self.task_page_size = int(task_page_size)

    # -- reading an instance --------------------------------------------------------------------

    @sync_and_async
    def get_run(
        self, instance_id: int | str, with_task_runs: TaskRunsWanted = True
    ) -> Operation[WorkflowRun]:
        """Read one workflow instance (GetWorkflowInstance) and, if asked, all its task instances."""
        from airflow_provider_cloudflows.models.dataworks import (
            GetWorkflowInstanceResponse,
            parse,
            to_workflow_run,
        )

        instance_id = parse_instance_id(instance_id)
        payload = yield self.request(
            "GetWorkflowInstance", method="GET", query={"Id": instance_id}, run_id=str(instance_id)
        )
        instance = parse(
            GetWorkflowInstanceResponse, payload, action="GetWorkflowInstance", run_id=str(instance_id)
        ).WorkflowInstance
        tasks: list[TaskInstance] = []
        if _wants_task_runs(with_task_runs, instance.Status):
            tasks = yield from self._task_instances(instance)
        return to_workflow_run(instance, tasks)

    def _task_instances(self, instance: WorkflowInstance) -> Operation[list[TaskInstance]]:
        """Every page of ListTaskInstances for one workflow instance, in id order, without duplicates."""
        from airflow_provider_cloudflows.models.dataworks import ListTaskInstancesResponse, parse

        run_id = str(instance.Id)
        if instance.BizDate is None or instance.ProjectId is None:
            # ListTaskInstances requires both; without them the instance is still worth reporting.
            self.log.warning(
                "DataWorks workflow instance %s has no BizDate/ProjectId; cannot list its task instances",
                run_id,
            )
            return []
        form: dict[str, Any] = {
            "Bizdate": instance.BizDate,  # sic: lowercase d for ListTaskInstances
            "ProjectId": instance.ProjectId,
            "WorkflowInstanceId": instance.Id,
            "ProjectEnv": instance.EnvType,
            # A stable order keeps pages from overlapping or skipping while instances change state.
            "SortBy": "Id Asc",
            "PageSize": self.task_page_size,
        }
        tasks: dict[int, TaskInstance] = {}
        guard = PageGuard(self.log, self.vendor, "ListTaskInstances")
        page_number = 1
        while True:
            payload = yield self.request(
                "ListTaskInstances", form={**form, "PageNumber": page_number}, run_id=run_id
            )
            page = parse(
                ListTaskInstancesResponse, payload, action="ListTaskInstances", run_id=run_id
            ).PagingInfo
            for task in guard.fresh(page.TaskInstances, lambda task: task.Id):
                tasks[task.Id] = task
            page_size = page.PageSize or self.task_page_size
            if not page.TaskInstances or page_number * page_size >= (page.TotalCount or 0):
                return list(tasks.values())
            # A server that repeats its page (or a TotalCount that never comes) ends here.
            if not guard.more():
                return list(tasks.values())
            page_number += 1

    def get_task_instance(self, task_instance_id: int | str) -> TaskRun:
        """One task instance (GetTaskInstance), normalized."""
        from airflow_provider_cloudflows.models.dataworks import (
            GetTaskInstanceResponse,
            parse,
            task_instance_to_task_run,
        )

        task_id = parse_instance_id(task_instance_id, "task instance id")
        payload = self.call(
            self.request("GetTaskInstance", method="GET", query={"Id": task_id}, run_id=str(task_id))
        )
        response = parse(GetTaskInstanceResponse, payload, action="GetTaskInstance", run_id=str(task_id))
        return task_instance_to_task_run(response.TaskInstance)

    def get_task_instance_log(self, task_instance_id: int | str, run_number: int | None = None) -> str:
        """The log of one run of a task instance (GetTaskInstanceLog; default its latest run)."""
        from airflow_provider_cloudflows.models.dataworks import GetTaskInstanceLogResponse, parse

        task_id = parse_instance_id(task_instance_id, "task instance id")
        action = "GetTaskInstanceLog"
        query: dict[str, Any] = {"Id": task_id}
        if run_number is not None:
            query["RunNumber"] = run_number
        payload = self.call(self.request(action, method="GET", query=query, run_id=str(task_id)))
        return (
            parse(GetTaskInstanceLogResponse, payload, action=action, run_id=str(task_id)).TaskInstanceLog
            or ""
        )

    def failed_task_logs(
        self, run: WorkflowRun, *, max_task_runs: int, max_bytes: int
    ) -> list[tuple[str, str]]:
        """The end of the log of each failed task instance's run that failed (its RunNumber)."""
        from airflow_provider_cloudflows.task_logs import excerpt, task_run_header

        logs: list[tuple[str, str]] = []
        for task_run in run.failed_task_runs()[:max_task_runs]:
            run_number = task_run.detail.get("RunNumber")
            text = self.get_task_instance_log(
                task_run.task_run_id or "", run_number if isinstance(run_number, int) else None
            )
            shown = excerpt(text, max_bytes)
            what = f"log of run {run_number}" if isinstance(run_number, int) else "log"
            logs.append((task_run_header(self.vendor, task_run, what, shown), shown.text))
        return logs

    # -- listing instances ---------------------------------------------------------------------

    @sync_and_async_pages
    def list_runs(
        self,
        *,
        project_id: int | str,
        biz_date: BizDate,
        workflow_id: int | str | None = None,
        instance_type: str | None = None,
        name: str | None = None,
        env_type: str | None = None,
        tags: list[dict[str, str]] | None = None,
        sort_by: str = "Id Desc",
        page_size: int = 100,
        limit: int | None = None,
        max_pages: int | None = None,
    ) -> PagedOperation[WorkflowRun]:
        """Workflow instances of one business date (ListWorkflowInstances), newest first, every page.

        :param project_id: the workspace; required by DataWorks.
        :param biz_date: the business date, required by DataWorks: epoch milliseconds, a date,
            `YYYY-MM-DD` text or a datetime (see `biz_date_ms` for the time zone rule).
        :param workflow_id: only instances of this workflow.
        :param instance_type: `Normal` (periodic), `Manual`, `SmokeTest`, `SupplementData`,
            `ManualWorkflow` or `TriggerWorkflow`; default every type.
        :param name: only instances whose name contains this (DataWorks' fuzzy match).
        :param env_type: `Prod` or `Dev`.
        :param tags: only instances carrying any of these tags (`[{"Key": ..., "Value": ...}]`).
        :param sort_by: `<field> Desc|Asc` with field Id, TriggerTime, StartedTime, FinishedTime or
            CreateTime (default `Id Desc`: the newest instance first).
        :param page_size: instances per page, 1-500.
        :param limit: stop after this many instances.

        Yields instances without task runs (`get_run` reads those); `alist_runs` is the same as
        an async iterator.
        """
        from airflow_provider_cloudflows.models.dataworks import (
            ListWorkflowInstancesResponse,
            parse,
            to_workflow_run,
        )

        action = "ListWorkflowInstances"
        if not 1 <= int(page_size) <= MAX_TASK_PAGE_SIZE:
            raise InvalidRequestError(
                f"page_size must be 1-{MAX_TASK_PAGE_SIZE}, got {page_size}",
                vendor=self.vendor,
                action=action,
            )
        field_name, _, direction = str(sort_by).strip().partition(" ")
        if field_name not in SORT_FIELDS or direction.strip() not in ("", "Asc", "Desc"):
            raise InvalidRequestError(
                f"sort_by {sort_by!r} is not one DataWorks knows: write '<field> Desc' or '<field> Asc' "
                f"with field one of {', '.join(SORT_FIELDS)}",
                vendor=self.vendor,
                action=action,
            )
        if instance_type is not None and instance_type not in INSTANCE_TYPES:
            raise InvalidRequestError(
                f"instance_type {instance_type!r} is not a DataWorks instance type: one of "
                f"{', '.join(INSTANCE_TYPES)} (Normal is the periodic instance)",
                vendor=self.vendor,
                action=action,
            )
        form: dict[str, Any] = {
            "BizDate": biz_date_ms(biz_date),  # sic: capital D for ListWorkflowInstances
            "ProjectId": parse_instance_id(project_id, "project id"),
            "WorkflowId": parse_instance_id(workflow_id, "workflow id") if workflow_id is not None else None,
            "Type": instance_type,
            "Name": name or None,
            "EnvType": env_type or None,
            "Tags": tags or None,
            "SortBy": sort_by,
            "PageSize": int(page_size),
        }
        guard = PageGuard(self.log, self.vendor, action, max_pages=max_pages, limit=limit)
        page_number = 1
        while True:
            payload = yield self.request(action, form={**form, "PageNumber": page_number})
            page = parse(ListWorkflowInstancesResponse, payload, action=action).PagingInfo
            yield Page([to_workflow_run(i) for i in guard.fresh(page.WorkflowInstances, lambda i: i.Id)])
            if not page.WorkflowInstances or page_number * (page.PageSize or page_size) >= (
                page.TotalCount or 0
            ):
                return
            if not guard.more():
                return
            page_number += 1

    # -- starting and stopping ----------------------------------------------------------------

    def start_runs(
        self,
        *,
        project_id: int | str,
        workflow_id: int | str,
        name: str,
        instance_type: str = "ManualWorkflow",
        env_type: str | None = None,
        auto_start: bool | None = None,
        comment: str | None = None,
        default_run_properties: Mapping[str, Any] | None = None,
        periods: Mapping[str, Any] | None = None,
        task_parameters: Mapping[str, Any] | str | None = None,
        workflow_parameters: Mapping[str, Any] | str | None = None,
        tags: list[dict[str, str]] | None = None,
        tag_creation_policy: str | None = None,
        poll_interval: float = 2.0,
        create_timeout: float = 600.0,
    ) -> list[int]:
        """Create workflow instances (CreateWorkflowInstances) and return their ids once created.

        The call is asynchronous at DataWorks: the hook polls GetCreateWorkflowInstancesResult
        every `poll_interval` seconds until the result is `Created` (or fails on `CreateFailure`
        with DataWorks' FailureMessage, or after `create_timeout` seconds). CreateWorkflowInstances
        is never retried once it may have reached DataWorks, so a flaky network cannot create twice.
        """
        form = {
            "Name": name,
            "ProjectId": parse_instance_id(project_id, "project id"),
            "WorkflowId": parse_instance_id(workflow_id, "workflow id"),
            "Type": instance_type,
            "EnvType": env_type,
            "AutoStartEnabled": auto_start,
            "Comment": comment,
            "DefaultRunProperties": dict(default_run_properties) if default_run_properties else None,
            "Periods": dict(periods) if periods else None,
            "TaskParameters": _as_json_param(task_parameters),
            "WorkflowParameters": _as_json_param(workflow_parameters),
            "Tags": tags or None,
            "TagCreationPolicy": tag_creation_policy,
        }
        operation_id = self._create(form)
        self.log.info("DataWorks is creating workflow instances (operation %s)", operation_id)
        return self.wait_for(
            lambda: self._create_result(operation_id),
            what=f"creating workflow instances (operation {operation_id})",
            action="GetCreateWorkflowInstancesResult",
            poll_interval=poll_interval,
            timeout=create_timeout,
        )

    def _create(self, form: dict[str, Any]) -> str:
        from airflow_provider_cloudflows.models.dataworks import CreateWorkflowInstancesResponse, parse

        payload = self.call(self.request("CreateWorkflowInstances", form=form, idempotent=False))
        return parse(CreateWorkflowInstancesResponse, payload, action="CreateWorkflowInstances").OperationId

    def _create_result(self, operation_id: str) -> list[int] | None:
        """The created instance ids, or None while DataWorks is still creating them."""
        from airflow_provider_cloudflows.models.dataworks import (
            GetCreateWorkflowInstancesResultResponse,
            parse,
        )

        action = "GetCreateWorkflowInstancesResult"
        payload = self.call(self.request(action, method="GET", query={"OperationId": operation_id}))
        response = parse(GetCreateWorkflowInstancesResultResponse, payload, action=action)
        result = response.Result
        if result.Status == "Created":
            if not result.WorkflowInstanceIds:
                raise VendorApiError(
                    f"DataWorks reported operation {operation_id} Created but gave no workflow instance ids",
                    vendor=self.vendor,
                    action=action,
                    request_id=response.RequestId,
                )
            return list(result.WorkflowInstanceIds)
        if result.Status == "CreateFailure":
            raise VendorApiError(
                "DataWorks could not create the workflow instances: "
                + (result.FailureMessage or "no reason given"),
                vendor=self.vendor,
                action=action,
                code="CreateFailure",
                request_id=response.RequestId,
            )
        if result.Status != "Creating":
            self.log.warning(
                "Unexpected creation status %r for operation %s; polling on", result.Status, operation_id
            )
        return None

    @sync_and_async
    def stop_runs(
        self, instance_ids: Collection[int | str], comment: str | None = None
    ) -> Operation[StopResult]:
        """Stop workflow instances (StopWorkflowInstances); per-id failures are logged and returned.

        DataWorks reports stopped instances as `Failure` (it has no separate stopped state).
        """
        from airflow_provider_cloudflows.models.dataworks import StopWorkflowInstancesResponse, parse

        ids = [parse_instance_id(i) for i in instance_ids]
        if not ids:
            return StopResult()
        action = "StopWorkflowInstances"
        # Stopping is safe to repeat (a second stop of a stopped instance changes nothing), so the
        # request keeps the default retry on 5xx: on_kill should not give up on a passing fault.
        payload = yield self.request(
            action, form={"Ids": ids, "Comment": comment}, run_id=",".join(map(str, ids))
        )
        info = parse(StopWorkflowInstancesResponse, payload, action=action).SuccessInfo
        stopped: list[int] = []
        failed: dict[int, str] = {}
        for instance_id in ids:
            outcome = info.get(str(instance_id))
            if outcome is None:
                failed[instance_id] = "DataWorks reported no result for this instance"
            elif outcome.Success:
                stopped.append(instance_id)
            else:
                failed[instance_id] = outcome.Message or "DataWorks gave no reason"
        for instance_id, message in failed.items():
            self.log.warning("DataWorks did not stop workflow instance %s: %s", instance_id, message)
        return StopResult(stopped=stopped, failed=failed)

    @sync_and_async
    def stop_started(
        self, run_ids: Collection[int | str], comment: str | None = None
    ) -> Operation[StopResult]:
        """What the trigger and the operators call to stop the instances a task created."""
        return (yield from self.stop_runs.operation(self, run_ids, comment))

    # -- rerunning failed task instances ------------------------------------------------------

    def rerun_failed(
        self,
        *,
        project_id: int | str,
        workflow_id: int | str,
        instance_ids: Collection[int | str],
        instance_type: str = "ManualWorkflow",
        env_type: str | None = None,
        task_instance_statuses: Collection[str] = ("Failure",),
        rerun_downstream: bool = True,
        task_ids: Collection[int | str] | None = None,
        poll_interval: float = 2.0,
        rerun_timeout: float = 600.0,
    ) -> None:
        """Rerun the failed task instances of workflow instances (RerunWorkflowInstances), then
        poll GetRerunWorkflowInstancesResult until DataWorks reports the rerun done.

        `Ids` is always sent: without it the request matches every instance of the workflow.
        `task_instance_statuses` picks the task instances to rerun (by default the failed ones),
        `rerun_downstream` also reruns what depends on them, `task_ids` (task ids of the workflow,
        not task instance ids) narrows the choice. Not retried once it may have reached DataWorks.
        """
        ids = [parse_instance_id(i) for i in instance_ids]
        if not ids:
            raise InvalidRequestError("no workflow instance ids to rerun", vendor=self.vendor)
        task_filter: dict[str, Any] = {
            "TaskInstanceStatuses": list(task_instance_statuses),
            "RerunDownstreamEnabled": bool(rerun_downstream),
        }
        if task_ids:
            task_filter["TaskIds"] = [parse_instance_id(t, "task id") for t in task_ids]
        form = {
            "ProjectId": parse_instance_id(project_id, "project id"),
            "WorkflowId": parse_instance_id(workflow_id, "workflow id"),
            "Type": instance_type,
            "EnvType": env_type,
            "Ids": ids,
            "Filter": task_filter,
        }
        operation_id = self._rerun(form, ids)
        self.log.info("DataWorks is rerunning workflow instances %s (operation %s)", ids, operation_id)
        self.wait_for(
            lambda: self._rerun_result(operation_id),
            what=f"rerunning workflow instances {ids} (operation {operation_id})",
            action="GetRerunWorkflowInstancesResult",
            poll_interval=poll_interval,
            timeout=rerun_timeout,
        )

    def _rerun(self, form: dict[str, Any], ids: list[int]) -> str:
        from airflow_provider_cloudflows.models.dataworks import RerunWorkflowInstancesResponse, parse

        action = "RerunWorkflowInstances"
        run_id = ",".join(map(str, ids))
        payload = self.call(self.request(action, form=form, idempotent=False, run_id=run_id))
        return parse(RerunWorkflowInstancesResponse, payload, action=action, run_id=run_id).OperationId

    def _rerun_result(self, operation_id: str) -> bool | None:
        """True once the rerun is done, None while DataWorks has not run it yet; raises on Failure."""
        from airflow_provider_cloudflows.models.dataworks import (
            GetRerunWorkflowInstancesResultResponse,
            parse,
        )

        action = "GetRerunWorkflowInstancesResult"
        payload = self.call(self.request(action, query={"OperationId": operation_id}))
        response = parse(GetRerunWorkflowInstancesResultResponse, payload, action=action)
        status = response.Result.Status
        if status == "Success":
            return True
        if status == "Failure":
            raise VendorApiError(
                "DataWorks could not rerun the workflow instances: "
                + (response.Result.FailureMessage or "no reason given"),
                vendor=self.vendor,
                action=action,
                code="RerunFailure",
                request_id=response.RequestId,
            )
        if status != "NotRun":
            self.log.warning("Unexpected rerun status %r for operation %s; polling on", status, operation_id)
        return None

    @staticmethod
    def rerun_count(run: WorkflowRun) -> int:
        """How often the instance's task instances have run in all (RunNumber grows with each rerun)."""
        return sum(int(t.detail.get("RunNumber") or 1) for t in run.task_runs)

    # -- console ------------------------------------------------------------------------------

    def console_url(self, run: WorkflowRun) -> str | None:
        return self.instance_console_url(run.run_id, run.detail.get("ProjectId"))

    def instance_console_url(self, instance_id: int | str, project_id: int | str | None) -> str | None:
        """The Operation Center URL of one instance; None without a region or project id."""
        region = self.region
        if not region or project_id is None:
            return None
        return CONSOLE_URL.format(region=region, project_id=project_id, id=instance_id)


def _wants_task_runs(with_task_runs: TaskRunsWanted, status: str | None) -> bool:
    if isinstance(with_task_runs, bool):
        return with_task_runs
    if isinstance(with_task_runs, str):  # one raw state, not a collection of characters
        return status == with_task_runs
    return status in with_task_runs


def _as_json_param(value: Mapping[str, Any] | str | None) -> dict[str, Any] | str | None:
    # Dicts go out as JSON text (the hook's form encoding does that); text is passed as given.
    if value is None or isinstance(value, str):
        return value or None
    return dict(value)
