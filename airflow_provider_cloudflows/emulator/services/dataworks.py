"""Emulated Alibaba Cloud DataWorks OpenAPI 2024-05-18: workflow instances and task instances.

Actions: GetWorkflowInstance, ListTaskInstances, GetTaskInstance, GetTaskInstanceLog, CreateWorkflowInstances,
GetCreateWorkflowInstancesResult, StopWorkflowInstances, RerunWorkflowInstances,
GetRerunWorkflowInstancesResult, ListWorkflowInstances (one business
date; WorkflowId, Name, Type, EnvType and Tags filters). Created instances keep their Tags. Response shapes and field names are
the official SDK's (`alibabacloud_dataworks_public20240518` models); times are 13-digit epoch
milliseconds.

Choices the public docs do not settle (UNCONFIRMED, kept tolerant in the hook):
- An unknown workflow instance, task instance or operation answers HTTP 404 with the code
  `Invalid.WorkflowInstance.NotFound` / `Invalid.TaskInstance.NotFound` /
  `Invalid.Operation.NotFound` (DataWorks' real product codes for these are not published).
- StopWorkflowInstances leaves an instance in `Failure` (the SDK lists no stopped state) and
  its unfinished task instances in `Failure` too; stopping a finished instance reports
  `Success: false` for that id.

Emulator conventions (for demos and tests):
- CreateWorkflowInstances answers `Creating` for two polls of GetCreateWorkflowInstancesResult,
  then `Created`. The new instances progress by time: NotRun, WaitResource, Running ... Success,
  one step every `CREATED_STEP_SECONDS`, with three task instances.
- `WorkflowParameters` JSON with `"emulator_outcome": "Failure"` makes the created instances
  fail (their second task instance fails); `"emulator_step_seconds": 0.2` sets their pace.
- `WorkflowId` 404 makes the creation end in `CreateFailure`.
- GetTaskInstanceLog serves a task instance's scripted `log` text; without one, a few lines
  naming the task instance and its state (a failed one ends with an error line). Every task
  instance has run `fields.RunNumber` times (default once); a later `RunNumber` is refused.
- A `SupplementData` creation with `Periods.BizDates` creates one instance per business date.
- RerunWorkflowInstances matches the finished instances of ProjectId + WorkflowId + Type (and
  `Ids`, `EnvType`); in each, the task instances whose status is in `Filter.TaskInstanceStatuses`
  (all when absent; `Filter.TaskIds` narrows by task id) and, with `RerunDownstreamEnabled`,
  every task instance after the first of them (the emulated tasks run in a chain) run again:
  the instance goes Running, Running, then its scripted `rerun_outcome` (default Success;
  `emulator_rerun_outcome` in WorkflowParameters for created instances); a rerun to Failure
  fails the first rerun task again. Each rerun task instance's RunNumber grows by one.
  GetRerunWorkflowInstancesResult answers `NotRun` once, then `Success`, or `Failure` with a
  FailureMessage when nothing matched or a matched instance is still running.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import (
    Call,
    RunNotFound,
    ServiceError,
    action,
    epoch_ms,
)
from airflow_provider_cloudflows.emulator.store import (
    RunSnapshot,
    ScriptedRun,
    ScriptedTaskRun,
    TaskRunSnapshot,
)

VENDOR = "dataworks"
VERSION = "2024-05-18"
NOT_FOUND_CODE = "Invalid.WorkflowInstance.NotFound"
MAX_PAGE_SIZE = 500
CREATED_STEP_SECONDS = 2.0
CREATING_POLLS = 2
MISSING_WORKFLOW_ID = 404
TASK_ID_START = 500_000_000
DEMO_PROJECT_ID = 10001
DEMO_WORKFLOW_ID = 20001

_BEIJING = timezone(timedelta(hours=8))
# States in which a task instance has not started yet (no StartedTime).
_NOT_STARTED = frozenset({"NotRun", "WaitTime", "WaitResource", "CheckingCondition", "WaitTrigger"})
_FINISHED = frozenset({"Success", "Failure"})
# SortBy fields of the List* calls (SDK docstring); "Asc" may be omitted. TriggerTime is the
# creation time here (the emulator triggers an instance when it creates it).
_SORT_FIELDS = ("Id", "TriggerTime", "StartedTime", "FinishedTime", "CreateTime")
_SORT_KEYS = {"TriggerTime": "CreateTime"}


def bizdate_ms(day: date) -> int:
    """A business date as DataWorks sends it: midnight Beijing time, epoch milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=_BEIJING).timestamp() * 1000)


def default_bizdate(now: float) -> int:
    """Manual runs get yesterday (Beijing time) as their business date, as DataWorks does."""
    return bizdate_ms(datetime.fromtimestamp(now, _BEIJING).date() - timedelta(days=1))


@dataclass
class _Operation:
    """One CreateWorkflowInstances call, as GetCreateWorkflowInstancesResult reports it."""

    polls_left: int
    specs: list[dict[str, Any]]
    failure: str | None = None
    instance_ids: list[int] = field(default_factory=list)
    task_instance_ids: list[int] = field(default_factory=list)
    unified_ids: list[int] = field(default_factory=list)


_Op = TypeVar("_Op")


@dataclass
class _RerunOperation:
    """One RerunWorkflowInstances call, as GetRerunWorkflowInstancesResult reports it."""

    polls_left: int
    failure: str | None = None


def instance_spec(
    instance_id: int,
    states: list[str],
    tasks: list[tuple[str, list[str]]],
    *,
    name: str,
    project_id: int = DEMO_PROJECT_ID,
    workflow_id: int = DEMO_WORKFLOW_ID,
    bizdate: int,
    instance_type: str = "ManualWorkflow",
    env_type: str = "Prod",
    advance: str = "poll",
    step_seconds: float = 1.0,
    first_task_id: int | None = None,
    workflow_parameters: str | None = None,
    task_logs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON form of a scripted DataWorks workflow instance (config.ScriptedRunSpec).

    `task_logs` maps task names to the log text GetTaskInstanceLog serves for them.
    """
    base = first_task_id if first_task_id is not None else instance_id * 10
    logs = task_logs or {}
    return {
        "vendor": VENDOR,
        "run_id": str(instance_id),
        "states": states,
        "advance": advance,
        "step_seconds": step_seconds,
        "fields": {
            "Name": name,
            "Type": instance_type,
            "ProjectId": project_id,
            "WorkflowId": workflow_id,
            "BizDate": bizdate,
            "EnvType": env_type,
            "WorkflowTaskInstanceId": base,
            "UnifiedWorkflowInstanceId": instance_id,
            "WorkflowParameters": workflow_parameters or "{}",
        },
        "task_runs": [
            {
                "name": task_name,
                "task_id": str(base + i + 1),
                "states": task_states,
                # Task definitions belong to the workflow, so their ids derive from it.
                "fields": {"TaskId": workflow_id * 100 + i + 1, "TaskType": "ODPS_SQL"},
                **({"log": logs[task_name]} if task_name in logs else {}),
            }
            for i, (task_name, task_states) in enumerate(tasks)
        ],
    }


def _script(outcome: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Instance states and three task scripts in lockstep; `Failure` fails the second task."""
    if outcome == "Failure":
        return (
            ["NotRun", "WaitResource", "Running", "Running", "Failure"],
            [
                ("extract", ["NotRun", "WaitResource", "Running", "Success"]),
                ("transform", ["NotRun", "NotRun", "NotRun", "Running", "Failure"]),
                ("load", ["NotRun"]),
            ],
        )
    return (
        ["NotRun", "WaitResource", "Running", "Running", "Running", "Success"],
        [
            ("extract", ["NotRun", "WaitResource", "Running", "Success"]),
            ("transform", ["NotRun", "NotRun", "NotRun", "Running", "Success"]),
            ("load", ["NotRun", "NotRun", "NotRun", "NotRun", "Running", "Success"]),
        ],
    )


def demo_runs(now: float | None = None) -> list[dict[str, Any]]:
    """Instances the demo preloads: one that succeeds, one that fails, one slow (time-based) one,
    and one that has already failed, for the rerun operator of example_repair (its rerun succeeds)."""
    bizdate = default_bizdate(now if now is not None else datetime.now(UTC).timestamp())
    ok_states, ok_tasks = _script("Success")
    bad_states, bad_tasks = _script("Failure")
    return [
        instance_spec(1001, ok_states, ok_tasks, name="orders_daily", bizdate=bizdate),
        instance_spec(1002, bad_states, bad_tasks, name="orders_daily_broken", bizdate=bizdate),
        instance_spec(
            1003,
            ["WaitTime", "WaitResource", "Running", "Running", "Running", "Running", "Success"],
            [(f"partition_{i}", ["NotRun", "NotRun", "Running", "Running", "Success"]) for i in range(1, 4)],
            name="orders_backfill_slow",
            bizdate=bizdate,
            instance_type="SupplementData",
            advance="time",
            step_seconds=3.0,
        ),
        instance_spec(
            1004,
            bad_states[-1:],
            [(name, states[-1:]) for name, states in bad_tasks],
            name="orders_daily_failed",
            bizdate=bizdate,
        ),
    ]


class DataWorksService(AlibabaRpcService):
    vendor = VENDOR
    version = VERSION
    product = "dataworks-public"
    not_found_code = NOT_FOUND_CODE
    not_found_message = "The workflow instance {run_id} does not exist."

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self._operations: dict[str, _Operation] = {}
        self._reruns: dict[str, _RerunOperation] = {}

    # ------------------------------------------------------------------ rendering

    def _instance_json(self, snap: RunSnapshot) -> dict[str, Any]:
        f = snap.fields
        created = epoch_ms(snap.created_at)
        body: dict[str, Any] = {
            "Id": int(snap.run_id),
            "WorkflowId": f.get("WorkflowId"),
            "WorkflowTaskInstanceId": f.get("WorkflowTaskInstanceId"),
            "UnifiedWorkflowInstanceId": f.get("UnifiedWorkflowInstanceId"),
            "Name": f.get("Name"),
            "Type": f.get("Type", "ManualWorkflow"),
            "Status": snap.state,
            "BizDate": f.get("BizDate"),
            "ProjectId": f.get("ProjectId"),
            "EnvType": f.get("EnvType", "Prod"),
            "Owner": f.get("Owner", "1000"),
            "CreateTime": created,
            "ModifyTime": created + 1000 * snap.step,
            "CreateUser": f.get("CreateUser", "1000"),
            "ModifyUser": f.get("ModifyUser", "1000"),
            "WorkflowParameters": f.get("WorkflowParameters", "{}"),
            "Tags": f.get("Tags", []),
        }
        # Times derive from the script step, not the wall clock, so two reads of one state agree.
        if snap.state not in _NOT_STARTED:
            body["StartedTime"] = created + 1000
        if snap.finished:
            scripted_end = snap.finishes_at if not snap.stopped else None
            body["FinishedTime"] = (
                epoch_ms(scripted_end) if scripted_end is not None else created + 1000 * (snap.step + 2)
            )
        return body

    def _task_json(self, snap: RunSnapshot, index: int, task: TaskRunSnapshot) -> dict[str, Any]:
        f = snap.fields
        created = epoch_ms(snap.created_at)
        body: dict[str, Any] = {
            "Id": int(task.task_id or 0),
            "TaskId": task.fields.get("TaskId"),
            "TaskName": task.name,
            "TaskType": task.fields.get("TaskType", "ODPS_SQL"),
            "Status": task.state,
            "WorkflowInstanceId": int(snap.run_id),
            "WorkflowId": f.get("WorkflowId"),
            "WorkflowName": f.get("Name"),
            "WorkflowInstanceType": f.get("Type", "ManualWorkflow"),
            "UnifiedWorkflowInstanceId": f.get("UnifiedWorkflowInstanceId"),
            "ProjectId": f.get("ProjectId"),
            "ProjectEnv": f.get("EnvType", "Prod"),
            "Bizdate": f.get("BizDate"),
            "CreateTime": created,
            "ModifyTime": created + 1000 * snap.step,
            "TriggerTime": created,
            "RunNumber": 1 + task.reruns,
            "PeriodNumber": 1,
            "Priority": 1,
            "Owner": f.get("Owner", "1000"),
            "CreateUser": f.get("CreateUser", "1000"),
            "ModifyUser": f.get("ModifyUser", "1000"),
            "TriggerType": "Manual" if f.get("Type") != "Normal" else "Scheduler",
            "TriggerRecurrence": "Normal",
            "RerunMode": "AllAllowed",
            "Timeout": 0,
            "Runtime": {"Gateway": "emulator-gateway-1", "ProcessId": f"T3_{task.task_id}"},
            "RuntimeResource": {"Cu": "0.5", "ResourceGroupId": "S_res_group_emulator"},
        }
        if task.state not in _NOT_STARTED:
            body["StartedTime"] = created + 1000 * (index + 1)
        if task.finished and task.state in _FINISHED:
            body["FinishedTime"] = created + 1000 * (index + 2)
        return body

    # ------------------------------------------------------------------ lookups

    def _instance_id(self, call: Call, name: str = "Id") -> int:
        value = call.int_param(name, minimum=1)
        if value is None:
            raise self.missing_parameter(name)
        return value

    def _runs_in(self, project_id: int, bizdate: int | None) -> list[ScriptedRun]:
        return [
            r
            for r in self.store.list(VENDOR)
            if r.fields.get("ProjectId") == project_id
            and (bizdate is None or r.fields.get("BizDate") == bizdate)
        ]

    def _paging(self, call: Call) -> tuple[int, int, list[str]]:
        """PageNumber, PageSize and SortBy of a List* call."""
        page_number = call.int_param("PageNumber", 1, minimum=1) or 1
        page_size = call.int_param("PageSize", 10, minimum=1) or 10
        if page_size > MAX_PAGE_SIZE:
            raise self.invalid_parameter("PageSize", page_size)
        sort = str(call.get("SortBy", "Id Desc")).split()
        if (
            not sort
            or sort[0] not in _SORT_FIELDS
            or len(sort) > 2
            or (len(sort) > 1 and sort[1] not in ("Asc", "Desc"))
        ):
            raise self.invalid_parameter("SortBy", call.get("SortBy"))
        return page_number, page_size, sort

    # ------------------------------------------------------------------ actions

    @action("GetWorkflowInstance", required=("Id",))
    async def get_workflow_instance(self, call: Call) -> dict[str, Any]:
        instance_id = self._instance_id(call)
        call.run_id = str(instance_id)
        return {"WorkflowInstance": self._instance_json(self.store.observe(VENDOR, str(instance_id)))}

    @action("ListTaskInstances", required=("Bizdate", "ProjectId"))
    async def list_task_instances(self, call: Call) -> dict[str, Any]:
        project_id = call.int_param("ProjectId", minimum=1)
        bizdate = call.int_param("Bizdate", minimum=0)
        page_number, page_size, sort = self._paging(call)
        instance_filter = call.int_param("WorkflowInstanceId", minimum=1)
        status = call.get("Status")
        env = call.get("ProjectEnv")
        runs = self._runs_in(project_id or 0, bizdate)
        if instance_filter is not None:
            runs = [r for r in runs if r.run_id == str(instance_filter)]
            call.run_id = str(instance_filter)
        tasks: list[dict[str, Any]] = []
        for run in runs:
            snap = self.store.snapshot_of(run)
            if env and snap.fields.get("EnvType", "Prod") != env:
                continue
            tasks += [self._task_json(snap, i, t) for i, t in enumerate(snap.task_runs)]
        if status:
            tasks = [t for t in tasks if t["Status"] == status]
        key = _SORT_KEYS.get(sort[0], sort[0])
        tasks.sort(key=lambda t: (t.get(key) or 0, t["Id"]), reverse=len(sort) > 1 and sort[1] == "Desc")
        start = (page_number - 1) * page_size
        return {
            "PagingInfo": {
                "PageNumber": page_number,
                "PageSize": page_size,
                "TotalCount": len(tasks),
                "TaskInstances": tasks[start : start + page_size],
            }
        }

    @action("GetTaskInstance", required=("Id",))
    async def get_task_instance(self, call: Call) -> dict[str, Any]:
        snap, index, task = self._find_task(str(self._instance_id(call)))
        call.run_id = snap.run_id
        return {"TaskInstance": self._task_json(snap, index, task)}

    @action("GetTaskInstanceLog", required=("Id",))
    async def get_task_instance_log(self, call: Call) -> dict[str, Any]:
        task_id = str(self._instance_id(call))
        run_number = call.int_param("RunNumber", minimum=1)
        snap, _, task = self._find_task(task_id)
        call.run_id = snap.run_id
        runs = int(task.fields.get("RunNumber", 1))  # type: ignore[call-overload]
        if run_number is not None and run_number > runs:
            raise ServiceError(
                "Invalid.TaskInstance.RunNumber",
                f"The task instance {task_id} has no run {run_number}; its runs are 1 to {runs}.",
                400,
            )
        return {"TaskInstanceLog": task.log if task.log is not None else _default_log(task_id, task)}

    def _find_task(self, task_id: str) -> tuple[RunSnapshot, int, TaskRunSnapshot]:
        """The instance snapshot, index and task instance with this id (the vendor's 404 if none)."""
        for run in self.store.list(VENDOR):
            snap = self.store.snapshot_of(run)
            for index, task in enumerate(snap.task_runs):
                if task.task_id == task_id:
                    return snap, index, task
        raise ServiceError(
            "Invalid.TaskInstance.NotFound", f"The task instance {task_id} does not exist.", 404
        )

    @action("CreateWorkflowInstances", required=("Name", "ProjectId", "Type", "WorkflowId"))
    async def create_workflow_instances(self, call: Call) -> dict[str, Any]:
        project_id = call.int_param("ProjectId", minimum=1)
        workflow_id = call.int_param("WorkflowId", minimum=1)
        instance_type = call.require("Type")
        if instance_type not in (
            "SupplementData",
            "ManualWorkflow",
            "Manual",
            "SmokeTest",
            "TriggerWorkflow",
        ):
            raise self.invalid_parameter("Type", instance_type)
        params = (
            call.json_param("WorkflowParameters", {}) if _looks_json(call.get("WorkflowParameters")) else {}
        )
        if not isinstance(params, dict):
            params = {}
        outcome = params.get("emulator_outcome", "Success")
        try:
            step_seconds = max(float(params.get("emulator_step_seconds", CREATED_STEP_SECONDS)), 0.01)
        except (TypeError, ValueError):
            raise self.invalid_parameter("WorkflowParameters", call.get("WorkflowParameters")) from None
        bizdates = self._bizdates(call) if instance_type == "SupplementData" else [default_bizdate(call.now)]
        auto_start = str(call.get("AutoStartEnabled", "true")).lower() != "false"
        states, tasks = _script("Failure" if outcome == "Failure" else "Success")
        if not auto_start:
            states, tasks = ["NotRun"], [(name, ["NotRun"]) for name, _ in tasks]
        specs = [
            {
                "states": states,
                "tasks": tasks,
                "name": call.require("Name"),
                "project_id": project_id,
                "workflow_id": workflow_id,
                "bizdate": day,
                "instance_type": instance_type,
                "env_type": call.get("EnvType", "Prod"),
                "workflow_parameters": call.get("WorkflowParameters"),
                "step_seconds": step_seconds,
                "tags": self._tags(call),
                "rerun_outcome": params.get("emulator_rerun_outcome"),
            }
            for day in bizdates
        ]
        failure = None
        if workflow_id == MISSING_WORKFLOW_ID:
            failure = f"The workflow {workflow_id} does not exist in project {project_id} or is not deployed."
        operation_id = self.store.random_uuid()
        self._operations[operation_id] = _Operation(polls_left=CREATING_POLLS, specs=specs, failure=failure)
        return {"OperationId": operation_id}

    def _tags(self, call: Call) -> list[dict[str, str]]:
        """`Tags` as the SDK sends it: a JSON array of {Key, Value}."""
        if call.get("Tags") is None:
            return []
        tags = call.json_param("Tags")
        if not isinstance(tags, list) or not all(isinstance(t, dict) and "Key" in t for t in tags):
            raise self.invalid_parameter("Tags", call.get("Tags"))
        return [{"Key": str(t["Key"]), "Value": str(t.get("Value", ""))} for t in tags]

    @action("ListWorkflowInstances", required=("BizDate", "ProjectId"))
    async def list_workflow_instances(self, call: Call) -> dict[str, Any]:
        """Instances of one business date; filters WorkflowId, Name (fuzzy), Type, EnvType and
        Tags (an instance carrying any of them); SortBy any documented field, `Id Desc` by default."""
        project_id = call.int_param("ProjectId", minimum=1)
        bizdate = call.int_param("BizDate", minimum=0)
        page_number, page_size, sort = self._paging(call)
        workflow_id = call.int_param("WorkflowId", minimum=1)
        name, kind, env = call.get("Name"), call.get("Type"), call.get("EnvType")
        wanted = {(t["Key"], t["Value"]) for t in self._tags(call)}

        def matches(run: ScriptedRun) -> bool:
            f = run.fields
            return (
                (workflow_id is None or f.get("WorkflowId") == workflow_id)
                and (name is None or str(name) in str(f.get("Name", "")))
                and (kind is None or f.get("Type") == kind)
                and (env is None or f.get("EnvType", "Prod") == env)
                and (not wanted or any((t["Key"], t["Value"]) in wanted for t in f.get("Tags", [])))
            )

        instances = [
            self._instance_json(self.store.snapshot_of(r))
            for r in self._runs_in(project_id or 0, bizdate)
            if matches(r)
        ]
        key = _SORT_KEYS.get(sort[0], sort[0])
        # Ties (and instances without the field, e.g. not finished yet) fall back to the id.
        instances.sort(key=lambda i: (i.get(key) or 0, i["Id"]), reverse=len(sort) > 1 and sort[1] == "Desc")
        page = instances[(page_number - 1) * page_size : page_number * page_size]
        return {
            "PagingInfo": {
                "PageNumber": page_number,
                "PageSize": page_size,
                "TotalCount": len(instances),
                "WorkflowInstances": page,
            }
        }

    def _bizdates(self, call: Call) -> list[int]:
        periods = call.json_param("Periods")
        ranges = periods.get("BizDates") if isinstance(periods, dict) else None
        if not ranges:
            raise self.missing_parameter("Periods.BizDates")
        days: list[int] = []
        try:
            for r in ranges:
                day, end = date.fromisoformat(r["StartBizDate"]), date.fromisoformat(r["EndBizDate"])
                while day <= end and len(days) < 31:
                    days.append(bizdate_ms(day))
                    day += timedelta(days=1)
        except (KeyError, TypeError, ValueError):
            raise self.invalid_parameter("Periods", call.get("Periods")) from None
        return days

    @action("GetCreateWorkflowInstancesResult", required=("OperationId",))
    async def get_create_workflow_instances_result(self, call: Call) -> dict[str, Any]:
        op = _operation(self._operations, call)
        if op.polls_left > 0:
            op.polls_left -= 1
            return {"Result": {"Status": "Creating"}}
        if op.failure:
            return {"Result": {"Status": "CreateFailure", "FailureMessage": op.failure}}
        if not op.instance_ids:
            self._materialize(op)
        return {
            "Result": {
                "Status": "Created",
                "WorkflowInstanceIds": op.instance_ids,
                "WorkflowTaskInstanceIds": op.task_instance_ids,
                "UnifiedWorkflowInstanceIds": op.unified_ids,
            }
        }

    def _materialize(self, op: _Operation) -> None:
        """Create the instances when the operation first reports Created; their script starts then."""
        unified = self.store.next_int_id()
        for spec in op.specs:
            instance_id = self.store.next_int_id()
            # The workflow's own task instance, then one id per task instance (consecutive).
            task_base = self.store.next_int_id(start=TASK_ID_START)
            for _ in spec["tasks"]:
                self.store.next_int_id(start=TASK_ID_START)
            run = instance_spec(
                instance_id,
                spec["states"],
                spec["tasks"],
                name=spec["name"],
                project_id=spec["project_id"],
                workflow_id=spec["workflow_id"],
                bizdate=spec["bizdate"],
                instance_type=spec["instance_type"],
                env_type=spec["env_type"],
                advance="time",
                step_seconds=spec["step_seconds"],
                first_task_id=task_base,
                workflow_parameters=spec["workflow_parameters"],
            )
            run["fields"]["UnifiedWorkflowInstanceId"] = unified
            run["fields"]["Tags"] = spec["tags"]
            run["rerun_outcome"] = spec["rerun_outcome"]
            self.state.script_run(run)
            op.instance_ids.append(instance_id)
            op.task_instance_ids.append(task_base)
        op.unified_ids.append(unified)

    @action("StopWorkflowInstances", required=("Ids",))
    async def stop_workflow_instances(self, call: Call) -> dict[str, Any]:
        ids = call.json_param("Ids")
        if not isinstance(ids, list) or not ids:
            raise self.invalid_parameter("Ids", call.get("Ids"))
        info: dict[str, dict[str, Any]] = {}
        for raw in ids:
            key = str(raw)
            try:
                snap = self.store.peek(VENDOR, key)
            except RunNotFound:
                info[key] = {"Success": False, "Message": f"The workflow instance {key} does not exist."}
                continue
            if snap.finished:
                info[key] = {
                    "Success": False,
                    "Message": f"The workflow instance {key} has finished ({snap.state}) and cannot be stopped.",
                }
                continue
            self.store.stop(VENDOR, key, "Failure", task_state="Failure")
            info[key] = {"Success": True, "Message": ""}
        call.run_id = ",".join(str(i) for i in ids)
        return {"SuccessInfo": info}

    @action("RerunWorkflowInstances", required=("ProjectId", "Type", "WorkflowId"))
    async def rerun_workflow_instances(self, call: Call) -> dict[str, Any]:
        project_id = call.int_param("ProjectId", minimum=1)
        workflow_id = call.int_param("WorkflowId", minimum=1)
        instance_type = call.require("Type")
        if instance_type != "ManualWorkflow":
            raise self.invalid_parameter("Type", instance_type)
        ids = call.json_param("Ids") if call.get("Ids") is not None else None
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
            raise self.invalid_parameter("Ids", call.get("Ids"))
        task_filter = call.json_param("Filter", {}) if call.get("Filter") is not None else {}
        if not isinstance(task_filter, dict):
            raise self.invalid_parameter("Filter", call.get("Filter"))
        env = call.get("EnvType")
        runs = [
            r
            for r in self._runs_in(project_id or 0, None)
            if r.fields.get("WorkflowId") == workflow_id
            and r.fields.get("Type") == instance_type
            and (ids is None or int(r.run_id) in ids)
            and (env is None or r.fields.get("EnvType", "Prod") == env)
        ]
        operation = _RerunOperation(polls_left=1)
        if not runs:
            operation.failure = "No workflow instance matched the rerun conditions."
        elif running := [r.run_id for r in runs if not self.store.snapshot_of(r).finished]:
            operation.failure = f"The workflow instances {', '.join(running)} are still running."
        else:
            for run in runs:
                self._rerun(run, task_filter)
        call.run_id = ",".join(r.run_id for r in runs) or None
        operation_id = self.store.random_uuid()
        self._reruns[operation_id] = operation
        return {"OperationId": operation_id}

    def _rerun(self, run: ScriptedRun, task_filter: dict[str, Any]) -> None:
        """Run the matched task instances of one finished instance again (see the module docstring)."""
        snap = self.store.snapshot_of(run)
        statuses = task_filter.get("TaskInstanceStatuses")
        task_ids = task_filter.get("TaskIds")
        chosen = [
            (statuses is None or t.state in statuses) and (not task_ids or t.fields.get("TaskId") in task_ids)
            for t in snap.task_runs
        ]
        if task_filter.get("RerunDownstreamEnabled") and True in chosen:
            first = chosen.index(True)
            chosen = [i >= first for i in range(len(chosen))]
        outcome = run.rerun_outcome or "Success"
        scripts: dict[str, list[str]] = {}
        for task, rerun in zip(snap.task_runs, chosen, strict=True):
            if rerun and task.task_id:
                # The first rerun task decides a failing rerun; those after it do not run.
                final = outcome if not scripts or outcome == "Success" else "NotRun"
                scripts[task.task_id] = ["NotRun", "Running", final] if final != "NotRun" else ["NotRun"]
        self.store.rerun(VENDOR, run.run_id, ["Running", "Running", outcome], scripts)

    @action("GetRerunWorkflowInstancesResult", required=("OperationId",))
    async def get_rerun_workflow_instances_result(self, call: Call) -> dict[str, Any]:
        op = _operation(self._reruns, call)
        if op.polls_left > 0:
            op.polls_left -= 1
            return {"Result": {"Status": "NotRun"}}
        if op.failure:
            return {"Result": {"Status": "Failure", "FailureMessage": op.failure}}
        return {"Result": {"Status": "Success"}}


def _operation(operations: dict[str, _Op], call: Call) -> _Op:
    """The operation a Get*Result call names (Invalid.Operation.NotFound for an unknown one)."""
    operation_id = str(call.require("OperationId"))
    op = operations.get(operation_id)
    if op is None:
        raise ServiceError("Invalid.Operation.NotFound", f"The operation {operation_id} does not exist.", 404)
    return op


def _default_log(task_id: str, task: TaskRunSnapshot) -> str:
    """What the emulator's task instances log when no log text is scripted."""
    lines = [
        f"[emulator] task instance {task_id} ({task.name}) started on emulator-gateway-1",
        f"[emulator] task instance {task_id} is {task.state}",
    ]
    if task.state == "Failure":
        lines.append(
            f"ERROR {task.error_code or 'ODPS-0130071'}: {task.error_message or 'Semantic analysis exception'}"
        )
    return "\n".join(lines) + "\n"


def _looks_json(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip().startswith("{"):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


__all__ = ["DataWorksService", "ScriptedTaskRun", "demo_runs", "instance_spec"]
