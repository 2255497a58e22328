"""Emulated Alibaba Cloud ICE (Intelligent Media Services) OpenAPI 2020-11-09: workflow tasks.

Actions: GetWorkflowTask, StartWorkflow, ListWorkflowTasks. Field names and nesting are the
official SDK's (`alibabacloud_ice20201109` models); `TaskInput`, `UserData` and
`ActivityResults` are JSON text inside strings; times are ISO 8601 UTC (`yyyy-MM-ddTHH:mm:ssZ`).

Choices the public docs do not settle (UNCONFIRMED, kept tolerant in the hook):
- An unknown task (or one created more than a year ago, which the doc says cannot be queried)
  answers HTTP 404 with the code `InvalidTaskId.NotFound` (ICE's real code is not published;
  this follows the Alibaba-wide `Invalid<Thing>.NotFound` pattern).
- `ActivityResults` is a JSON object keyed by node (activity) name, each value
  `{"ActivityId", "ActivityInstanceId", "Status", "StartTime", "EndTime", "Result": {"JobId",
  "JobType", "Status"}}` plus `ErrorCode`/`ErrorMessage` on a failed node: the shape of IMS'
  workflow-task-complete event. Every node of the script is listed, also those still `Init`.
- ListWorkflowTasks returns the newest tasks first; `NextToken` is opaque and absent on the
  last page; tasks older than 90 days are not listed (as documented).

Emulator conventions (for demos and tests):
- StartWorkflow creates a task that progresses by time: Init, Processing, Processing, then
  Succeed, one step every `STARTED_STEP_SECONDS`, with two nodes (Transcode, Snapshot).
- `UserData` JSON with `"emulator_outcome": "Failed"` (or `"Canceled"`) makes the task end that
  way (its Snapshot node fails / is canceled); `"emulator_step_seconds": 0.2` sets its pace.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import (
    Call,
    RunNotFound,
    action,
    iso8601_utc,
    json_text,
)
from airflow_provider_cloudflows.emulator.store import RunSnapshot, ScriptedRun, TaskRunSnapshot

VENDOR = "ice"
VERSION = "2020-11-09"
NOT_FOUND_CODE = "InvalidTaskId.NotFound"
MAX_RESULTS = 100
DEFAULT_MAX_RESULTS = 10
USER_DATA_MAX_BYTES = 512
QUERYABLE_SECONDS = 365 * 24 * 3600  # GetWorkflowTask: the last year only
LISTED_SECONDS = 90 * 24 * 3600  # ListWorkflowTasks: the last 90 days only
STARTED_STEP_SECONDS = 1.0
OUTCOMES = ("Succeed", "Failed", "Canceled")
_NOT_STARTED = frozenset({"Init"})
_FINISHED = frozenset(OUTCOMES)
_JOB_STATUS = {"Init": "Submitted", "Processing": "Processing", "Succeed": "Finished", "Failed": "Failed"}
_TOKEN_PREFIX = "icetok-"

DEMO_WORKFLOW_ID = "e1c0f1ow0000000000000000000000a1"
DEMO_WORKFLOW_NAME = "transcode-and-snapshot"
DEMO_MEDIA_ID = "e1c0media000000000000000000000b1"
DEMO_SUCCEED_TASK_ID = "d0c0ffee000000000000000000000001"
DEMO_FAILED_TASK_ID = "d0c0ffee000000000000000000000002"
DEMO_SLOW_TASK_ID = "d0c0ffee000000000000000000000003"


def _script(outcome: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Task states and node scripts in lockstep; a failed/canceled task ends on its Snapshot node."""
    last = outcome if outcome in OUTCOMES else "Succeed"
    return (
        ["Init", "Processing", "Processing", last],
        [
            ("Transcode", ["Init", "Processing", "Succeed"]),
            ("Snapshot", ["Init", "Init", "Processing", last]),
        ],
    )


def task_spec(
    task_id: str,
    *,
    outcome: str = "Succeed",
    workflow_id: str = DEMO_WORKFLOW_ID,
    workflow_name: str = DEMO_WORKFLOW_NAME,
    task_input: dict[str, Any] | str | None = None,
    user_data: str | None = None,
    advance: str = "poll",
    step_seconds: float = 1.0,
    created_at: float | None = None,
) -> dict[str, Any]:
    """The JSON form of a scripted ICE workflow task (config.ScriptedRunSpec)."""
    states, nodes = _script(outcome)
    if task_input is None:
        task_input = {"Type": "Media", "Media": DEMO_MEDIA_ID}
    failing = outcome == "Failed"
    spec: dict[str, Any] = {
        "vendor": VENDOR,
        "run_id": task_id,
        "states": states,
        "advance": advance,
        "step_seconds": step_seconds,
        "fields": {
            "WorkflowId": workflow_id,
            "WorkflowName": workflow_name,
            "TaskInput": task_input if isinstance(task_input, str) else json_text(task_input),
            **({"UserData": user_data} if user_data is not None else {}),
        },
        "task_runs": [
            {
                "name": name,
                "task_id": hashlib.md5(f"{task_id}/{name}/activity".encode()).hexdigest(),
                "states": node_states,
                "fields": {"JobType": name, "JobId": hashlib.md5(f"{task_id}/{name}".encode()).hexdigest()},
                **(
                    {
                        "error_code": "InvalidParameter.Input",
                        "error_message": "The input media has no video stream to snapshot.",
                    }
                    if failing and name == "Snapshot"
                    else {}
                ),
            }
            for name, node_states in nodes
        ],
    }
    if created_at is not None:
        spec["created_at"] = created_at
    return spec


def demo_runs(now: float | None = None) -> list[dict[str, Any]]:
    """Tasks the demo preloads: one that succeeds, one that fails, one slow (time-based) one."""
    del now  # ICE times derive from each task's own creation time
    return [
        task_spec(DEMO_SUCCEED_TASK_ID, outcome="Succeed"),
        task_spec(DEMO_FAILED_TASK_ID, outcome="Failed"),
        task_spec(
            DEMO_SLOW_TASK_ID,
            outcome="Succeed",
            task_input={"Type": "OSS", "Media": "oss://example-bucket/input/long-video.mp4"},
            advance="time",
            step_seconds=5.0,
        ),
    ]


class IceService(AlibabaRpcService):
    vendor = VENDOR
    version = VERSION
    product = "ICE"
    not_found_code = NOT_FOUND_CODE
    not_found_message = "The workflow task {run_id} does not exist."

    # ------------------------------------------------------------------ rendering

    def _node_json(self, snap: RunSnapshot, index: int, node: TaskRunSnapshot) -> dict[str, Any]:
        created = snap.created_at
        body: dict[str, Any] = {
            "ActivityId": node.name,
            "ActivityInstanceId": node.task_id,
            "Status": node.state,
        }
        if node.state not in _NOT_STARTED:
            body["StartTime"] = iso8601_utc(created + index + 1)
            body["Result"] = {
                "JobId": node.fields.get("JobId"),
                "JobType": node.fields.get("JobType", node.name),
                "Status": _JOB_STATUS.get(node.state, node.state),
            }
        if node.finished and node.state in _FINISHED:
            body["EndTime"] = iso8601_utc(created + index + 2)
        if node.error_code:
            body["ErrorCode"] = node.error_code
            body["ErrorMessage"] = node.error_message
        return body

    def _workflow_json(self, snap: RunSnapshot, *, listed: bool) -> dict[str, Any]:
        f = snap.fields
        created = iso8601_utc(float(f.get("WorkflowCreateTime", snap.created_at - 86400)))
        body: dict[str, Any] = {
            "WorkflowId": f.get("WorkflowId", DEMO_WORKFLOW_ID),
            "Name": f.get("WorkflowName", DEMO_WORKFLOW_NAME),
            "Status": f.get("WorkflowStatus", "Active"),
            "Type": f.get("WorkflowType", "Common"),
            "CreateTime": created,
            "ModifiedTime": created,
        }
        if listed:
            body["MediaType"] = _media_type(f.get("TaskInput"))
        return body

    def _task_json(self, snap: RunSnapshot, *, listed: bool = False) -> dict[str, Any]:
        f = snap.fields
        body: dict[str, Any] = {
            "TaskId": snap.run_id,
            "Status": snap.state,
            "TaskInput": f.get("TaskInput", ""),
            "CreateTime": iso8601_utc(snap.created_at),
            "Workflow": self._workflow_json(snap, listed=listed),
        }
        if f.get("UserData") is not None:
            body["UserData"] = f["UserData"]
        if snap.finished and snap.finished_at is not None:
            body["FinishTime"] = iso8601_utc(snap.finished_at)
        if not listed:
            # ListWorkflowTasks' items carry no node results (SDK model).
            body["ActivityResults"] = json_text(
                {node.name: self._node_json(snap, i, node) for i, node in enumerate(snap.task_runs)}
            )
        return body

    # ------------------------------------------------------------------ actions

    @action("GetWorkflowTask", required=("TaskId",))
    async def get_workflow_task(self, call: Call) -> dict[str, Any]:
        task_id = str(call.require("TaskId"))
        call.run_id = task_id
        run = self.store.get(VENDOR, task_id)
        if call.now - run.created_at > QUERYABLE_SECONDS:
            raise RunNotFound(VENDOR, task_id)
        return {"WorkflowTask": self._task_json(self.store.observe(VENDOR, task_id))}

    @action("StartWorkflow", required=("WorkflowId",))
    async def start_workflow(self, call: Call) -> dict[str, Any]:
        workflow_id = str(call.require("WorkflowId"))
        task_input = call.get("TaskInput")
        if task_input is not None:
            document = call.json_param("TaskInput")
            if (
                not isinstance(document, dict)
                or document.get("Type") not in ("OSS", "Media")
                or not document.get("Media")
            ):
                raise self.invalid_parameter("TaskInput", task_input)
        user_data = call.get("UserData")
        options: dict[str, Any] = {}
        if user_data is not None:
            if len(str(user_data).encode("utf-8")) > USER_DATA_MAX_BYTES:
                raise self.invalid_parameter("UserData", user_data)
            decoded = call.json_param("UserData")
            if isinstance(decoded, dict):
                options = decoded
        skip = call.get("SkipInputVerification")
        if skip is not None and str(skip).lower() not in ("true", "false"):
            raise self.invalid_parameter("SkipInputVerification", skip)
        task_id = self.store.random_hex(32)
        step_seconds = _positive_float(options.get("emulator_step_seconds"), STARTED_STEP_SECONDS)
        self.state.script_run(
            task_spec(
                task_id,
                outcome=str(options.get("emulator_outcome", "Succeed")),
                workflow_id=workflow_id,
                workflow_name=f"workflow-{workflow_id[:8]}",
                task_input=task_input if task_input is not None else "",
                user_data=user_data,
                advance="time",
                step_seconds=step_seconds,
            )
        )
        call.run_id = task_id
        return {"TaskId": task_id}

    @action("ListWorkflowTasks")
    async def list_workflow_tasks(self, call: Call) -> dict[str, Any]:
        max_results = call.int_param("MaxResults", DEFAULT_MAX_RESULTS, minimum=1) or DEFAULT_MAX_RESULTS
        if max_results > MAX_RESULTS:
            raise self.invalid_parameter("MaxResults", max_results)
        offset = self._offset(call.get("NextToken"))
        start = _time_param(self, call, "StartOfCreateTime")
        end = _time_param(self, call, "EndOfCreateTime")
        workflow_id = call.get("WorkflowId")
        workflow_name = call.get("WorkflowName")
        key_text = call.get("KeyText")
        oldest = max(call.now - LISTED_SECONDS, start if start is not None else 0.0)

        def matches(run: ScriptedRun) -> bool:
            f = run.fields
            return (
                run.created_at >= oldest
                and (end is None or run.created_at <= end)
                and (workflow_id is None or f.get("WorkflowId", DEMO_WORKFLOW_ID) == workflow_id)
                and (workflow_name is None or f.get("WorkflowName", DEMO_WORKFLOW_NAME) == workflow_name)
                and (key_text is None or str(key_text) in str(f.get("TaskInput", "")))
            )

        runs = sorted(self.store.list(VENDOR, where=matches), key=lambda r: (-r.created_at, r.run_id))
        page = runs[offset : offset + max_results]
        body: dict[str, Any] = {
            "TaskList": [self._task_json(self.store.snapshot_of(run), listed=True) for run in page],
            "MaxResults": max_results,
            "TotalCount": len(runs),
        }
        if offset + max_results < len(runs):
            body["NextToken"] = f"{_TOKEN_PREFIX}{offset + max_results}"
        return body

    def _offset(self, token: Any) -> int:
        if token is None:
            return 0
        text = str(token)
        if not text.startswith(_TOKEN_PREFIX) or not text[len(_TOKEN_PREFIX) :].isdigit():
            raise self.invalid_parameter("NextToken", token)
        return int(text[len(_TOKEN_PREFIX) :])


def _media_type(task_input: Any) -> str | None:
    try:
        document = json.loads(task_input) if isinstance(task_input, str) else None
    except ValueError:
        return None
    return document.get("Type") if isinstance(document, dict) else None


def _time_param(service: IceService, call: Call, name: str) -> float | None:
    value = call.get(name)
    if value is None:
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise service.invalid_parameter(name, value) from None


def _positive_float(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


__all__ = ["IceService", "demo_runs", "task_spec"]
