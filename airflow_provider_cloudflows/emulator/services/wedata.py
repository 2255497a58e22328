"""Emulated Tencent Cloud WeData API 2025-08-06: workflow runs of the workflow-scheduling model.

Actions (API 3.0: POST JSON, TC3 signatures, errors in HTTP 200):
- GetTriggerWorkflowRun (ProjectId, WorkflowExecutionId): `Data{TriggerWorkflowRun,
  TriggerTaskRuns, BizStateEnumInfos}` with the SDK's TriggerWorkflowRunBrief /
  TriggerTaskRunBrief field names, times as epoch-millisecond strings.
- CreateTriggerWorkflowRun (ProjectId, WorkflowId, AdvancedParams, TaskIds): `Data{WorkflowExecutionId}`.
- KillTriggerWorkflowRuns (ProjectId, WorkflowId, WorkflowExecutionIdList | All | Pending):
  `Data[{ItemId, ItemName, ExecutionActionId, ErrorMessage, OpStatus}]`.
- ListTriggerWorkflowRuns (ProjectId, Filters, OrderFields, PageNumber, PageSize):
  `Data{TotalCount, TotalPageNumber, PageNumber, PageSize, Items}`; Filters WorkflowId (several
  values: any of them), ScheduleTimeGreaterEqual/LessEqual (epoch ms or `yyyy-MM-dd HH:mm:ss`
  China time, both inclusive) and the rest; OrderFields CreateTime, EndTime, ScheduleTime.
- GetTaskInstance, ListTaskInstances, GetTaskInstanceLog: the task instances of scheduled tasks
  (wedata_task_instance.py; scripted as runs marked `Kind: TaskInstance`, which the workflow-run
  actions do not see).
- RerunTriggerWorkflowRunAsync (ProjectId, WorkflowId, WorkflowExecutionId, ExecuteType, TaskIds,
  AdvancedParams): `Data{AsyncId}`; GetOpsAsyncJob (ProjectId, AsyncId): `Data{Status, ErrorDesc, ...}`.

Choices the public docs do not settle (UNCONFIRMED; the hook stays tolerant):
- An unknown run (or a run of another project) answers `ResourceNotFound`.
- A killed run ends in `FAILED` (the SDK lists no killed/stopped state), its unfinished task
  runs too; killing a finished run reports `OpStatus: false` for it.
- ListTriggerWorkflowRuns caps PageSize at 200 (`InvalidParameterValue` above); PageNumber
  counts from 1, and a page past the end is empty.
- BizStateEnumInfos is a histogram of the task runs' states with Chinese labels.

Emulator conventions (for demos and tests):
- A scripted run's `ScheduleTime` field (epoch seconds) is its planned schedule time; without
  one, it is the creation time.
- Created runs progress by time, one step every `CREATED_STEP_SECONDS`: PENDING, RUNNING ...
  SUCCESS over three task runs (extract, transform, load). AdvancedParams
  `emulator_outcome` = `FAILED` fails the transform task and the run (ErrorCodeStr
  `TASK_FAILED`), `SKIPED` skips it; `emulator_step_seconds` sets the pace. TaskIds keep only
  those tasks (by name or TaskId).
- WorkflowId `missing-workflow` answers `ResourceNotFound`.
- A rerun runs the same execution again: ExecuteType 1 every task, 2 the tasks in TaskIds (by
  TaskId or name). The run goes RUNNING, RUNNING, then its scripted `rerun_outcome` (default
  SUCCESS; a created run takes AdvancedParams `emulator_rerun_outcome`); a rerun to FAILED fails
  the first rerun task again. RerunTimes counts the reruns. GetOpsAsyncJob answers RUNNING once,
  then SUCCESS, or FAIL with ErrorDesc when the run was still running or no task matched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_cloudflows.emulator.services.base import (
    Call,
    RunNotFound,
    ServiceError,
    action,
    epoch_ms_str,
    json_text,
)
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service
from airflow_provider_cloudflows.emulator.services.wedata_task_instance import (
    TaskInstanceActions,
    is_task_instance,
    page_of,
    task_instance_spec,
)
from airflow_provider_cloudflows.emulator.store import RunSnapshot, ScriptedRun, TaskRunSnapshot

VENDOR = "wedata"
VERSION = "2025-08-06"
CREATED_STEP_SECONDS = 1.0
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 200
MISSING_WORKFLOW_ID = "missing-workflow"

DEMO_APP_ID = "1300000000"
DEMO_PROJECT_ID = "1460947878944567296"
DEMO_WORKFLOW_ID = "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c"
DEMO_WORKFLOW_NAME = "orders_daily"
DEMO_USER_UIN = "100000000001"
_CHINA_TZ = timezone(timedelta(hours=8))

# Task states shown before a task starts, and the labels the console uses for them.
_NOT_STARTED = frozenset({"PENDING"})
_FINISHED = frozenset({"SUCCESS", "FAILED", "SKIP", "SKIPED"})
_LABELS = {
    "PENDING": "等待资源",
    "RUNNING": "运行中",
    "SUCCESS": "成功",
    "FAILED": "失败",
    "SKIP": "跳过运行",
    "SKIPED": "跳过运行",
}
_TASKS = (("extract", "SparkSql"), ("transform", "HiveSql"), ("load", "Shell"))


@dataclass
class _AsyncJob:
    """One asynchronous operation (RerunTriggerWorkflowRunAsync), as GetOpsAsyncJob reports it."""

    project_id: str
    async_type: str
    created_at: float
    polls_left: int = 1
    failure: str | None = None


def _task_scripts(outcome: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The run's states and its three task scripts in lockstep."""
    if outcome == "FAILED":
        return (
            ["PENDING", "RUNNING", "RUNNING", "FAILED"],
            [
                ("extract", ["PENDING", "RUNNING", "SUCCESS"]),
                ("transform", ["PENDING", "PENDING", "RUNNING", "FAILED"]),
                ("load", ["PENDING"]),
            ],
        )
    if outcome == "SKIPED":
        return (
            ["PENDING", "RUNNING", "SKIPED"],
            [("extract", ["PENDING", "RUNNING", "SUCCESS"]), ("transform", ["PENDING", "PENDING", "SKIP"])],
        )
    return (
        ["PENDING", "RUNNING", "RUNNING", "RUNNING", "SUCCESS"],
        [
            ("extract", ["PENDING", "RUNNING", "SUCCESS"]),
            ("transform", ["PENDING", "PENDING", "RUNNING", "SUCCESS"]),
            ("load", ["PENDING", "PENDING", "PENDING", "RUNNING", "SUCCESS"]),
        ],
    )


def run_spec(
    execution_id: str,
    outcome: str = "SUCCESS",
    *,
    project_id: str = DEMO_PROJECT_ID,
    workflow_id: str = DEMO_WORKFLOW_ID,
    workflow_name: str = DEMO_WORKFLOW_NAME,
    advance: str = "poll",
    step_seconds: float = 1.0,
    trigger_type: str = "ManualTrigger",
    workflow_params: str = "[]",
    task_ids: list[str] | None = None,
) -> dict[str, Any]:
    """The JSON form (config.ScriptedRunSpec) of a WeData workflow run ending in `outcome`."""
    states, tasks = _task_scripts(outcome)
    types = dict(_TASKS)
    task_runs = []
    for i, (name, task_states) in enumerate(tasks):
        task_id = f"{workflow_id[:8]}_{name}"
        if task_ids and name not in task_ids and task_id not in task_ids:
            continue
        failed = task_states[-1] == "FAILED"
        task_runs.append(
            {
                "name": name,
                "task_id": f"{execution_id}-{i + 1}",
                "states": task_states,
                "error_code": "E1001" if failed else None,
                "error_message": "SQL execution failed: table orders_tmp not found" if failed else None,
                "fields": {"TaskId": task_id, "TaskType": types[name], "JobId": f"job-{i + 1}"},
            }
        )
    return {
        "vendor": VENDOR,
        "run_id": execution_id,
        "states": states,
        "advance": advance,
        "step_seconds": step_seconds,
        "error_code": "TASK_FAILED" if outcome == "FAILED" else None,
        "fields": {
            "ProjectId": project_id,
            "WorkflowId": workflow_id,
            "WorkflowName": workflow_name,
            "TriggerType": trigger_type,
            "WorkflowParams": workflow_params,
        },
        "task_runs": task_runs,
    }


def demo_runs(now: float | None = None) -> list[dict[str, Any]]:
    """Runs the demo preloads: one that succeeds, one that fails, one slow (time-based) one."""
    return [
        run_spec("d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54", "SUCCESS"),
        run_spec("7c9e6679-7425-40de-944b-e07fc1f90ae7", "FAILED", workflow_name="orders_daily_broken"),
        run_spec(
            "a3bb189e-8bf9-3888-9912-ace4e6543002",
            "SUCCESS",
            workflow_name="orders_backfill_slow",
            trigger_type="Scheduler",
            advance="time",
            step_seconds=3.0,
        ),
    ]


def _ms(seconds: float) -> str:
    return epoch_ms_str(seconds)


class WeDataService(TaskInstanceActions, TencentApi3Service):
    vendor = VENDOR
    version = VERSION
    tc3_service = "wedata"
    not_found_code = "ResourceNotFound"
    not_found_message = "The workflow run {run_id} does not exist."

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self._async_jobs: dict[str, _AsyncJob] = {}

    # ------------------------------------------------------------------ rendering

    def _times(self, snap: RunSnapshot) -> tuple[float, float | None, float | None]:
        # Times derive from the script step, not the wall clock, so two reads of one state agree;
        # a run scripted to finish at a given time ends at that time.
        created = snap.created_at
        started = created + 1 if snap.state not in _NOT_STARTED or snap.step > 0 else None
        ended = None
        if snap.finished:
            ended = (
                snap.finishes_at
                if snap.finishes_at is not None and not snap.stopped
                else created + 2 + snap.step
            )
        if started is not None and ended is not None:
            started = min(started, ended)
        return created, started, ended

    def _run_json(self, snap: RunSnapshot) -> dict[str, Any]:
        f = snap.fields
        created, started, ended = self._times(snap)
        scheduled = _scheduled(snap)
        return {
            "AppId": DEMO_APP_ID,
            "ProjectId": f.get("ProjectId"),
            "WorkflowName": f.get("WorkflowName"),
            "WorkflowId": f.get("WorkflowId"),
            "ExecutionId": snap.run_id,
            "TriggerId": f.get("TriggerId", f"trigger-{snap.run_id[:8]}"),
            "TriggerType": f.get("TriggerType", "ManualTrigger"),
            "CreateTime": _ms(created),
            "ScheduleTime": _ms(scheduled),
            "PlannedSchedulingTime": _ms(scheduled),
            "PendingStartTime": _ms(created),
            "QueueStartTime": _ms(created),
            "ExecutionStartTime": _ms(started) if started else None,
            "ExecutionEndTime": _ms(ended) if ended else None,
            "EndTime": _ms(ended) if ended else None,
            "ExecutionCostTime": str(int(ended - started)) if ended and started else None,
            "QueueCostTime": "0",
            "PendingCostTime": "1" if started else None,
            "ExecutionState": snap.state,
            "ErrorCodeStr": snap.error_code,
            "ExecuteUserUin": DEMO_USER_UIN,
            "ExecuteUserName": "emulator",
            "WorkflowParams": f.get("WorkflowParams", "[]"),
            "WorkflowVersionId": f.get("WorkflowVersionId", "1"),
            "SupportRerun": snap.finished,
            "RerunTimes": snap.reruns,
            "SelectedTaskIds": f.get("SelectedTaskIds"),
            "FolderId": f.get("FolderId", "720ecbfb-7e5a-11f0-ba36-b8cef6a5af5c"),
            "FolderName": f.get("FolderName", "emulator"),
            "CycleType": None,
            "UserNameInCharge": "emulator",
            "UserUinInCharge": DEMO_USER_UIN,
            "AssociatedEntityExist": True,
            "ParentWorkflowExecutionId": None,
            "ParentTaskExecutionId": None,
            "ParentTaskExecutionName": None,
            "Privilege": "CAN_MANAGE",
        }

    def _task_json(self, snap: RunSnapshot, index: int, task: TaskRunSnapshot) -> dict[str, Any]:
        f = snap.fields
        created = snap.created_at
        started = created + 1 + index if task.state not in _NOT_STARTED else None
        ended = created + 2 + index if task.finished and task.state in _FINISHED else None
        return {
            "ExecutionId": task.task_id,
            "ExecutionState": task.state,
            "TaskExecutionState": task.state,
            "WorkflowExecutionState": snap.state,
            "ExecutionResult": task.state if task.finished else None,
            "ProjectId": f.get("ProjectId"),
            "ProjectName": "emulator_project",
            "WorkflowId": f.get("WorkflowId"),
            "WorkflowName": f.get("WorkflowName"),
            "WorkflowExecutionId": snap.run_id,
            "TaskId": task.fields.get("TaskId"),
            "TaskName": task.name,
            "TaskType": task.fields.get("TaskType"),
            "TaskTypeId": 32,
            "TaskVersionId": "1",
            "TriggerType": f.get("TriggerType", "ManualTrigger"),
            "JobId": task.fields.get("JobId") if started else None,
            "ErrorCode": task.error_code,
            "ErrorCodeStr": task.error_message,
            "RetryTimes": 0,
            "RerunTimes": task.reruns,
            "IsLatestExecution": True,
            "SupportRerun": task.finished,
            "CreateTime": _ms(created),
            "ScheduleTime": _ms(_scheduled(snap)),
            "UpdateTime": _ms(ended or started or created),
            "DependenceFinishedTime": _ms(started) if started else None,
            "IssueTime": _ms(started) if started else None,
            "QueueStartTime": _ms(created),
            "PendingStartTime": _ms(created),
            "ExecutionStartTime": _ms(started) if started else None,
            "ExecutionEndTime": _ms(ended) if ended else None,
            "QueueCostTime": "0",
            "ExecutionTime": str(int(ended - started)) if ended and started else None,
            "AllCostTime": str(int(ended - created)) if ended else None,
            "WaitTime": "0",
            "TimeZone": "UTC+8",
            "Timezone": "UTC+8",
            "ResourceGroup": "emulator-scheduler",
            "ResourceGroupId": "rg-emulator",
            "ResourceGroupName": "emulator-scheduler",
            "ExecuteUserUin": DEMO_USER_UIN,
            "ExecuteUserName": "emulator",
            "CreaterUin": DEMO_USER_UIN,
            "CreateUin": DEMO_USER_UIN,
            "DependOnList": [snap.task_runs[index - 1].task_id] if index else [],
            "RunParams": None,
            "WorkflowParams": f.get("WorkflowParams", "[]"),
            "TaskTypeExtensions": None,
            "LeftCoordinate": 100.0 + 200 * index,
            "TopCoordinate": 100.0,
            "CycleType": None,
            "UserNameInCharge": "emulator",
            "UserUinInCharge": DEMO_USER_UIN,
            "FolderId": f.get("FolderId", "720ecbfb-7e5a-11f0-ba36-b8cef6a5af5c"),
            "FolderName": f.get("FolderName", "emulator"),
            "DependencyTriggerPolicy": None,
            "AssociatedEntityExist": True,
            "ScheduleRunType": "2",
            "Privilege": "CAN_MANAGE",
        }

    @staticmethod
    def _biz_states(snap: RunSnapshot) -> list[dict[str, Any]]:
        counts = Counter(task.state for task in snap.task_runs)
        return [
            {"LabelKey": state, "LabelValue": _LABELS.get(state, state), "Count": count}
            for state, count in sorted(counts.items())
        ]

    # ------------------------------------------------------------------ lookups

    @staticmethod
    def _string(call: Call, name: str) -> str:
        value = call.require(name)
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise call.service.invalid_parameter(name, value)
        return str(value)

    def _run_in_project(self, execution_id: str, project_id: str) -> ScriptedRun:
        try:
            run = self.store.get(VENDOR, execution_id)
        except RunNotFound:
            run = None
        if run is None or is_task_instance(run) or str(run.fields.get("ProjectId")) != project_id:
            raise ServiceError(
                "ResourceNotFound",
                f"The workflow run {execution_id} does not exist in project {project_id}.",
                200,
            )
        return run

    # ------------------------------------------------------------------ actions

    @action("GetTriggerWorkflowRun", required=("ProjectId", "WorkflowExecutionId"))
    async def get_trigger_workflow_run(self, call: Call) -> dict[str, Any]:
        project_id = self._string(call, "ProjectId")
        execution_id = self._string(call, "WorkflowExecutionId")
        call.run_id = execution_id
        self._run_in_project(execution_id, project_id)
        snap = self.store.observe(VENDOR, execution_id)
        return {
            "Data": {
                "TriggerWorkflowRun": self._run_json(snap),
                "TriggerTaskRuns": [self._task_json(snap, i, t) for i, t in enumerate(snap.task_runs)],
                "BizStateEnumInfos": self._biz_states(snap),
            }
        }

    @action("CreateTriggerWorkflowRun", required=("ProjectId", "WorkflowId"))
    async def create_trigger_workflow_run(self, call: Call) -> dict[str, Any]:
        project_id = self._string(call, "ProjectId")
        workflow_id = self._string(call, "WorkflowId")
        if workflow_id == MISSING_WORKFLOW_ID:
            raise ServiceError(
                "ResourceNotFound", f"The workflow {workflow_id} does not exist in project {project_id}.", 200
            )
        params = self._advanced_params(call)
        outcome = params.get("emulator_outcome", "SUCCESS")
        if outcome not in ("SUCCESS", "FAILED", "SKIPED"):
            raise self.invalid_parameter("AdvancedParams", outcome)
        try:
            step_seconds = max(float(params.get("emulator_step_seconds", CREATED_STEP_SECONDS)), 0.01)
        except ValueError:
            raise self.invalid_parameter("AdvancedParams", params) from None
        task_ids = call.get("TaskIds")
        if task_ids is not None and not (
            isinstance(task_ids, list) and all(isinstance(t, str) for t in task_ids)
        ):
            raise self.invalid_parameter("TaskIds", task_ids)
        execution_id = self.store.random_uuid()
        spec = run_spec(
            execution_id,
            outcome,
            project_id=project_id,
            workflow_id=workflow_id,
            workflow_name=f"workflow_{workflow_id[:8]}",
            advance="time",
            step_seconds=step_seconds,
            workflow_params=json_text(call.get("AdvancedParams") or []),
            task_ids=task_ids or None,
        )
        if task_ids:
            spec["fields"]["SelectedTaskIds"] = task_ids
        spec["rerun_outcome"] = params.get("emulator_rerun_outcome")
        self.state.script_run(spec)
        call.run_id = execution_id
        return {"Data": {"WorkflowExecutionId": execution_id}}

    def _advanced_params(self, call: Call) -> dict[str, str]:
        raw = call.get("AdvancedParams") or []
        if not isinstance(raw, list) or not all(isinstance(p, dict) and "ParamKey" in p for p in raw):
            raise self.invalid_parameter("AdvancedParams", raw)
        return {str(p["ParamKey"]): str(p.get("ParamValue", "")) for p in raw}

    @action("KillTriggerWorkflowRuns", required=("ProjectId", "WorkflowId"))
    async def kill_trigger_workflow_runs(self, call: Call) -> dict[str, Any]:
        project_id = self._string(call, "ProjectId")
        workflow_id = self._string(call, "WorkflowId")
        ids = call.get("WorkflowExecutionIdList")
        kill_all = call.get("All") is True
        pending_only = call.get("Pending") is True
        if ids is None and not (kill_all or pending_only):
            raise self.missing_parameter("WorkflowExecutionIdList")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
            raise self.invalid_parameter("WorkflowExecutionIdList", ids)
        if ids is None:
            ids = [
                r.run_id
                for r in self.store.list(VENDOR, ProjectId=project_id, WorkflowId=workflow_id)
                if not is_task_instance(r)
                and not self.store.snapshot_of(r).finished
                and (not pending_only or self.store.snapshot_of(r).state == "PENDING")
            ]
        results = []
        for execution_id in ids:
            results.append(self._kill_one(project_id, workflow_id, execution_id))
        call.run_id = ",".join(ids)
        return {"Data": results}

    def _kill_one(self, project_id: str, workflow_id: str, execution_id: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "ItemId": execution_id,
            "ItemName": None,
            "ExecutionActionId": self.store.random_uuid(),
            "ErrorMessage": None,
            "OpStatus": False,
        }
        try:
            run = self._run_in_project(execution_id, project_id)
        except (RunNotFound, ServiceError):
            item["ErrorMessage"] = f"The workflow run {execution_id} does not exist in project {project_id}."
            return item
        item["ItemName"] = run.fields.get("WorkflowName")
        if run.fields.get("WorkflowId") != workflow_id:
            item["ErrorMessage"] = (
                f"The workflow run {execution_id} does not belong to workflow {workflow_id}."
            )
            return item
        snap = self.store.snapshot_of(run)
        if snap.finished:
            item["ErrorMessage"] = f"The workflow run {execution_id} has finished ({snap.state})."
            return item
        self.store.stop(VENDOR, execution_id, "FAILED", task_state="FAILED")
        item["OpStatus"] = True
        return item

    @action(
        "RerunTriggerWorkflowRunAsync",
        required=("ProjectId", "WorkflowId", "WorkflowExecutionId", "ExecuteType"),
    )
    async def rerun_trigger_workflow_run_async(self, call: Call) -> dict[str, Any]:
        project_id = self._string(call, "ProjectId")
        workflow_id = self._string(call, "WorkflowId")
        execution_id = self._string(call, "WorkflowExecutionId")
        execute_type = self._string(call, "ExecuteType")
        if execute_type not in ("1", "2"):
            raise self.invalid_parameter("ExecuteType", execute_type)
        task_ids = call.get("TaskIds")
        if task_ids is not None and not (
            isinstance(task_ids, list) and all(isinstance(t, str) for t in task_ids)
        ):
            raise self.invalid_parameter("TaskIds", task_ids)
        self._advanced_params(call)  # validated; the emulated rerun keeps the run's parameters
        call.run_id = execution_id
        run = self._run_in_project(execution_id, project_id)
        if run.fields.get("WorkflowId") != workflow_id:
            raise ServiceError(
                "ResourceNotFound",
                f"The workflow run {execution_id} does not belong to workflow {workflow_id}.",
                200,
            )
        job = _AsyncJob(project_id=project_id, async_type="RERUN_TRIGGER_WORKFLOW_RUN", created_at=call.now)
        snap = self.store.snapshot_of(run)
        wanted = set(task_ids or []) if execute_type == "2" else None
        chosen = [
            t.task_id
            for t in snap.task_runs
            if t.task_id and (wanted is None or t.name in wanted or t.fields.get("TaskId") in wanted)
        ]
        if not snap.finished:
            job.failure = f"The workflow run {execution_id} is still running ({snap.state})."
        elif not chosen:
            job.failure = "No task of the workflow run matched TaskIds."
        else:
            self._rerun(run, chosen)
        async_id = self.store.random_uuid()
        self._async_jobs[async_id] = job
        return {"Data": {"AsyncId": async_id}}

    def _rerun(self, run: ScriptedRun, task_ids: list[str]) -> None:
        outcome = run.rerun_outcome or "SUCCESS"
        scripts: dict[str, list[str]] = {}
        errors: dict[str, tuple[str | None, str | None]] = {}
        for task_id in task_ids:
            # The first rerun task decides a failing rerun; those after it do not run.
            if outcome == "SUCCESS" or not scripts:
                scripts[task_id] = ["PENDING", "RUNNING", outcome]
                if outcome == "FAILED":
                    errors[task_id] = ("E1001", "SQL execution failed again on rerun")
            else:
                scripts[task_id] = ["PENDING"]
        self.store.rerun(
            VENDOR,
            run.run_id,
            ["RUNNING", "RUNNING", outcome],
            scripts,
            error_code="TASK_FAILED" if outcome == "FAILED" else None,
            task_errors=errors,
        )

    @action("GetOpsAsyncJob", required=("ProjectId", "AsyncId"))
    async def get_ops_async_job(self, call: Call) -> dict[str, Any]:
        project_id = self._string(call, "ProjectId")
        async_id = self._string(call, "AsyncId")
        job = self._async_jobs.get(async_id)
        if job is None or job.project_id != project_id:
            raise ServiceError(
                "ResourceNotFound",
                f"The async operation {async_id} does not exist in project {project_id}.",
                200,
            )
        if job.polls_left > 0:
            job.polls_left -= 1
            status, finished = "RUNNING", 0
        else:
            status, finished = ("FAIL" if job.failure else "SUCCESS"), 1
        return {
            "Data": {
                "ProjectId": project_id,
                "AsyncId": async_id,
                "AsyncType": job.async_type,
                "Status": status,
                "ErrorDesc": job.failure if status == "FAIL" else None,
                "TotalSubProcessCount": 1,
                "FinishedSubProcessCount": finished,
                "SuccessSubProcessCount": 1 if status == "SUCCESS" else 0,
                "CreateUserUin": DEMO_USER_UIN,
                "CreateTime": _ms(job.created_at),
                "UpdateTime": _ms(call.now),
            }
        }

    @action("ListTriggerWorkflowRuns", required=("ProjectId",))
    async def list_trigger_workflow_runs(self, call: Call) -> dict[str, Any]:
        project_id = self._string(call, "ProjectId")
        page_number = call.int_param("PageNumber", 1, minimum=1) or 1
        page_size = call.int_param("PageSize", DEFAULT_PAGE_SIZE, minimum=1) or DEFAULT_PAGE_SIZE
        if page_size > MAX_PAGE_SIZE:
            raise self.invalid_parameter("PageSize", page_size)
        filters = self._filters(call)
        items = [
            self._run_json(self.store.snapshot_of(r))
            for r in self.store.list(VENDOR)
            if str(r.fields.get("ProjectId")) == project_id and not is_task_instance(r)
        ]
        items = [item for item in items if _matches(item, filters)]
        for name, direction in reversed(self._order(call)):
            items.sort(key=lambda item, n=name: int(item.get(n) or 0), reverse=direction == "DESC")
        return page_of(items, page_number, page_size)

    _FILTERS = frozenset(
        {
            "Keyword",
            "WorkflowId",
            "FolderId",
            "InChargeUin",
            "ExecuteUserUin",
            "ExecutionId",
            "ScheduleTimeGreaterEqual",
            "ScheduleTimeLessEqual",
        }
    )
    _ORDER_FIELDS = frozenset({"CreateTime", "EndTime", "ScheduleTime"})

    def _filters(self, call: Call) -> dict[str, list[str]]:
        raw = call.get("Filters") or []
        if not isinstance(raw, list):
            raise self.invalid_parameter("Filters", raw)
        filters: dict[str, list[str]] = {}
        for f in raw:
            if (
                not isinstance(f, dict)
                or f.get("Name") not in self._FILTERS
                or not isinstance(f.get("Values"), list)
            ):
                raise ServiceError(
                    "InvalidParameter.InvalidFilterParameter", f"The filter {f!r} is not supported.", 200
                )
            filters[f["Name"]] = [str(v) for v in f["Values"]]
        return filters

    def _order(self, call: Call) -> list[tuple[str, str]]:
        raw = call.get("OrderFields") or [{"Name": "CreateTime", "Direction": "DESC"}]
        order = []
        for o in raw if isinstance(raw, list) else [raw]:
            if not isinstance(o, dict) or o.get("Name") not in self._ORDER_FIELDS:
                raise self.invalid_parameter("OrderFields", o)
            direction = str(o.get("Direction", "DESC")).upper()
            if direction not in ("ASC", "DESC"):
                raise self.invalid_parameter("OrderFields", o)
            order.append((o["Name"], direction))
        return order


def _scheduled(snap: RunSnapshot) -> float:
    """The planned schedule time: the `ScheduleTime` field (epoch seconds) if scripted, else creation."""
    value = snap.fields.get("ScheduleTime")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else snap.created_at


def _filter_ms(value: str) -> int:
    """A schedule-time filter value in epoch ms: digits as they are, or `yyyy-MM-dd HH:mm:ss` in
    China Standard Time (the format is UNCONFIRMED; both are accepted)."""
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=_CHINA_TZ)
    except ValueError:
        raise ServiceError(
            "InvalidParameter.InvalidFilterParameter", f"The schedule time {value!r} is not valid.", 200
        ) from None
    return int(parsed.timestamp() * 1000)


def _matches(item: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    for name, values in filters.items():
        if name == "Keyword":
            text = f"{item.get('WorkflowName') or ''} {item.get('WorkflowId') or ''}"
            if not any(v in text for v in values):
                return False
        elif name == "ExecutionId":
            if item["ExecutionId"] not in values:
                return False
        elif name == "InChargeUin":
            if item.get("UserUinInCharge") not in values:
                return False
        elif name == "ScheduleTimeGreaterEqual":
            if int(item["ScheduleTime"]) < min(_filter_ms(v) for v in values):
                return False
        elif name == "ScheduleTimeLessEqual":
            if int(item["ScheduleTime"]) > max(_filter_ms(v) for v in values):
                return False
        elif str(item.get(name)) not in values:
            return False
    return True


__all__ = ["WeDataService", "demo_runs", "run_spec", "task_instance_spec"]
