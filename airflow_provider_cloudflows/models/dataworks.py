"""DataWorks (OpenAPI 2024-05-18) responses as pydantic models, and their normalized WorkflowRun.

Field names are exactly the vendor's (PascalCase, including the `Bizdate` spelling of task
instances), so a payload validates as it comes off the wire. Every model allows extra fields:
DataWorks adds fields often and a new one must never break a sensor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_cloudflows.models import parse_payload
from airflow_provider_cloudflows.runs import RunState, StateTable, TaskRun, WorkflowRun, epoch_ms_to_datetime

VENDOR = "Alibaba Cloud DataWorks"

# Workflow instance and task instance states (SDK docstrings of GetWorkflowInstance,
# ListTaskInstances and GetTaskInstance). There is no Stopped/Cancelled state: a stopped
# instance is reported as Failure (UNCONFIRMED in the docs, see docs/dataworks.md).
DATAWORKS_STATES = StateTable(
    VENDOR,
    {
        "Success": RunState.SUCCEEDED,
        "Failure": RunState.FAILED,
        "NotRun": RunState.QUEUED,
        "WaitTime": RunState.QUEUED,
        "WaitResource": RunState.QUEUED,
        "CheckingCondition": RunState.QUEUED,
        "WaitTrigger": RunState.QUEUED,
        "Running": RunState.RUNNING,
        "Checking": RunState.RUNNING,
    },
)

# Raw states after which a workflow instance never changes again.
TERMINAL_RAW_STATES: tuple[str, ...] = tuple(
    sorted(DATAWORKS_STATES.raw_states_for(RunState.SUCCEEDED, RunState.FAILED))
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Tag(_Model):
    Key: str | None = None
    Value: str | None = None


class WorkflowInstance(_Model):
    """`WorkflowInstance` of GetWorkflowInstance. Times are 13-digit epoch milliseconds."""

    Id: int
    WorkflowId: int | None = None
    WorkflowTaskInstanceId: int | None = None
    UnifiedWorkflowInstanceId: int | None = None
    Name: str | None = None
    Type: str | None = None
    Status: str | None = None
    BizDate: int | None = None
    StartedTime: int | None = None
    FinishedTime: int | None = None
    ProjectId: int | None = None
    EnvType: str | None = None
    Owner: str | None = None
    CreateTime: int | None = None
    ModifyTime: int | None = None
    CreateUser: str | None = None
    ModifyUser: str | None = None
    WorkflowParameters: str | None = None
    Tags: list[Tag] | None = None


class GetWorkflowInstanceResponse(_Model):
    RequestId: str | None = None
    WorkflowInstance: WorkflowInstance


class TaskInstance(_Model):
    """One entry of ListTaskInstances `PagingInfo.TaskInstances` (also GetTaskInstance's `TaskInstance`)."""

    Id: int
    TaskId: int | None = None
    TaskName: str | None = None
    TaskType: str | None = None
    Status: str | None = None
    WorkflowInstanceId: int | None = None
    WorkflowId: int | None = None
    WorkflowName: str | None = None
    WorkflowInstanceType: str | None = None
    UnifiedWorkflowInstanceId: int | None = None
    ProjectId: int | None = None
    ProjectEnv: str | None = None
    Bizdate: int | None = None
    CreateTime: int | None = None
    ModifyTime: int | None = None
    StartedTime: int | None = None
    FinishedTime: int | None = None
    TriggerTime: int | None = None
    WaitingResourceTime: int | None = None
    WaitingTriggerTime: int | None = None
    RunNumber: int | None = None
    PeriodNumber: int | None = None
    Priority: int | None = None
    Timeout: int | None = None
    Owner: str | None = None
    CreateUser: str | None = None
    ModifyUser: str | None = None
    TriggerType: str | None = None
    TriggerRecurrence: str | None = None
    RerunMode: str | None = None
    OperationType: str | None = None
    BaselineId: int | None = None
    Description: str | None = None


class TaskInstancePage(_Model):
    PageNumber: int | None = None
    PageSize: int | None = None
    TotalCount: int | None = None
    TaskInstances: list[TaskInstance] = Field(default_factory=list)


class ListTaskInstancesResponse(_Model):
    RequestId: str | None = None
    PagingInfo: TaskInstancePage


class WorkflowInstancePage(_Model):
    PageNumber: int | None = None
    PageSize: int | None = None
    TotalCount: int | None = None
    WorkflowInstances: list[WorkflowInstance] = Field(default_factory=list)


class ListWorkflowInstancesResponse(_Model):
    RequestId: str | None = None
    PagingInfo: WorkflowInstancePage


class GetTaskInstanceResponse(_Model):
    RequestId: str | None = None
    TaskInstance: TaskInstance


class CreateWorkflowInstancesResponse(_Model):
    RequestId: str | None = None
    OperationId: str


class CreateWorkflowInstancesResult(_Model):
    """Status: Creating | Created | CreateFailure."""

    Status: str
    FailureMessage: str | None = None
    WorkflowInstanceIds: list[int] | None = None
    WorkflowTaskInstanceIds: list[int] | None = None
    UnifiedWorkflowInstanceIds: list[int] | None = None


class GetCreateWorkflowInstancesResultResponse(_Model):
    RequestId: str | None = None
    Result: CreateWorkflowInstancesResult


class GetTaskInstanceLogResponse(_Model):
    """GetTaskInstanceLog: one run of a task instance's log, as one string."""

    RequestId: str | None = None
    TaskInstanceLog: str | None = None


class OperationOutcome(_Model):
    Success: bool | None = None
    Message: str | None = None


class StopWorkflowInstancesResponse(_Model):
    RequestId: str | None = None
    # Keyed by instance id (as text in JSON).
    SuccessInfo: dict[str, OperationOutcome] = Field(default_factory=dict)


class RerunWorkflowInstancesResponse(_Model):
    RequestId: str | None = None
    OperationId: str


class RerunWorkflowInstancesResult(_Model):
    """Status: NotRun (not done yet) | Success | Failure (with FailureMessage)."""

    Status: str | None = None
    FailureMessage: str | None = None


class GetRerunWorkflowInstancesResultResponse(_Model):
    RequestId: str | None = None
    Result: RerunWorkflowInstancesResult


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], payload: Any, *, action: str, run_id: str | None = None) -> M:
    return parse_payload(model, payload, vendor=VENDOR, action=action, run_id=run_id)


def task_instance_to_task_run(task: TaskInstance) -> TaskRun:
    return TaskRun(
        task_run_id=str(task.Id),
        name=task.TaskName,
        task_type=task.TaskType,
        state=DATAWORKS_STATES(task.Status),
        raw_state=task.Status,
        started_at=epoch_ms_to_datetime(task.StartedTime),
        finished_at=epoch_ms_to_datetime(task.FinishedTime),
        detail=task.model_dump(mode="json", exclude_unset=True),
    )


def to_workflow_run(
    instance: WorkflowInstance, task_instances: Iterable[TaskInstance] | None = None
) -> WorkflowRun:
    """The normalized run; `detail` is the vendor's WorkflowInstance object as JSON.

    DataWorks reports no error text on a workflow instance: its failed task instances are the
    reason, and `failure_message` lists them by name from `task_runs`.
    """
    return WorkflowRun(
        vendor=VENDOR,
        run_id=str(instance.Id),
        workflow_id=str(instance.WorkflowId) if instance.WorkflowId is not None else None,
        name=instance.Name,
        state=DATAWORKS_STATES(instance.Status),
        raw_state=instance.Status,
        created_at=epoch_ms_to_datetime(instance.CreateTime),
        started_at=epoch_ms_to_datetime(instance.StartedTime),
        finished_at=epoch_ms_to_datetime(instance.FinishedTime),
        task_runs=[task_instance_to_task_run(t) for t in task_instances or ()],
        detail=instance.model_dump(mode="json", exclude_unset=True),
    )
