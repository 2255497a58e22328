"""Emulated Tencent Cloud Infinite (CI) media-workflow API: executions, their listing, triggering.

Routes (COS XML protocol, `q-sign-algorithm=sha1` signatures):
- `GET /workflowexecution` (DescribeMediaWorkflowExecutions): filters `workflowId` (required),
  `name` (object key), `states` (comma-separated; `All` or empty: any), `orderByTime`
  (Desc|Asc), `size` (1..100, default 10), `nextToken`, `startCreationTime` /
  `endCreationTime` (inclusive, `%Y-%m-%dT%H:%M:%S%z`), `jobId` (batch job id).
- `GET /workflowexecution/<RunId>` (DescribeMediaWorkflowExecution): one execution with one
  `<Tasks>` per started node.
- `POST /triggerworkflow?workflowId=&object=` (TriggerWorkflow): starts an execution that
  progresses by time; answers `<RequestId/><InstanceId/>`.
- `GET /jobs/<JobId>[,<JobId>...]` (DescribeMediaJob, the SDK's `ci_get_media_jobs`): one
  `<JobsDetail>` per node job (Code, Message, JobId, State, Tag, times, queue, input), ids
  of no node under `<NonExistJobIds>`.

Responses follow the docs' XML: repeated `<WorkflowExecutionList>` / `<WorkflowExecution>` /
`<Tasks>` elements, times as `2019-07-07T12:12:12+0800` (Beijing time), errors as
`<Error><Code/><Message/><Resource/><RequestId/><TraceId/></Error>`.

Choices the public docs do not settle (UNCONFIRMED, the hook stays tolerant):
- An unknown RunId answers 404 `NoSuchResource`; a bad parameter 400 `InvalidArgument`.
- `size` above 100 is refused (400) rather than clamped.
- `NextToken` is opaque (here: the offset of the next page) and empty on the last page.
- A node that has not started yet has no `<Tasks>` entry.

Emulator conventions (for demos and tests):
- The bucket is read from the Host header (`<bucket>.ci.<region>.myqcloud.com`, or `.cos.` as the
  SDK sends it when given an IP); executions remember their bucket and are only visible through
  it. A request whose Host names no bucket sees every execution.
- Triggered executions step every `TRIGGER_STEP_SECONDS`: Running ... Success over three nodes.
  An object key containing `fail` makes the Transcode node and the execution fail; one
  containing `pause` leaves the execution paused (`Pause`).
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_cloudflows.emulator.clock import parse_ci_time
from airflow_provider_cloudflows.emulator.services.base import Call, RunNotFound, ServiceError, ci_time, route
from airflow_provider_cloudflows.emulator.services.cos_xml import CosXmlService
from airflow_provider_cloudflows.emulator.store import RunSnapshot, ScriptedRun, ScriptedTaskRun

VENDOR = "cloud_infinite"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
TRIGGER_STEP_SECONDS = 1.0
STATE_FILTERS = frozenset({"Success", "Failed", "Running", "Cancel", "Pause"})

DEMO_BUCKET = "examplebucket-1250000000"
DEMO_REGION = "ap-chongqing"
DEMO_WORKFLOW_ID = "w5307ee7a60d6489383c3921c715dd1c5"
DEMO_WORKFLOW_NAME = "transcode-and-snapshot"

TRANSCODE = "Transcode_1581665960537"
SNAPSHOT = "Snapshot_1581665960536"

_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9-]+-\d+)\.(?:ci|cos)\.(?P<region>[a-z0-9-]+)\.myqcloud\.com(?::\d+)?$"
)


def topology() -> dict[str, Any]:
    """The demo workflow's topology, in the doc's shape: Start -> Transcode -> Snapshot -> End."""
    return {
        "Dependencies": {"Start": TRANSCODE, TRANSCODE: SNAPSHOT, SNAPSHOT: "End"},
        "Nodes": {
            "Start": {
                "Type": "Start",
                "Input": {"QueueId": "p09d709939fef48a0a5c247ef39d90cec", "ObjectPrefix": ""},
            },
            TRANSCODE: {
                "Type": "Transcode",
                "Operation": {
                    "TemplateId": "t01e57db1c2d154d2fb57aa5de9313a897",
                    "Output": {
                        "Region": DEMO_REGION,
                        "Bucket": DEMO_BUCKET,
                        "Object": "out/${RunId}/video.mp4",
                    },
                },
            },
            SNAPSHOT: {
                "Type": "Snapshot",
                "Operation": {
                    "TemplateId": "t07740e32081b44ad7a0aea03adcffd54a",
                    "Output": {
                        "Region": DEMO_REGION,
                        "Bucket": DEMO_BUCKET,
                        "Object": "out/${RunId}/snapshot-${number}.jpg",
                    },
                },
            },
        },
    }


def _task(name: str, kind: str, states: list[str], job_id: str, **error: str) -> dict[str, Any]:
    return {"name": name, "task_id": job_id, "states": states, "fields": {"Type": kind}, **error}


def execution_spec(
    run_id: str,
    *,
    object_key: str,
    outcome: str = "Success",
    workflow_id: str = DEMO_WORKFLOW_ID,
    bucket: str | None = DEMO_BUCKET,
    job_ids: tuple[str, str, str] | None = None,
    batch_job_id: str | None = None,
    advance: str = "time",
    step_seconds: float = TRIGGER_STEP_SECONDS,
    created_at: float | None = None,
) -> dict[str, Any]:
    """The JSON form (config.ScriptedRunSpec) of one execution of the demo workflow.

    `outcome`: `Success`, `Failed` (the Transcode node fails), `Cancel` or `Pause`. Node states
    advance in lockstep with the execution; `""` means the node has not started (not listed).
    """
    start_id, transcode_id, snapshot_id = job_ids or (f"j{run_id[1:]}0", f"j{run_id[1:]}1", f"j{run_id[1:]}2")
    if outcome == "Failed":
        states = ["Running", "Running", "Failed"]
        tasks = [
            _task("Start", "Start", ["Success"], start_id),
            _task(
                TRANSCODE,
                "Transcode",
                ["Running", "Running", "Failed"],
                transcode_id,
                error_code="InvalidInput",
                error_message="the input file has no video stream",
            ),
        ]
    elif outcome == "Pause":
        states = ["Running", "Pause"]
        tasks = [
            _task("Start", "Start", ["Success"], start_id),
            _task(TRANSCODE, "Transcode", ["Pause"], transcode_id),
        ]
    elif outcome == "Cancel":
        states = ["Running", "Cancel"]
        tasks = [
            _task("Start", "Start", ["Success"], start_id),
            _task(TRANSCODE, "Transcode", ["Running", "Cancel"], transcode_id),
        ]
    else:
        states = ["Running", "Running", "Running", "Success"]
        tasks = [
            _task("Start", "Start", ["Success"], start_id),
            _task(TRANSCODE, "Transcode", ["Running", "Running", "Success"], transcode_id),
            _task(SNAPSHOT, "Snapshot", ["", "", "Running", "Success"], snapshot_id),
        ]
    spec: dict[str, Any] = {
        "vendor": VENDOR,
        "run_id": run_id,
        "states": states,
        "advance": advance,
        "step_seconds": step_seconds,
        "task_runs": tasks,
        "fields": {
            "workflow_id": workflow_id,
            "workflow_name": DEMO_WORKFLOW_NAME,
            "object": object_key,
            "bucket": bucket,
            "batch_job_id": batch_job_id,
        },
    }
    if created_at is not None:
        spec["created_at"] = created_at
    return spec


def demo_runs(now: float | None = None) -> list[dict[str, Any]]:
    """Executions the demo preloads: one that succeeds, one that fails, one slow (time-based) one."""
    return [
        execution_spec(
            "i166ee19017b011eda8a5525400c540df", object_key="input/game.mp4", advance="poll", created_at=now
        ),
        execution_spec(
            "i769bd26517af11ed917f525400a3c59f",
            object_key="input/broken-fail.mp4",
            outcome="Failed",
            advance="poll",
            created_at=now,
        ),
        execution_spec(
            "i5f17a1fb400411ee88345254008e464b",
            object_key="input/feature-film.mp4",
            step_seconds=4.0,
            created_at=now,
        ),
    ]


class CloudInfiniteService(CosXmlService):
    vendor = VENDOR
    not_found_code = "NoSuchResource"

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _bucket(call: Call) -> str | None:
        host = (call.request.header("host") or "").lower()
        found = _HOST.match(host)
        return found.group("bucket") if found else None

    @staticmethod
    def _visible(run: ScriptedRun, bucket: str | None) -> bool:
        return bucket is None or run.fields.get("bucket") in (None, bucket)

    def _time(self, call: Call, name: str) -> float | None:
        value = call.get(name)
        if value is None:
            return None
        try:
            return parse_ci_time(value)
        except ValueError:
            raise self.invalid_parameter(name, value) from None

    @staticmethod
    def _task_times(run: ScriptedRun, snap: RunSnapshot, index: int, now: float) -> tuple[str, str]:
        """(CreateTime, EndTime) of a node: when its script left "" and when it reached its end."""
        states = run.task_runs[index].states
        started = next((i for i, s in enumerate(states) if s), 0)
        step = run.step_seconds if run.advance == "time" else 1.0
        created = ci_time(run.created_at + started * step)
        if not snap.task_runs[index].finished:
            return created, ""
        if run.advance == "time":
            return created, ci_time(run.created_at + (len(states) - 1) * step)
        return created, ci_time(snap.finished_at or now)

    def _execution_json(self, run: ScriptedRun, snap: RunSnapshot, now: float) -> dict[str, Any]:
        tasks = []
        for index, task in enumerate(snap.task_runs):
            if not task.state:
                continue  # the node has not started: CI lists no task for it yet
            created, ended = self._task_times(run, snap, index, now)
            entry: dict[str, Any] = {
                "Type": task.fields.get("Type", task.name.split("_")[0]),
                "CreateTime": created,
                "EndTime": ended,
                "State": task.state,
                "JobId": task.task_id or "",
                "Name": task.name,
            }
            if task.error_code:
                entry["Code"] = task.error_code
                entry["Message"] = task.error_message or ""
            tasks.append(entry)
        return {
            "RunId": snap.run_id,
            "WorkflowId": snap.fields.get("workflow_id") or "",
            "WorkflowName": snap.fields.get("workflow_name") or "",
            "State": snap.state,
            "CreateTime": ci_time(snap.created_at),
            "Object": snap.fields.get("object") or "",
            "Topology": topology(),
            "Tasks": tasks,
        }

    @staticmethod
    def _summary_json(snap: RunSnapshot) -> dict[str, Any]:
        return {
            "RunId": snap.run_id,
            "WorkflowId": snap.fields.get("workflow_id") or "",
            "State": snap.state,
            "CreateTime": ci_time(snap.created_at),
            "Object": snap.fields.get("object") or "",
        }

    # ------------------------------------------------------------------ routes

    @route("GET", "/workflowexecution/{run_id}", action="DescribeMediaWorkflowExecution")
    async def describe_execution(self, call: Call) -> dict[str, Any]:
        run_id = call.path_params["run_id"]
        call.run_id = run_id
        run = self.store.get(VENDOR, run_id)
        if not self._visible(run, self._bucket(call)):
            raise RunNotFound(VENDOR, run_id)
        snap = self.store.observe(VENDOR, run_id)
        return {
            "RequestId": call.request_id,
            "WorkflowExecution": [self._execution_json(run, snap, call.now)],
        }

    @route("GET", "/workflowexecution", action="DescribeMediaWorkflowExecutions", required=("workflowId",))
    async def describe_executions(self, call: Call) -> dict[str, Any]:
        workflow_id = call.require("workflowId")
        size = call.int_param("size", DEFAULT_PAGE_SIZE, minimum=1)
        assert size is not None
        if size > MAX_PAGE_SIZE:
            raise self.invalid_parameter("size", size)
        order = call.get("orderByTime", "Desc")
        if order not in ("Desc", "Asc"):
            raise self.invalid_parameter("orderByTime", order)
        wanted = {s for s in (call.get("states") or "").split(",") if s.strip()} - {"All"}
        if wanted - STATE_FILTERS:
            raise self.invalid_parameter("states", call.get("states"))
        offset = call.int_param("nextToken", 0, minimum=0)
        assert offset is not None
        start, end = self._time(call, "startCreationTime"), self._time(call, "endCreationTime")
        name, job_id, bucket = call.get("name"), call.get("jobId"), self._bucket(call)

        matching = []
        for run in self.store.list(VENDOR, workflow_id=workflow_id):
            if not self._visible(run, bucket):
                continue
            if name is not None and run.fields.get("object") != name:
                continue
            if job_id is not None and run.fields.get("batch_job_id") != job_id:
                continue
            if (start is not None and run.created_at < start) or (end is not None and run.created_at > end):
                continue
            snap = self.store.snapshot_of(run)
            if wanted and snap.state not in wanted:
                continue
            matching.append(snap)
        if order == "Desc":
            matching.reverse()
        page = matching[offset : offset + size]
        more = offset + size < len(matching)
        return {
            "RequestId": call.request_id,
            "WorkflowExecutionList": [self._summary_json(s) for s in page],
            "NextToken": str(offset + size) if more else "",
        }

    @route("GET", "/jobs/{job_ids}", action="DescribeMediaJob")
    async def describe_jobs(self, call: Call) -> dict[str, Any]:
        wanted = [j for j in call.path_params["job_ids"].split(",") if j]
        bucket = self._bucket(call)
        found: dict[str, dict[str, Any]] = {}
        for run in self.store.list(VENDOR):
            if not self._visible(run, bucket):
                continue
            snap = self.store.snapshot_of(run)
            for index, task in enumerate(snap.task_runs):
                if task.task_id in wanted and task.state:
                    found[task.task_id] = self._job_json(run, snap, index, call.now)
                    call.run_id = run.run_id
        missing = [j for j in wanted if j not in found]
        result: dict[str, Any] = {
            "RequestId": call.request_id,
            "JobsDetail": [found[j] for j in wanted if j in found],
        }
        if missing:
            result["NonExistJobIds"] = ",".join(missing)
        return result

    def _job_json(self, run: ScriptedRun, snap: RunSnapshot, index: int, now: float) -> dict[str, Any]:
        """A node's media job as the job query shows it; Code `Success` unless the node failed."""
        task = snap.task_runs[index]
        created, ended = self._task_times(run, snap, index, now)
        failed = task.state in ("Failed", "Cancel")
        return {
            "Code": (task.error_code or "Failed") if failed else "Success",
            "Message": (task.error_message or "") if failed else "",
            "JobId": task.task_id or "",
            "State": task.state,
            "Tag": task.fields.get("Type", task.name.split("_")[0]),
            "QueueId": "p09d709939fef48a0a5c247ef39d90cec",
            "CreationTime": created,
            "StartTime": created,
            "EndTime": ended,
            "Input": {"Object": snap.fields.get("object") or ""},
        }

    @route("POST", "/triggerworkflow", action="TriggerWorkflow", required=("workflowId", "object"))
    async def trigger_workflow(self, call: Call) -> dict[str, Any]:
        object_key = call.require("object")
        run_id = "i" + self.store.random_hex(32)
        lowered = object_key.lower()
        outcome = "Failed" if "fail" in lowered else "Pause" if "pause" in lowered else "Success"
        spec = execution_spec(
            run_id,
            object_key=object_key,
            outcome=outcome,
            workflow_id=call.require("workflowId"),
            bucket=self._bucket(call),
            job_ids=tuple("j" + self.store.random_hex(32) for _ in range(3)),  # type: ignore[arg-type]
        )
        self.state.script_run(spec)
        call.run_id = run_id
        return {"RequestId": call.request_id, "InstanceId": run_id}

    def invalid_parameter(self, name: str, value: Any) -> ServiceError:
        return ServiceError("InvalidArgument", f"The parameter {name} has an invalid value {value!r}.", 400)


__all__ = ["CloudInfiniteService", "ScriptedTaskRun", "demo_runs", "execution_spec"]
