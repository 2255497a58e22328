"""Emulated WeData 2025-08-06 task instances: the runs of scheduled tasks, and their logs.

Actions (mixed into WeDataService; API 3.0 like the rest of WeData):
- GetTaskInstance (ProjectId, InstanceKey, TimeZone): `Data` TaskInstanceDetail.
- ListTaskInstances (ProjectId, Keyword, WorkflowId, InstanceState, InstanceType, TaskTypeId,
  CycleType, OwnerUin, FolderId, ExecutorGroupId, ScheduleTimeFrom/To, StartTimeFrom/To,
  LastUpdateTimeFrom/To, SortColumn, SortType, TimeZone, PageNumber, PageSize 1-100):
  `Data{TotalCount, TotalPageNumber, PageNumber, PageSize, Items}`.
- GetTaskInstanceLog (ProjectId, InstanceKey, LifeRoundNum, LogLevel, NextCursor):
  `Data{InstanceKey, ProjectId, CodeContent, LogInfo, NextCursor}`, one page per call.

A task instance is a scripted run of the `wedata` store marked `Kind: TaskInstance` (see
`task_instance_spec`): its states are InstanceStates, walked per poll or per second like a
workflow run's. Choices the docs do not settle (UNCONFIRMED):
- Times are "yyyy-MM-dd HH:mm:ss" in the request's TimeZone ("UTC+8" by default, "UTC-5" ...).
- `Tries` counts the FAILED_RETRY states the instance has been through; `TotalRunNum` its tries.
- A log page is `LogPageChars` characters (4,096 by default) of the scripted `LogText`; the
  cursor is opaque text; the last page has no NextCursor. Before the instance runs, the log is
  empty. The emulator keeps one execution (LifeRoundNum 0); another is ResourceNotFound.
- An unknown key, or a key of another project, is ResourceNotFound.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_cloudflows.emulator.services.base import Call, RunNotFound, ServiceError, action
from airflow_provider_cloudflows.emulator.store import RunSnapshot, ScriptedRun

KIND = "TaskInstance"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
LOG_PAGE_CHARS = 4096
_WAITING = frozenset({"WAIT_EVENT", "WAIT_UPSTREAM", "WAIT_RUN"})
_FORMAT = "%Y-%m-%d %H:%M:%S"
_LOG_LEVELS = frozenset({"Info", "Debug", "Warn", "Error", "All"})
_SORT_COLUMNS = {"SCHEDULE_DATE": "SchedulerTime", "START_TIME": "StartTime", "END_TIME": "EndTime"}
_CHINA_TZ = timezone(timedelta(hours=8))

_SCRIPTS = {
    "COMPLETED": ["WAIT_UPSTREAM", "WAIT_RUN", "RUNNING", "COMPLETED"],
    "EXPIRED": ["WAIT_RUN", "RUNNING", "FAILED_RETRY", "RUNNING", "EXPIRED"],
    "RETRY_COMPLETED": ["WAIT_RUN", "RUNNING", "FAILED_RETRY", "RUNNING", "COMPLETED"],
    "SKIP_RUNNING": ["WAIT_UPSTREAM", "SKIP_RUNNING"],
}


def page_of(items: list[dict[str, Any]], page_number: int, page_size: int) -> dict[str, Any]:
    """One page of a WeData 2025-08-06 listing (the shape every paged List* answer has)."""
    start = (page_number - 1) * page_size
    return {
        "Data": {
            "TotalCount": len(items),
            "TotalPageNumber": max(1, math.ceil(len(items) / page_size)),
            "PageNumber": page_number,
            "PageSize": page_size,
            "Items": items[start : start + page_size],
        }
    }


def is_task_instance(run: ScriptedRun) -> bool:
    return run.fields.get("Kind") == KIND


def task_instance_spec(
    task_id: str,
    schedule_time: str,
    outcome: str = "COMPLETED",
    *,
    project_id: str,
    workflow_id: str,
    task_name: str | None = None,
    workflow_name: str = "orders_daily",
    instance_key: str | None = None,
    states: list[str] | None = None,
    advance: str = "poll",
    step_seconds: float = 1.0,
    log_text: str | None = None,
    log_page_chars: int = LOG_PAGE_CHARS,
    job_error: str | None = None,
    instance_type: int = 1,
    try_limit: int = 3,
) -> dict[str, Any]:
    """The JSON form (config.ScriptedRunSpec) of a task's instance for `schedule_time` (UTC+8 text).

    `outcome` picks a script (COMPLETED, EXPIRED after one retry, RETRY_COMPLETED, SKIP_RUNNING)
    unless `states` gives one; the key is WeData's `<task id>_<schedule time>` unless given.
    """
    script = list(states) if states else list(_SCRIPTS[outcome])
    failed = script[-1] == "EXPIRED"
    key = instance_key or f"{task_id}_{schedule_time}"
    name = task_name or f"task_{task_id[-6:]}"
    error = job_error or ("SQL execution failed: table orders_tmp not found" if failed else None)
    return {
        "vendor": "wedata",
        "run_id": key,
        "states": script,
        "advance": advance,
        "step_seconds": step_seconds,
        "error_message": error,
        "fields": {
            "Kind": KIND,
            "ProjectId": project_id,
            "WorkflowId": workflow_id,
            "WorkflowName": workflow_name,
            "TaskId": task_id,
            "TaskName": name,
            "TaskType": "HiveSql",
            "TaskTypeId": 34,
            "SchedulerTime": schedule_time,
            "InstanceType": instance_type,
            "TryLimit": try_limit,
            "LogText": log_text if log_text is not None else _default_log(key, name, script[-1], error),
            "LogPageChars": log_page_chars,
        },
    }


def _default_log(key: str, name: str, final: str, error: str | None) -> str:
    lines = [f"[INFO] instance {key} of task {name} issued to emulator-scheduler"]
    lines += [f"[INFO] {name}: step {i} of the scripted query" for i in range(1, 6)]
    if error:
        lines.append(f"[ERROR] {error}")
    lines.append(f"[INFO] instance {key} ended in {final}")
    return "\n".join(lines) + "\n"


def _zone(call: Call) -> timezone:
    """The request's TimeZone ("UTC+8", "UTC-5", "UTC+5:30"); UTC+8 when not given."""
    raw = call.get("TimeZone")
    if raw is None:
        return _CHINA_TZ
    match = re.fullmatch(r"UTC(?:([+-])(\d{1,2})(?::(\d{2}))?)?", str(raw).strip())
    if not match:
        raise call.service.invalid_parameter("TimeZone", raw)
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    return timezone(-offset if sign == "-" else offset)


def _text(epoch: float | None, zone: timezone) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=zone).strftime(_FORMAT)


def _epoch(text: str, zone: timezone) -> float:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=zone).timestamp()


class TaskInstanceActions:
    """The task-instance actions of WeDataService (a mixin: `self` is the WeData service)."""

    store: Any
    vendor: str

    # ------------------------------------------------------------------ rendering

    def _instance_json(
        self, run: ScriptedRun, snap: RunSnapshot, zone: timezone, *, detail: bool
    ) -> dict[str, Any]:
        f = snap.fields
        # The script's own clock: step n happens n seconds after the schedule time, so two reads
        # of one step agree. Tries and runs are counted over the states walked so far.
        scheduled = _epoch(str(f["SchedulerTime"]), _CHINA_TZ)
        walked = run.states[: snap.step + 1]
        first_running = walked.index("RUNNING") if "RUNNING" in walked else None
        started = scheduled + first_running if first_running is not None else None
        ended = scheduled + snap.step + 1 if snap.finished else None
        item: dict[str, Any] = {
            "ProjectId": f.get("ProjectId"),
            "InstanceKey": snap.run_id,
            "FolderId": "720ecbfb-7e5a-11f0-ba36-b8cef6a5af5c",
            "FolderName": "emulator",
            "WorkflowId": f.get("WorkflowId"),
            "WorkflowName": f.get("WorkflowName"),
            "TaskId": f.get("TaskId"),
            "TaskName": f.get("TaskName"),
            "TaskTypeId": f.get("TaskTypeId"),
            "TaskType": f.get("TaskType"),
            "CycleType": "DAY_CYCLE" if detail else "D",
            "CurRunDate": _text(scheduled, zone),
            "InstanceState": snap.state,
            "InstanceType": f.get("InstanceType", 1),
            "OwnerUinList": ["100000000001"],
            "TotalRunNum": walked.count("RUNNING"),
            "TryLimit": f.get("TryLimit", 3),
            "Tries": walked.count("FAILED_RETRY"),
            "CostTime": int((ended - started) * 1000) if ended and started else None,
            "StartTime": _text(started, zone),
            "EndTime": _text(ended, zone),
            "SchedulerTime": _text(scheduled, zone),
            "LastUpdateTime": _text(scheduled + snap.step, zone),
            "ExecutorGroupId": "rg-emulator",
            "ExecutorGroupName": "emulator-scheduler",
        }
        if detail:
            item["JobErrorMsg"] = snap.error_message
        return item

    # ------------------------------------------------------------------ lookups

    def _instance_in_project(self, call: Call, *, observe: bool) -> tuple[ScriptedRun, RunSnapshot]:
        project_id = self._string(call, "ProjectId")  # type: ignore[attr-defined]
        key = self._string(call, "InstanceKey")  # type: ignore[attr-defined]
        call.run_id = key
        missing = ServiceError(
            "ResourceNotFound", f"The task instance {key} does not exist in project {project_id}.", 200
        )
        try:
            run = self.store.get(self.vendor, key)
        except RunNotFound:
            raise missing from None
        if not is_task_instance(run) or str(run.fields.get("ProjectId")) != project_id:
            raise missing
        return run, self.store.observe(self.vendor, key) if observe else self.store.snapshot_of(run)

    # ------------------------------------------------------------------ actions

    @action("GetTaskInstance", required=("ProjectId", "InstanceKey"))
    async def get_task_instance(self, call: Call) -> dict[str, Any]:
        zone = _zone(call)
        run, snap = self._instance_in_project(call, observe=True)
        return {"Data": self._instance_json(run, snap, zone, detail=True)}

    @action("ListTaskInstances", required=("ProjectId",))
    async def list_task_instances(self, call: Call) -> dict[str, Any]:
        project_id = self._string(call, "ProjectId")  # type: ignore[attr-defined]
        zone = _zone(call)
        page_number = call.int_param("PageNumber", 1, minimum=1) or 1
        page_size = call.int_param("PageSize", DEFAULT_PAGE_SIZE, minimum=1) or DEFAULT_PAGE_SIZE
        if page_size > MAX_PAGE_SIZE:
            raise call.service.invalid_parameter("PageSize", page_size)
        runs = self.store.list(self.vendor, where=is_task_instance)
        items = [
            self._instance_json(r, self.store.snapshot_of(r), zone, detail=False)
            for r in runs
            if str(r.fields.get("ProjectId")) == project_id
        ]
        items = [item for item in items if _matches(call, item, zone)]
        column = call.get("SortColumn", "SCHEDULE_DATE")
        direction = str(call.get("SortType", "DESC")).upper()
        if column not in (*_SORT_COLUMNS, "COST_TIME") or direction not in ("ASC", "DESC"):
            raise call.service.invalid_parameter(
                "SortColumn" if column not in _SORT_COLUMNS else "SortType", column
            )
        field = _SORT_COLUMNS.get(column, "CostTime")
        items.sort(key=lambda i: (i.get(field) is not None, i.get(field) or 0), reverse=direction == "DESC")
        return page_of(items, page_number, page_size)

    @action("GetTaskInstanceLog", required=("ProjectId", "InstanceKey"))
    async def get_task_instance_log(self, call: Call) -> dict[str, Any]:
        _, snap = self._instance_in_project(call, observe=False)
        round_num = call.int_param("LifeRoundNum", 0, minimum=0)
        if round_num:
            raise ServiceError(
                "ResourceNotFound",
                f"The task instance {snap.run_id} has no execution with LifeRoundNum {round_num}.",
                200,
            )
        level = call.get("LogLevel", "All")
        if level not in _LOG_LEVELS:
            raise call.service.invalid_parameter("LogLevel", level)
        text = "" if snap.state in _WAITING else str(snap.fields.get("LogText") or "")
        if level != "All":
            tag = {"Warn": "[WARN]"}.get(level, f"[{level.upper()}]")
            text = "".join(line for line in text.splitlines(keepends=True) if tag in line)
        offset = _cursor_offset(call)
        size = int(snap.fields.get("LogPageChars") or LOG_PAGE_CHARS)
        page = text[offset : offset + size]
        end = offset + len(page)
        return {
            "Data": {
                "InstanceKey": snap.run_id,
                "ProjectId": snap.fields.get("ProjectId"),
                "CodeContent": "SELECT * FROM orders_tmp;",
                "LogInfo": page,
                "NextCursor": f"emu-log-{end}" if end < len(text) else None,
            }
        }


def _cursor_offset(call: Call) -> int:
    cursor = call.get("NextCursor")
    if cursor is None:
        return 0
    match = re.fullmatch(r"emu-log-(\d+)", str(cursor))
    if not match:
        raise call.service.invalid_parameter("NextCursor", cursor)
    return int(match.group(1))


def _matches(call: Call, item: dict[str, Any], zone: timezone) -> bool:
    keyword = call.get("Keyword")
    if keyword is not None:
        words = [w.strip() for w in str(keyword).split(",") if w.strip()]
        text = f"{item.get('TaskName') or ''} {item.get('TaskId') or ''}"
        if words and not any(w in text for w in words):
            return False
    for name, field in (
        ("WorkflowId", "WorkflowId"),
        ("InstanceState", "InstanceState"),
        ("FolderId", "FolderId"),
        ("ExecutorGroupId", "ExecutorGroupId"),
    ):
        wanted = call.get(name)
        if wanted is not None and str(item.get(field)) != str(wanted):
            return False
    for name, field in (("InstanceType", "InstanceType"), ("TaskTypeId", "TaskTypeId")):
        wanted = call.get(name)
        if wanted is not None and item.get(field) != call.int_param(name):
            return False
    owner = call.get("OwnerUin")
    if owner is not None and str(owner) not in item.get("OwnerUinList", []):
        return False
    for prefix, field in (
        ("ScheduleTime", "SchedulerTime"),
        ("StartTime", "StartTime"),
        ("LastUpdateTime", "LastUpdateTime"),
    ):
        for bound, keep in (("From", lambda a, b: a >= b), ("To", lambda a, b: a <= b)):
            raw = call.get(f"{prefix}{bound}")
            if raw is None:
                continue
            try:
                limit = _epoch(str(raw), zone)
            except ValueError:
                raise call.service.invalid_parameter(f"{prefix}{bound}", raw) from None
            if item.get(field) is None or not keep(_epoch(item[field], zone), limit):
                return False
    return True


__all__ = ["KIND", "TaskInstanceActions", "is_task_instance", "task_instance_spec"]
