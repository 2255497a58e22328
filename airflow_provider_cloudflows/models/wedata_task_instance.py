"""Tencent Cloud WeData (API 2025-08-06) task instances: the runs of scheduled (periodic) tasks.

Field names are the vendor's (TaskInstance, TaskInstanceDetail, TaskInstancePage, InstanceLog in
the SDK's `tencentcloud/wedata/v20250806/models.py`). Every field is optional because the docs
say any of them "may return null"; unknown fields are kept so a new vendor field never breaks
parsing. Times are "yyyy-MM-dd HH:mm:ss" in the request's TimeZone (default UTC+8).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from airflow_provider_cloudflows.errors import NotFoundError
from airflow_provider_cloudflows.models.wedata import VENDOR, _WeDataModel, parse, wedata_time
from airflow_provider_cloudflows.runs import RunState, StateTable, TaskRun, WorkflowRun

# InstanceState, as the SDK docstring of TaskInstance / TaskInstanceDetail lists it, and the
# phases of InstanceExecutionPhase.DetailState that say which ones are final.
WEDATA_TASK_INSTANCE_STATES = StateTable(
    VENDOR,
    {
        "WAIT_EVENT": RunState.QUEUED,  # 等待事件: waiting for its trigger event
        "WAIT_UPSTREAM": RunState.QUEUED,  # 等待上游: waiting for upstream instances
        "WAIT_RUN": RunState.QUEUED,  # 等待运行: dependencies met, waiting for a resource slot
        "RUNNING": RunState.RUNNING,
        # 失败重试: this try failed and the scheduler will try again (Tries counts up to
        # TryLimit; a rerun resets it). Not terminal: an instance that runs out of tries ends in
        # EXPIRED, so waiting on through FAILED_RETRY never misses the real outcome.
        "FAILED_RETRY": RunState.RUNNING,
        # 失败: the docstring's failure state; the phase list calls it "终态-失败" (final, failed).
        "EXPIRED": RunState.FAILED,
        "COMPLETED": RunState.SUCCEEDED,  # 成功
        # 跳过运行: final ("终态-被上游分支节点跳过的分支": a branch an upstream branch node did
        # not take). Not an error, so it succeeds with the raw state kept, as WeData's skipped
        # workflow runs do; failure_states=["SKIP_RUNNING"] makes it fail.
        "SKIP_RUNNING": RunState.SUCCEEDED,
        # Not in InstanceState's docstring: the scheduler-side names the data-quality API lists
        # (ListQualityRuleGroupExecResultsByPage: 失败 - FAILED, EXPIRED, KILL, KILLING, ...).
        # UNCONFIRMED that GetTaskInstance shows them; kept so a killed instance ends the wait
        # instead of running into the sensor's timeout.
        "KILL": RunState.CANCELLED,
        "KILLING": RunState.RUNNING,  # being stopped; it ends in KILL
    },
)
SKIP_STATES = frozenset({"SKIP_RUNNING"})

# InstanceType: 0 backfill (补录), 1 periodic (周期), 2 not periodic (非周期).
INSTANCE_TYPES = {0: "backfill", 1: "periodic", 2: "non-periodic"}


class _InstanceFields(_WeDataModel):
    """Fields TaskInstance (a list item) and TaskInstanceDetail (GetTaskInstance) share."""

    ProjectId: str | None = None
    InstanceKey: str | None = None
    FolderId: str | None = None
    FolderName: str | None = None
    WorkflowId: str | None = None
    WorkflowName: str | None = None
    TaskId: str | None = None
    TaskName: str | None = None
    TaskTypeId: int | None = None
    TaskType: str | None = None
    CycleType: str | None = None
    CurRunDate: str | None = None
    InstanceState: str | None = None
    InstanceType: int | None = None
    OwnerUinList: list[str] | None = None
    TotalRunNum: int | None = None
    TryLimit: int | None = None
    Tries: int | None = None
    CostTime: int | None = None
    StartTime: str | None = None
    EndTime: str | None = None
    SchedulerTime: str | None = None
    LastUpdateTime: str | None = None
    ExecutorGroupId: str | None = None
    ExecutorGroupName: str | None = None


class TaskInstance(_InstanceFields):
    """One item of ListTaskInstances' `Data.Items`."""


class TaskInstanceDetail(_InstanceFields):
    """`Data` of GetTaskInstance: a TaskInstance plus the short failure message."""

    JobErrorMsg: str | None = None


class TaskInstancePage(_WeDataModel):
    """`Data` of ListTaskInstances (page-number pagination, PageSize 1-100)."""

    TotalCount: int | None = None
    TotalPageNumber: int | None = None
    PageNumber: int | None = None
    PageSize: int | None = None
    Items: list[TaskInstance] = Field(default_factory=list)


class InstanceLog(_WeDataModel):
    """`Data` of GetTaskInstanceLog: one page of the log; NextCursor asks for the next one."""

    InstanceKey: str | None = None
    ProjectId: str | None = None
    CodeContent: str | None = None
    LogInfo: str | None = None
    NextCursor: str | None = None


class GetTaskInstanceResponse(_WeDataModel):
    Data: TaskInstanceDetail | None = None
    RequestId: str | None = None


class ListTaskInstancesResponse(_WeDataModel):
    Data: TaskInstancePage | None = None
    RequestId: str | None = None


class GetTaskInstanceLogResponse(_WeDataModel):
    Data: InstanceLog | None = None
    RequestId: str | None = None


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def instance_to_run(instance: _InstanceFields, *, request_id: str | None = None) -> WorkflowRun:
    """A task instance as a WorkflowRun: the run is the instance, and it is its own one task run.

    The task run carries the failure message (JobErrorMsg), so a failed instance is named in
    the sensor's failure message and in `task_runs` like a failed task of a workflow run.
    """
    state = WEDATA_TASK_INSTANCE_STATES(instance.InstanceState)
    started, finished = wedata_time(instance.StartTime), wedata_time(instance.EndTime)
    error = getattr(instance, "JobErrorMsg", None) or None
    detail = _dump(instance)
    if request_id:
        detail["RequestId"] = request_id
    key = instance.InstanceKey or ""
    return WorkflowRun(
        vendor=VENDOR,
        run_id=key,
        workflow_id=instance.WorkflowId,
        name=instance.TaskName,
        state=state,
        raw_state=instance.InstanceState,
        created_at=wedata_time(instance.SchedulerTime),
        started_at=started,
        finished_at=finished if state.is_terminal else None,
        error_message=error,
        task_runs=[
            TaskRun(
                task_run_id=key,
                name=instance.TaskName,
                task_type=instance.TaskType,
                state=state,
                raw_state=instance.InstanceState,
                started_at=started,
                finished_at=finished if state.is_terminal else None,
                error_message=error,
                detail={
                    k: v for k, v in detail.items() if k in ("TaskId", "Tries", "TryLimit", "TotalRunNum")
                },
            )
        ],
        detail=detail,
    )


def to_workflow_run(payload: Any, *, instance_key: str, project_id: str) -> WorkflowRun:
    """Build a WorkflowRun from a GetTaskInstance `Response`; no `Data` is a NotFoundError."""
    action = "GetTaskInstance"
    response = parse(GetTaskInstanceResponse, payload, action=action, run_id=instance_key)
    data = response.Data
    if data is None or not (data.InstanceKey or data.InstanceState):
        raise NotFoundError(
            f"WeData returned no task instance {instance_key} in project {project_id}",
            vendor=VENDOR,
            action=action,
            request_id=response.RequestId,
            run_id=instance_key,
        )
    if not data.InstanceKey:
        data = data.model_copy(update={"InstanceKey": instance_key})
    if not data.ProjectId:
        data = data.model_copy(update={"ProjectId": project_id})
    return instance_to_run(data, request_id=response.RequestId)


__all__ = [
    "INSTANCE_TYPES",
    "SKIP_STATES",
    "VENDOR",
    "WEDATA_TASK_INSTANCE_STATES",
    "GetTaskInstanceLogResponse",
    "GetTaskInstanceResponse",
    "InstanceLog",
    "ListTaskInstancesResponse",
    "TaskInstance",
    "TaskInstanceDetail",
    "TaskInstancePage",
    "instance_to_run",
    "parse",
    "to_workflow_run",
]
