"""Tencent Cloud WeData (API 2025-08-06) response models and the WeData -> WorkflowRun mapping.

Field names are the vendor's (TriggerWorkflowRunBrief, TriggerTaskRunBrief, ... in the SDK's
`tencentcloud/wedata/v20250806/models.py`). Every field is optional because the docs say any of
them "may return null"; unknown fields are kept so a new vendor field never breaks parsing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_cloudflows.errors import NotFoundError
from airflow_provider_cloudflows.models import parse_payload
from airflow_provider_cloudflows.runs import (
    RunState,
    StateTable,
    TaskRun,
    WorkflowRun,
    epoch_ms_to_datetime,
)

VENDOR = "Tencent Cloud WeData"

# One table serves runs and task runs: the run docstring spells the skip state SKIPED, the task
# docstring SKIP; SKIPPED is accepted in case the vendor ever fixes the spelling. Skipped is final
# and not an error, so it maps to SUCCEEDED with the raw state kept; users who want skipped runs to
# fail pass failure_states=["SKIPED"] to the sensor.
WEDATA_STATES = StateTable(
    VENDOR,
    {
        "PENDING": RunState.QUEUED,
        "RUNNING": RunState.RUNNING,
        "SUCCESS": RunState.SUCCEEDED,
        "SKIPED": RunState.SUCCEEDED,
        "SKIP": RunState.SUCCEEDED,
        "SKIPPED": RunState.SUCCEEDED,
        "FAILED": RunState.FAILED,
    },
)
SKIP_STATES = frozenset({"SKIPED", "SKIP", "SKIPPED"})

# Naive "yyyy-mm-dd HH:MM:SS" times (UNCONFIRMED: the doc example only shows epoch-ms strings)
# would be China Standard Time, where WeData's consoles and schedules live.
_CHINA_TZ = timezone(timedelta(hours=8))


class _WeDataModel(BaseModel):
    # coerce_numbers_to_str: the SDK types these as str, but a JSON number must not fail parsing.
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


class BizStateEnumInfoBrief(_WeDataModel):
    """A histogram bucket of finer "business" states, e.g. PENDING / 等待资源 / 4. Not the run state."""

    LabelKey: str | None = None
    LabelValue: str | None = None
    Count: int | None = None


class TriggerWorkflowRunBrief(_WeDataModel):
    AppId: str | None = None
    ProjectId: str | None = None
    WorkflowName: str | None = None
    WorkflowId: str | None = None
    ExecutionId: str | None = None
    TriggerId: str | None = None
    TriggerType: str | None = None
    CreateTime: str | None = None
    ScheduleTime: str | None = None
    ExecutionStartTime: str | None = None
    ExecutionEndTime: str | None = None
    ExecutionCostTime: str | None = None
    QueueCostTime: str | None = None
    PendingCostTime: str | None = None
    ExecutionState: str | None = None
    ExecuteUserUin: str | None = None
    ExecuteUserName: str | None = None
    ErrorCodeStr: str | None = None
    WorkflowParams: str | None = None
    WorkflowVersionId: str | None = None
    SupportRerun: bool | None = None
    RerunTimes: int | None = None
    SelectedTaskIds: list[str] | None = None
    PendingStartTime: str | None = None
    QueueStartTime: str | None = None
    EndTime: str | None = None
    FolderId: str | None = None
    FolderName: str | None = None
    PlannedSchedulingTime: str | None = None
    CycleType: str | None = None
    UserNameInCharge: str | None = None
    UserUinInCharge: str | None = None
    AssociatedEntityExist: bool | None = None
    ParentWorkflowExecutionId: str | None = None
    ParentTaskExecutionId: str | None = None
    ParentTaskExecutionName: str | None = None
    Privilege: str | None = None


class TriggerTaskRunBrief(_WeDataModel):
    ExecutionId: str | None = None
    ExecutionState: str | None = None
    ProjectId: str | None = None
    WorkflowId: str | None = None
    WorkflowExecutionId: str | None = None
    TaskId: str | None = None
    TaskType: str | None = None
    TaskVersionId: str | None = None
    TriggerType: str | None = None
    WaitTime: str | None = None
    ResourceGroup: str | None = None
    ErrorCode: str | None = None
    ExecuteUserUin: str | None = None
    CreaterUin: str | None = None
    JobId: str | None = None
    CreateTime: str | None = None
    ScheduleTime: str | None = None
    UpdateTime: str | None = None
    DependenceFinishedTime: str | None = None
    QueueStartTime: str | None = None
    PendingStartTime: str | None = None
    ExecutionStartTime: str | None = None
    ExecutionEndTime: str | None = None
    QueueCostTime: str | None = None
    ExecutionTime: str | None = None
    AllCostTime: str | None = None
    TimeZone: str | None = None
    DependOnList: list[str] | None = None
    RunParams: str | None = None
    TaskTypeExtensions: str | None = None
    RetryTimes: int | None = None
    LeftCoordinate: float | None = None
    TopCoordinate: float | None = None
    ResourceGroupId: str | None = None
    ErrorCodeStr: str | None = None
    CreateUin: str | None = None
    IssueTime: str | None = None
    TaskName: str | None = None
    WorkflowName: str | None = None
    ExecuteUserName: str | None = None
    RerunTimes: int | None = None
    IsLatestExecution: bool | None = None
    TaskExecutionState: str | None = None
    CycleType: str | None = None
    UserNameInCharge: str | None = None
    UserUinInCharge: str | None = None
    ResourceGroupName: str | None = None
    Timezone: str | None = None
    FolderId: str | None = None
    FolderName: str | None = None
    ProjectName: str | None = None
    TaskTypeId: int | None = None
    WorkflowParams: str | None = None
    SupportRerun: bool | None = None
    WorkflowExecutionState: str | None = None
    ExecutionResult: str | None = None
    DependencyTriggerPolicy: str | None = None
    AssociatedEntityExist: bool | None = None
    ScheduleRunType: str | None = None
    Privilege: str | None = None


class TriggerWorkflowTaskRunDetailBrief(_WeDataModel):
    """`Data` of GetTriggerWorkflowRun."""

    TriggerWorkflowRun: TriggerWorkflowRunBrief | None = None
    TriggerTaskRuns: list[TriggerTaskRunBrief] | None = None
    BizStateEnumInfos: list[BizStateEnumInfoBrief] | None = None


class CreateTriggerWorkflowRunResult(_WeDataModel):
    WorkflowExecutionId: str | None = None


class ExecutionActionBrief(_WeDataModel):
    """One item of KillTriggerWorkflowRuns' `Data`: did the stop of this run go through."""

    ItemId: str | None = None
    ItemName: str | None = None
    ExecutionActionId: str | None = None
    ErrorMessage: str | None = None
    OpStatus: bool | None = None


class TriggerWorkflowRunResult(_WeDataModel):
    """`Data` of ListTriggerWorkflowRuns (page-number pagination)."""

    TotalCount: int | None = None
    TotalPageNumber: int | None = None
    PageNumber: int | None = None
    PageSize: int | None = None
    Items: list[TriggerWorkflowRunBrief] = Field(default_factory=list)


class GetTriggerWorkflowRunResponse(_WeDataModel):
    Data: TriggerWorkflowTaskRunDetailBrief | None = None
    RequestId: str | None = None


class CreateTriggerWorkflowRunResponse(_WeDataModel):
    Data: CreateTriggerWorkflowRunResult | None = None
    RequestId: str | None = None


class KillTriggerWorkflowRunsResponse(_WeDataModel):
    Data: list[ExecutionActionBrief] | None = None
    RequestId: str | None = None


class OpsAsyncResponse(_WeDataModel):
    AsyncId: str | None = None


class RerunTriggerWorkflowRunAsyncResponse(_WeDataModel):
    Data: OpsAsyncResponse | None = None
    RequestId: str | None = None


class OpsAsyncJobDetail(_WeDataModel):
    """`Data` of GetOpsAsyncJob. Status: INIT, RUNNING, SUCCESS, FAIL, PART_SUCCESS."""

    ProjectId: str | None = None
    AsyncId: str | None = None
    AsyncType: str | None = None
    Status: str | None = None
    ErrorDesc: str | None = None
    TotalSubProcessCount: int | None = None
    FinishedSubProcessCount: int | None = None
    SuccessSubProcessCount: int | None = None
    CreateUserUin: str | None = None
    CreateTime: str | None = None
    UpdateTime: str | None = None


class GetOpsAsyncJobResponse(_WeDataModel):
    Data: OpsAsyncJobDetail | None = None
    RequestId: str | None = None


class ListTriggerWorkflowRunsResponse(_WeDataModel):
    Data: TriggerWorkflowRunResult | None = None
    RequestId: str | None = None


_M = TypeVar("_M", bound=BaseModel)


def parse(model: type[_M], payload: Any, *, action: str, run_id: str | None = None) -> _M:
    return parse_payload(model, payload, vendor=VENDOR, action=action, run_id=run_id)


def wedata_time(value: str | None) -> datetime | None:
    """WeData times are epoch-ms strings ("1764819600341"); tolerate epoch seconds and date strings."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text == "0":
        return None
    if text.isdigit():
        # Ten digits are epoch seconds until the year 2286; anything longer is milliseconds.
        return epoch_ms_to_datetime(int(text) * 1000 if len(text) <= 10 else text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_CHINA_TZ)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def to_task_run(task: TriggerTaskRunBrief) -> TaskRun:
    return TaskRun(
        task_run_id=task.ExecutionId,
        name=task.TaskName,
        task_type=task.TaskType,
        state=WEDATA_STATES(task.ExecutionState),
        raw_state=task.ExecutionState,
        started_at=wedata_time(task.ExecutionStartTime),
        finished_at=wedata_time(task.ExecutionEndTime),
        error_code=task.ErrorCode or None,
        error_message=task.ErrorCodeStr or None,
        job_id=task.JobId or None,
        detail=_dump(task),
    )


def to_workflow_run(payload: Any, *, execution_id: str, project_id: str) -> WorkflowRun:
    """Build a WorkflowRun from a GetTriggerWorkflowRun `Response` object.

    A response without a run (Data or Data.TriggerWorkflowRun null) means the run is not there:
    that is a NotFoundError naming the execution id and the project, not an empty run.
    """
    action = "GetTriggerWorkflowRun"
    response = parse(GetTriggerWorkflowRunResponse, payload, action=action, run_id=execution_id)
    data = response.Data
    brief = data.TriggerWorkflowRun if data is not None else None
    if brief is None:
        raise NotFoundError(
            f"WeData returned no workflow run {execution_id} in project {project_id}",
            vendor=VENDOR,
            action=action,
            request_id=response.RequestId,
            run_id=execution_id,
        )
    run = brief_to_workflow_run(brief, project_id=project_id, execution_id=execution_id)
    detail = dict(run.detail)
    if data.BizStateEnumInfos is not None:
        detail["BizStateEnumInfos"] = [_dump(info) for info in data.BizStateEnumInfos]
    if response.RequestId:
        detail["RequestId"] = response.RequestId
    return run.model_copy(
        update={"task_runs": [to_task_run(task) for task in data.TriggerTaskRuns or []], "detail": detail}
    )


def brief_to_workflow_run(
    brief: TriggerWorkflowRunBrief, *, project_id: str, execution_id: str | None = None
) -> WorkflowRun:
    """A run as one item of ListTriggerWorkflowRuns (or GetTriggerWorkflowRun) states it, without task runs.

    `detail["TriggerWorkflowRun"]` is the vendor's brief (with its ScheduleTime, WorkflowParams...).
    """
    detail: dict[str, Any] = {"TriggerWorkflowRun": _dump(brief)}
    detail["TriggerWorkflowRun"].setdefault("ProjectId", project_id)
    return WorkflowRun(
        vendor=VENDOR,
        run_id=brief.ExecutionId or execution_id or "",
        workflow_id=brief.WorkflowId,
        name=brief.WorkflowName,
        state=WEDATA_STATES(brief.ExecutionState),
        raw_state=brief.ExecutionState,
        created_at=wedata_time(brief.CreateTime),
        started_at=wedata_time(brief.ExecutionStartTime),
        finished_at=wedata_time(brief.ExecutionEndTime) or wedata_time(brief.EndTime),
        error_code=brief.ErrorCodeStr or None,
        detail=detail,
    )
