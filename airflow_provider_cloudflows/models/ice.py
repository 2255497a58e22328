"""ICE (Intelligent Media Services, OpenAPI 2020-11-09) workflow task responses, and their WorkflowRun.

Field names are exactly the vendor's (PascalCase), so a payload validates as it comes off the
wire; every model allows extra fields so a field ICE adds never breaks a sensor.

Three fields of a workflow task are JSON *inside strings*: `TaskInput`, `UserData` and
`ActivityResults`. They are decoded here; text that is not valid JSON is kept as it came (a
`UserData` of free text is legal). The per-node schema of `ActivityResults` is not documented
for GetWorkflowTask (UNCONFIRMED), so nodes are read leniently: a dict keyed by node name or a
list of node objects, state/status fields and job ids picked wherever they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_cloudflows.models import parse_payload
from airflow_provider_cloudflows.protocols.base import json_value
from airflow_provider_cloudflows.runs import (
    RunState,
    StateTable,
    TaskRun,
    WorkflowRun,
    epoch_ms_to_datetime,
    parse_datetime,
)

VENDOR = "Alibaba Cloud ICE"

# WorkflowTask.Status (SDK docstring = API doc). There is no paused state.
ICE_STATES = StateTable(
    VENDOR,
    {
        "Init": RunState.QUEUED,
        "Processing": RunState.RUNNING,
        "Succeed": RunState.SUCCEEDED,
        "Failed": RunState.FAILED,
        "Canceled": RunState.CANCELLED,
    },
)

# Node states inside ActivityResults are UNCONFIRMED for GetWorkflowTask. The task states above
# are the likeliest (the workflow-task-complete event of the sister product uses `Succeed` per
# node); the job-level spellings below appear in nodes' `Result` objects of media jobs.
ICE_NODE_STATES = StateTable(
    f"{VENDOR} node",
    {
        **ICE_STATES.table,
        "Success": RunState.SUCCEEDED,
        "Succeeded": RunState.SUCCEEDED,
        "Finished": RunState.SUCCEEDED,
        "Fail": RunState.FAILED,
        "Failure": RunState.FAILED,
        "Running": RunState.RUNNING,
        "Submitted": RunState.QUEUED,
        "Queuing": RunState.QUEUED,
        "Cancelled": RunState.CANCELLED,
    },
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class IceWorkflow(_Model):
    """The workflow template a task runs (`Workflow` sub-object)."""

    WorkflowId: str | None = None
    Name: str | None = None
    Status: str | None = None  # Active | Inactive (the template, not the task)
    Type: str | None = None  # Customize | System | Common
    MediaType: str | None = None  # seen in ListWorkflowTasks
    CreateTime: str | None = None
    ModifiedTime: str | None = None


class IceWorkflowTask(_Model):
    """`WorkflowTask` of GetWorkflowTask (and each item of ListWorkflowTasks' `TaskList`).

    The JSON-in-string fields are typed `Any`: ICE sends strings, but an object sent as such
    is accepted too rather than failing the sensor.
    """

    TaskId: str
    Status: str | None = None
    TaskInput: Any = None
    UserData: Any = None
    ActivityResults: Any = None
    CreateTime: str | None = None
    FinishTime: str | None = None
    Workflow: IceWorkflow | None = None

    @property
    def task_input(self) -> Any:
        return decode_json_text(self.TaskInput)

    @property
    def user_data(self) -> Any:
        return decode_json_text(self.UserData)

    @property
    def activity_results(self) -> Any:
        return decode_json_text(self.ActivityResults)


class GetWorkflowTaskResponse(_Model):
    RequestId: str | None = None
    WorkflowTask: IceWorkflowTask


class StartWorkflowResponse(_Model):
    RequestId: str | None = None
    TaskId: str


class ListWorkflowTasksResponse(_Model):
    RequestId: str | None = None
    TaskList: list[IceWorkflowTask] = Field(default_factory=list)
    NextToken: str | None = None
    MaxResults: int | None = None
    TotalCount: int | None = None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], payload: Any, *, action: str, run_id: str | None = None) -> M:
    return parse_payload(model, payload, vendor=VENDOR, action=action, run_id=run_id)


def decode_json_text(value: Any) -> Any:
    """JSON text -> its value; text that is not JSON (or nests too deep to keep) stays as it is; '' -> None."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json_value(value, "a JSON text field")
    except ValueError:
        return value


# -- ActivityResults -> task runs ------------------------------------------------------------------

_STATE_KEYS = ("Status", "State", "status", "state")
_NAME_KEYS = ("Name", "ActivityName", "NodeName", "ActivityId", "NodeId", "name", "Id")
_ID_KEYS = ("ActivityInstanceId", "NodeInstanceId", "InstanceId", "Id")
_JOB_ID_KEYS = ("JobId", "jobId", "TaskId")
_TYPE_KEYS = ("Type", "ActivityType", "NodeType", "JobType", "type")
_START_KEYS = ("StartTime", "BeginTime", "CreateTime", "SubmitTime")
_END_KEYS = ("EndTime", "FinishTime", "CompleteTime")
_CODE_KEYS = ("ErrorCode", "Code", "code")
_MESSAGE_KEYS = ("ErrorMessage", "ErrorMsg", "Message", "message")


def _pick(node: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = node.get(key)
        if value not in (None, ""):
            return value
    return None


def _pick_deep(node: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """A field of the node, else of its `Result`/`Output` object (media jobs nest their JobId)."""
    value = _pick(node, keys)
    if value is not None:
        return value
    for nested_key in ("Result", "Output", "JobResult"):
        nested = decode_json_text(node.get(nested_key))
        if isinstance(nested, Mapping) and (value := _pick(nested, keys)) is not None:
            return value
    return None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_ms_to_datetime(int(value))
    return parse_datetime(value) if isinstance(value, str) else None


def _node_task_run(node: Any, default_name: str | None) -> TaskRun:
    node = decode_json_text(node)
    if not isinstance(node, Mapping):
        # Something we cannot read as a node: keep it visible rather than drop it.
        return TaskRun(name=default_name, state=RunState.UNKNOWN, detail={"value": node})
    raw_state = _pick(node, _STATE_KEYS)
    raw_state = raw_state if isinstance(raw_state, str) else _as_text(raw_state)
    return TaskRun(
        task_run_id=_as_text(_pick(node, _ID_KEYS)),
        name=default_name or _as_text(_pick(node, _NAME_KEYS)),
        task_type=_as_text(_pick_deep(node, _TYPE_KEYS)),
        state=ICE_NODE_STATES(raw_state),
        raw_state=raw_state,
        started_at=_as_datetime(_pick(node, _START_KEYS)),
        finished_at=_as_datetime(_pick(node, _END_KEYS)),
        error_code=_as_text(_pick_deep(node, _CODE_KEYS)),
        error_message=_as_text(_pick_deep(node, _MESSAGE_KEYS)),
        job_id=_as_text(_pick_deep(node, _JOB_ID_KEYS)),
        detail=dict(node),
    )


def activity_task_runs(activity_results: Any) -> list[TaskRun]:
    """Decoded ActivityResults -> one TaskRun per node (dict keyed by node name, or a list)."""
    decoded = decode_json_text(activity_results)
    if isinstance(decoded, Mapping):
        # A wrapper such as {"ActivityResults": [...]} holds the list under a single key.
        if len(decoded) == 1 and isinstance(inner := next(iter(decoded.values())), list):
            return [_node_task_run(node, None) for node in inner]
        return [_node_task_run(node, str(name)) for name, node in decoded.items()]
    if isinstance(decoded, list):
        return [_node_task_run(node, None) for node in decoded]
    return []


# -- WorkflowRun ------------------------------------------------------------------------------------


def to_workflow_run(task: IceWorkflowTask, *, request_id: str | None = None) -> WorkflowRun:
    """The normalized run. `detail` holds the task exactly as sent plus the decoded JSON fields."""
    task_runs = activity_task_runs(task.ActivityResults)
    raw = task.model_dump(mode="json", exclude_none=True)
    workflow = task.Workflow
    error_code, error_message = _task_error(task, task_runs)
    return WorkflowRun(
        vendor=VENDOR,
        run_id=task.TaskId,
        workflow_id=workflow.WorkflowId if workflow else None,
        name=workflow.Name if workflow else None,
        state=ICE_STATES(task.Status),
        raw_state=task.Status,
        created_at=parse_datetime(task.CreateTime),
        # ICE reports no start time for a task; CreateTime is the closest it documents.
        started_at=None,
        finished_at=parse_datetime(task.FinishTime),
        error_code=error_code,
        error_message=error_message,
        task_runs=task_runs,
        detail={
            "RequestId": request_id,
            "WorkflowTask": raw,
            "decoded": {
                "TaskInput": task.task_input,
                "UserData": task.user_data,
                "ActivityResults": task.activity_results,
            },
        },
    )


def _task_error(task: IceWorkflowTask, task_runs: list[TaskRun]) -> tuple[str | None, str | None]:
    """GetWorkflowTask documents no error fields: use any the task carries, else the failed node's."""
    extras = task.model_extra or {}
    code, message = _as_text(_pick(extras, _CODE_KEYS)), _as_text(_pick(extras, _MESSAGE_KEYS))
    if code or message:
        return code, message
    for run in task_runs:
        if run.state in (RunState.FAILED, RunState.CANCELLED) and (run.error_code or run.error_message):
            return run.error_code, run.error_message
    return None, None
