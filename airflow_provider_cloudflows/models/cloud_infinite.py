"""Tencent Cloud Infinite (CI) media-workflow response models and the CI -> WorkflowRun mapping.

Field names are the vendor's XML element names (DescribeMediaWorkflowExecution(s), TriggerWorkflow).
The XML is parsed with xmltodict, which makes every leaf a string (or None when empty) and forces
the repeated elements (`WorkflowExecutionList`, `WorkflowExecution`, `Tasks`) to lists; the models
therefore type every leaf as an optional string. Unknown elements are kept (`extra="allow"`) so a
field CI adds later never breaks parsing.

Doc variants seen: older docs show `WorkflowName` and a full COS URL in `Object`
(`2019-07-07T12:12:12+0800`); newer ones add `RequestId`, show `Name` and an object key in
`Object` (`2022-08-09T14:54:17+08:00`); callbacks use `2022-08-09 14:54:17+0800`. All parse.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from airflow_provider_cloudflows.errors import InvalidResponseError, NotFoundError
from airflow_provider_cloudflows.models import parse_payload
from airflow_provider_cloudflows.runs import (
    FAILURE_STATES,
    RunState,
    StateTable,
    TaskRun,
    WorkflowRun,
    parse_datetime,
)

VENDOR = "Tencent Cloud Infinite"

# Repeated XML elements: xmltodict must always make these lists, also when there is exactly one.

# One table for executions and their tasks (CI media jobs use the same words). `Pause` happens when
# the queue is paused: the execution is not finished and may never progress without action, so it
# is PAUSED (the sensor says so, and `fail_on_pause=True` fails it). `Submitted` is a job state
# that tasks may report (UNCONFIRMED for workflow tasks).
CI_STATES = StateTable(
    VENDOR,
    {
        "Submitted": RunState.RUNNING,
        "Running": RunState.RUNNING,
        "Pause": RunState.PAUSED,
        "Success": RunState.SUCCEEDED,
        "Failed": RunState.FAILED,
        "Cancel": RunState.CANCELLED,
    },
)

# The values the list API's `states` filter accepts (`All` means no filter).
LIST_STATE_FILTERS = ("All", "Success", "Failed", "Running", "Cancel", "Pause")


class _CiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


def _items(value: Any) -> list[Any]:
    """The items of a repeated element. `<Tasks/>` parses as [None]: an empty element is no item;
    a lone dict (XML parsed without force_list) is one item."""
    if isinstance(value, list):
        return [item for item in value if item is not None]
    return [] if value is None else [value]


class WorkflowTask(_CiModel):
    """One node of an execution (`<Tasks>`): its CI job id and state."""

    Type: str | None = None
    CreateTime: str | None = None
    EndTime: str | None = None
    State: str | None = None
    JobId: str | None = None
    Name: str | None = None
    # Newer docs and callbacks (UNCONFIRMED in the describe API): error details and template.
    Code: str | None = None
    Message: str | None = None
    TemplateId: str | None = None
    TemplateName: str | None = None


class WorkflowExecution(_CiModel):
    """`Response.WorkflowExecution` of DescribeMediaWorkflowExecution."""

    RunId: str
    WorkflowId: str | None = None
    WorkflowName: str | None = None
    Name: str | None = None
    State: str | None = None
    CreateTime: str | None = None
    Object: str | None = None
    Topology: dict[str, Any] | str | None = None
    Tasks: list[WorkflowTask] = []

    items_of_tasks = field_validator("Tasks", mode="before")(_items)


class WorkflowExecutionSummary(_CiModel):
    """One `Response.WorkflowExecutionList` item of DescribeMediaWorkflowExecutions."""

    RunId: str
    WorkflowId: str | None = None
    State: str | None = None
    CreateTime: str | None = None
    Object: str | None = None


# The response's field has the class's name; annotations are resolved in the class namespace.
_Execution = WorkflowExecution


class DescribeWorkflowExecutionResponse(_CiModel):
    RequestId: str | None = None
    WorkflowExecution: list[_Execution] = []

    items_of_executions = field_validator("WorkflowExecution", mode="before")(_items)


class DescribeWorkflowExecutionsResponse(_CiModel):
    RequestId: str | None = None
    WorkflowExecutionList: list[WorkflowExecutionSummary] = []
    NextToken: str | None = None

    items_of_executions = field_validator("WorkflowExecutionList", mode="before")(_items)


class TriggerWorkflowResponse(_CiModel):
    RequestId: str | None = None
    # The new execution's RunId (UNCONFIRMED that they are always equal; the doc calls it
    # "instance ID", and the RunIds the docs show have the same `i` + 32 hex shape).
    InstanceId: str


class JobDetail(_CiModel):
    """One `<JobsDetail>` of the job query (`GET /jobs/<JobId>`): how a node's media job ended."""

    Code: str | None = None
    Message: str | None = None
    JobId: str | None = None
    State: str | None = None
    Tag: str | None = None
    QueueId: str | None = None
    CreationTime: str | None = None
    StartTime: str | None = None
    EndTime: str | None = None
    Progress: str | None = None


class DescribeMediaJobResponse(_CiModel):
    RequestId: str | None = None
    JobsDetail: list[JobDetail] = []
    NonExistJobIds: Any = None

    items_of_jobs = field_validator("JobsDetail", mode="before")(_items)


# What of a job's detail a failed run's task log shows, in this order.
JOB_DETAIL_FIELDS = (
    "Code",
    "Message",
    "State",
    "Tag",
    "JobId",
    "QueueId",
    "CreationTime",
    "StartTime",
    "EndTime",
)


def job_detail_text(payload: Any, *, job_id: str, action: str) -> str:
    """The job query's `<Response>` -> `Name: value` lines of the job's outcome (Code, Message, ...)."""
    response = parse_model(DescribeMediaJobResponse, payload, action=action, run_id=job_id)
    if not response.JobsDetail:
        return f"Cloud Infinite has no job {job_id} (NonExistJobIds)"
    job = response.JobsDetail[0]
    lines = [f"{name}: {value}" for name in JOB_DETAIL_FIELDS if (value := getattr(job, name))]
    return "\n".join(lines) or f"Cloud Infinite reports no detail for job {job_id}"


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], payload: Any, *, action: str, run_id: str | None = None) -> M:
    return parse_payload(model, payload, vendor=VENDOR, action=action, run_id=run_id)


def _task_run(task: WorkflowTask, raw: dict[str, Any]) -> TaskRun:
    return TaskRun(
        task_run_id=task.JobId,
        name=task.Name,
        task_type=task.Type,
        state=CI_STATES(task.State),
        raw_state=task.State,
        started_at=parse_datetime(task.CreateTime),
        finished_at=parse_datetime(task.EndTime),
        error_code=task.Code or None,
        error_message=task.Message or None,
        job_id=task.JobId,
        detail=raw,
    )


def _with_bucket(raw: dict[str, Any], bucket: str | None) -> dict[str, Any]:
    # CI's own workflow callbacks carry `BucketId`; the describe APIs do not, so it is filled in
    # with the bucket the execution was read from (the console link needs it).
    if bucket and not raw.get("BucketId"):
        raw = {**raw, "BucketId": bucket}
    return raw


def to_workflow_run(
    execution: WorkflowExecution, raw: dict[str, Any], *, bucket: str | None = None
) -> WorkflowRun:
    """A full execution (tasks: one per node, each with its CI JobId) as a WorkflowRun.

    `raw` is the execution as parsed from the XML; it becomes `detail` unchanged (plus BucketId).
    """
    tasks = [_task_run(t, r) for t, r in zip(execution.Tasks, _items(raw.get("Tasks")), strict=True)]
    state = CI_STATES(execution.State)
    finished_at = None
    if state.is_terminal:
        ends = [t.finished_at for t in tasks if t.finished_at is not None]
        finished_at = max(ends) if ends else None
    failed = [t for t in tasks if t.state in FAILURE_STATES and (t.error_code or t.error_message)]
    return WorkflowRun(
        vendor=VENDOR,
        run_id=execution.RunId,
        workflow_id=execution.WorkflowId,
        name=execution.WorkflowName or execution.Name or None,
        state=state,
        raw_state=execution.State,
        created_at=parse_datetime(execution.CreateTime),
        finished_at=finished_at,
        error_code=failed[0].error_code if failed else None,
        error_message=failed[0].error_message if failed else None,
        task_runs=tasks,
        detail=_with_bucket(raw, bucket),
    )


def summary_to_workflow_run(
    summary: WorkflowExecutionSummary, raw: dict[str, Any], *, bucket: str | None = None
) -> WorkflowRun:
    """A list item: no task runs (the list API does not return them); get_run gives the full view."""
    return WorkflowRun(
        vendor=VENDOR,
        run_id=summary.RunId,
        workflow_id=summary.WorkflowId,
        state=CI_STATES(summary.State),
        raw_state=summary.State,
        created_at=parse_datetime(summary.CreateTime),
        detail=_with_bucket(raw, bucket),
    )


def run_from_describe(payload: Any, *, bucket: str | None, run_id: str, action: str) -> WorkflowRun:
    """DescribeMediaWorkflowExecution's `<Response>` -> the run."""
    response = parse_model(DescribeWorkflowExecutionResponse, payload, action=action, run_id=run_id)
    if not response.WorkflowExecution:
        raise NotFoundError(
            "the response holds no WorkflowExecution", vendor=VENDOR, action=action, run_id=run_id
        )
    raw = _items(payload.get("WorkflowExecution"))[0]
    return to_workflow_run(response.WorkflowExecution[0], raw, bucket=bucket)


def runs_from_list(payload: Any, *, bucket: str | None, action: str) -> tuple[list[WorkflowRun], str | None]:
    """DescribeMediaWorkflowExecutions' `<Response>` -> (runs of this page, NextToken or None)."""
    response = parse_model(DescribeWorkflowExecutionsResponse, payload, action=action)
    raws = _items(payload.get("WorkflowExecutionList") if isinstance(payload, dict) else None)
    runs = [
        summary_to_workflow_run(s, r, bucket=bucket)
        for s, r in zip(response.WorkflowExecutionList, raws, strict=True)
    ]
    return runs, response.NextToken or None


def instance_id_from_trigger(payload: Any, *, action: str) -> str:
    """TriggerWorkflow's `<Response>` -> the new execution's id."""
    response = parse_model(TriggerWorkflowResponse, payload, action=action)
    if not response.InstanceId.strip():
        raise InvalidResponseError(
            "TriggerWorkflow returned an empty InstanceId", vendor=VENDOR, action=action
        )
    return response.InstanceId.strip()
