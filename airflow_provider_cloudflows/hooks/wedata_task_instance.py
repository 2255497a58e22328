"""Tencent Cloud WeData (API 2025-08-06) task instances: the runs of scheduled (periodic) tasks.

WeData's own scheduler runs a periodic task as one *task instance* per schedule time (not as a
trigger workflow run). Read one with GetTaskInstance, find them with ListTaskInstances, read
an instance's log page by page with GetTaskInstanceLog. Same connection type, protocol and
retries as WeDataHook; `get_run` reads a task instance, so the shared sensor, trigger and
verdict serve task instances unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.errors import InvalidRequestError, NotFoundError
from airflow_provider_cloudflows.hooks.operations import sync_and_async
from airflow_provider_cloudflows.hooks.paging import PageGuard
from airflow_provider_cloudflows.hooks.wedata import (
    VENDOR,
    WeDataHook,
    _require,
    _run_not_found,
    fill_console_template,
)

if TYPE_CHECKING:
    from airflow_provider_cloudflows.models.wedata_task_instance import TaskInstance
    from airflow_provider_cloudflows.protocols.request import Operation
    from airflow_provider_cloudflows.runs import WorkflowRun

# UNCONFIRMED, like the workflow-run link: no public page documents a deep link to one task
# instance. The connection extra `task_instance_console_url_template` overrides it
# ({project_id}, {workflow_id}, {task_id}, {instance_key}, {region}).
DEFAULT_TASK_INSTANCE_CONSOLE_URL_TEMPLATE = (
    "https://console.cloud.tencent.com/wedata/ops/task-instance"
    "?projectId={project_id}&taskId={task_id}&instanceKey={instance_key}&region={region}"
)

# WeData reads and writes "yyyy-MM-dd HH:mm:ss" in the request's TimeZone; the provider always
# speaks UTC+8 (the API's default, where its schedules live) and converts aware datetimes to it.
TIME_ZONE = "UTC+8"
_CHINA_TZ = timezone(timedelta(hours=8))
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

MAX_LIST_PAGE_SIZE = 100  # ListTaskInstances: PageSize 1-100

# A log is read page by page (NextCursor) and only its tail is kept: at most this many bytes,
# from at most this many pages, so a log that never ends cannot hold a task.
DEFAULT_LOG_BYTES = 64 * 1024
DEFAULT_LOG_PAGES = 50


def wedata_time_text(value: datetime | str, name: str = "time") -> str:
    """A time as WeData's filters want it: "yyyy-MM-dd HH:mm:ss" in UTC+8.

    An aware datetime, or an ISO string with an offset (a rendered `{{ data_interval_start }}`),
    is converted to UTC+8; a naive one, or "yyyy-MM-dd HH:mm:ss" text, is taken as UTC+8 already.
    """
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequestError(
                f"{name} {value!r} is not a time: give a datetime, an ISO-8601 time such as "
                "'2025-08-06T02:00:00+08:00', or WeData's 'yyyy-MM-dd HH:mm:ss' (UTC+8)",
                vendor=VENDOR,
                action="ListTaskInstances",
            ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(_CHINA_TZ)
    return moment.strftime(_TIME_FORMAT)


class WeDataTaskInstanceHook(WeDataHook):
    """Task instances of scheduled WeData tasks (connection type `tencentcloud`, region required).

    `get_run(instance_key, project_id=...)` reads one instance as a WorkflowRun whose one task
    run is the instance itself (InstanceState through WEDATA_TASK_INSTANCE_STATES).
    """

    lazy_modules = (*WeDataHook.lazy_modules, "airflow_provider_cloudflows.models.wedata_task_instance")

    # -- read -----------------------------------------------------------------------------------

    @sync_and_async
    def get_run(
        self, instance_key: str, project_id: str | int | None = None, **_: Any
    ) -> Operation[WorkflowRun]:
        """Read one task instance (GetTaskInstance), by its InstanceKey."""
        return (yield from self._read_instance(project_id, instance_key))

    @sync_and_async
    def get_task_instance(self, project_id: str | int, instance_key: str) -> Operation[WorkflowRun]:
        """GetTaskInstance(ProjectId, InstanceKey): the instance as a WorkflowRun (same as `get_run`)."""
        return (yield from self._read_instance(project_id, instance_key))

    def _read_instance(self, project_id: Any, instance_key: Any) -> Operation[WorkflowRun]:
        from airflow_provider_cloudflows.models.wedata_task_instance import to_workflow_run

        action = "GetTaskInstance"
        project = _require("project_id", project_id, action)
        key = _require("instance_key", instance_key, action)
        try:
            payload = yield self.request(
                action, {"ProjectId": project, "InstanceKey": key, "TimeZone": TIME_ZONE}, run_id=key
            )
        except NotFoundError as err:
            raise _run_not_found(err, key, project, "task instance") from err
        return to_workflow_run(payload, instance_key=key, project_id=project)

    # -- list -----------------------------------------------------------------------------------

    @sync_and_async
    def list_task_instances(
        self,
        project_id: str | int,
        *,
        workflow_id: str | None = None,
        task_id: str | None = None,
        keyword: str | None = None,
        instance_state: str | None = None,
        instance_type: int | None = None,
        schedule_time_from: datetime | str | None = None,
        schedule_time_to: datetime | str | None = None,
        last_update_time_from: datetime | str | None = None,
        last_update_time_to: datetime | str | None = None,
        newest_first: bool = True,
        page_size: int = MAX_LIST_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> Operation[list[TaskInstance]]:
        """Task instances of a project (ListTaskInstances), following PageNumber to the last page.

        ListTaskInstances has no task-id filter, only `Keyword` (task name or id, fuzzy): with
        `task_id` the listing asks by keyword and keeps the instances of exactly that task.
        Times are datetimes or text (see `wedata_time_text`); `newest_first` sorts by schedule
        time, newest first (SortColumn SCHEDULE_DATE, SortType DESC).
        """
        from airflow_provider_cloudflows.models.wedata_task_instance import ListTaskInstancesResponse, parse

        action = "ListTaskInstances"
        body: dict[str, Any] = {
            "ProjectId": _require("project_id", project_id, action),
            "PageSize": max(1, min(int(page_size), MAX_LIST_PAGE_SIZE)),
            "TimeZone": TIME_ZONE,
        }
        if keyword or task_id:
            body["Keyword"] = str(keyword or task_id)
        if workflow_id:
            body["WorkflowId"] = str(workflow_id)
        if instance_state:
            body["InstanceState"] = str(instance_state)
        if instance_type is not None:
            body["InstanceType"] = int(instance_type)
        for name, value in (
            ("ScheduleTimeFrom", schedule_time_from),
            ("ScheduleTimeTo", schedule_time_to),
            ("LastUpdateTimeFrom", last_update_time_from),
            ("LastUpdateTimeTo", last_update_time_to),
        ):
            if value is not None and value != "":
                body[name] = wedata_time_text(value, name)
        if newest_first:
            body["SortColumn"], body["SortType"] = "SCHEDULE_DATE", "DESC"
        items: list[TaskInstance] = []
        guard = PageGuard(self.log, self.vendor, action, max_pages=max_pages)
        page = 1
        while True:
            payload = yield self.request(action, {**body, "PageNumber": page})
            data = parse(ListTaskInstancesResponse, payload, action=action).Data
            if data is None:
                break
            items.extend(guard.fresh(data.Items, lambda item: item.InstanceKey))
            last = data.TotalPageNumber
            if last is None and data.TotalCount is not None:
                last = -(-data.TotalCount // body["PageSize"])
            if not data.Items or (last is not None and page >= last):
                break
            if max_pages and page >= max_pages:
                break
            if not guard.more():
                break
            page += 1
        if task_id:
            items = [item for item in items if item.TaskId == str(task_id)]
        return items

    @sync_and_async
    def newest_task_instance(
        self,
        project_id: str | int,
        task_id: str,
        schedule_time: datetime | str,
        *,
        schedule_time_to: datetime | str | None = None,
        workflow_id: str | None = None,
    ) -> Operation[WorkflowRun | None]:
        """The task's instance scheduled at `schedule_time` (or in [schedule_time, schedule_time_to]).

        None while there is none (WeData creates instances ahead of their time, but not always
        before a DAG looks); when several match, the newest by schedule time, then by last update,
        and the log says which were passed over.
        """
        from airflow_provider_cloudflows.models.wedata_task_instance import instance_to_run

        found = yield from type(self).list_task_instances.operation(
            self,
            project_id,
            task_id=task_id,
            workflow_id=workflow_id,
            schedule_time_from=schedule_time,
            schedule_time_to=schedule_time_to if schedule_time_to not in (None, "") else schedule_time,
        )
        if not found:
            return None
        newest = max(
            found, key=lambda i: (i.SchedulerTime or "", i.LastUpdateTime or "", i.InstanceKey or "")
        )
        if len(found) > 1:
            self.log.info(
                "%d task instances of task %s match; following the newest, %s (also matched: %s)",
                len(found),
                task_id,
                newest.InstanceKey,
                ", ".join(str(i.InstanceKey) for i in found if i is not newest),
            )
        if not newest.ProjectId:
            newest = newest.model_copy(update={"ProjectId": str(project_id)})
        return instance_to_run(newest)

    # -- logs -----------------------------------------------------------------------------------

    @sync_and_async
    def get_task_instance_log(
        self,
        project_id: str | int,
        instance_key: str,
        *,
        life_round_num: int | None = None,
        log_level: str | None = None,
        max_bytes: int = DEFAULT_LOG_BYTES,
        max_pages: int = DEFAULT_LOG_PAGES,
    ) -> Operation[str]:
        """The tail of a task instance's log (GetTaskInstanceLog, paged by NextCursor), bounded.

        :param life_round_num: which execution (0 the first; a rerun counts up); default the latest.
        :param log_level: Info, Debug, Warn, Error or All (WeData's default).
        :param max_bytes: keep at most this many bytes (UTF-8) of the end of the log.
        :param max_pages: read at most this many pages; a cursor that repeats, or a page that
            brings no text, also ends the reading.

        When text was left out, a first line says how much and why.
        """
        from airflow_provider_cloudflows.models.wedata_task_instance import GetTaskInstanceLogResponse, parse

        action = "GetTaskInstanceLog"
        key = _require("instance_key", instance_key, action)
        body: dict[str, Any] = {"ProjectId": _require("project_id", project_id, action), "InstanceKey": key}
        if life_round_num is not None:
            body["LifeRoundNum"] = int(life_round_num)
        if log_level:
            body["LogLevel"] = str(log_level)
        tail = LogTail(max(int(max_bytes), 0))
        cursors: set[str] = set()
        cursor: str | None = None
        stopped: str | None = None
        for page in range(1, max(int(max_pages), 1) + 1):
            request_body = body if cursor is None else {**body, "NextCursor": cursor}
            payload = yield self.request(action, request_body, run_id=key)
            data = parse(GetTaskInstanceLogResponse, payload, action=action, run_id=key).Data
            text = (data.LogInfo if data else None) or ""
            tail.add(text)
            cursor = (data.NextCursor if data else None) or None
            if cursor is None:
                break
            if not text:
                stopped = f"page {page} brought no text"
            elif cursor in cursors:
                stopped = f"page {page} repeated the cursor"
            elif page >= max_pages:
                stopped = f"it read the maximum of {max_pages} pages"
            if stopped:
                break
            cursors.add(cursor)
        if stopped:
            self.log.warning("%s %s of %s stopped early: %s", self.vendor, action, key, stopped)
        return tail.text(stopped)

    def failed_task_logs(
        self, run: WorkflowRun, *, max_task_runs: int, max_bytes: int
    ) -> list[tuple[str, str]]:
        """The vendor's log of each failed task run of a run that ended failed: [(header, text)].

        For a task instance the failed task run is the instance itself, so this is at most one
        entry (none when `max_task_runs` < 1): a header naming the task, the instance key and
        its state and tries, and the tail of its latest execution's log, at most `max_bytes`
        bytes (see `get_task_instance_log`). Errors reading the log are the hook's typed errors
        (CloudflowsError); the caller decides what a failed read means (the task's outcome
        must not change for it).
        """
        if max_task_runs < 1:
            return []
        project = run.detail.get("ProjectId")
        text = self.get_task_instance_log(project, run.run_id, max_bytes=max_bytes)
        return [(task_instance_header(run), text)]

    # -- console --------------------------------------------------------------------------------

    def console_url(self, run: WorkflowRun) -> str | None:
        template = (
            self.credentials.extras.get("task_instance_console_url_template")
            or DEFAULT_TASK_INSTANCE_CONSOLE_URL_TEMPLATE
        )
        return fill_console_template(
            template,
            project_id=str(run.detail.get("ProjectId") or ""),
            workflow_id=run.workflow_id or "",
            task_id=str(run.detail.get("TaskId") or ""),
            instance_key=run.run_id,
            region=self.credentials.region or "",
        )


def task_instance_header(run: WorkflowRun) -> str:
    """'WeData task instance load_orders (key 20240627201611119_2025-03-20 00:00:00), state EXPIRED, tries 3/3'."""
    tries = run.detail.get("Tries")
    limit = run.detail.get("TryLimit")
    tried = f", tries {tries}/{limit}" if tries is not None and limit is not None else ""
    return f"WeData task instance {run.name or run.detail.get('TaskId') or '-'} (key {run.run_id}), state {run.raw_state}{tried}"


class LogTail:
    """The last `max_bytes` bytes of a text that arrives piece by piece, and how much was dropped."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._kept = bytearray()
        self.dropped = 0

    def add(self, text: str) -> None:
        self._kept += text.encode("utf-8", errors="replace")
        excess = len(self._kept) - self.max_bytes
        if excess > 0:
            del self._kept[:excess]
            self.dropped += excess

    def text(self, stopped: str | None = None) -> str:
        # A cut may fall inside a multi-byte character: drop its remains, never raise.
        body = self._kept.decode("utf-8", errors="ignore")
        notes = []
        if self.dropped:
            notes.append(f"the first {self.dropped} bytes are not shown (at most {self.max_bytes} kept)")
        if stopped:
            notes.append(f"reading stopped early: {stopped}")
        return (f"[{'; '.join(notes)}]\n" if notes else "") + body
