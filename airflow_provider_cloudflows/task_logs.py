"""The vendor's log of each failed task run, shown in the Airflow task log when a run has failed.

A product hook answers `failed_task_logs(run, max_task_runs=, max_bytes=)` with one
(header, text) pair per failed task run: the tail of that task run's log where the vendor has a
log API (DataWorks), else the error detail its API reports (WeData trigger runs, ICE, Cloud
Infinite). `show_failed_task_logs` is the one place sensors and start operators call it: on the
worker, once a run has failed, bounded in time, with every secret masked, and never changing
the task's outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import TaskRun, WorkflowRun

DEFAULT_MAX_LOG_BYTES = 64 * 1024
DEFAULT_MAX_LOG_TASK_RUNS = 5
# Every log request of one failed run, retries included, ends within this: the task is failing
# anyway, and a slow log endpoint must not hold its worker slot for minutes.
FETCH_BUDGET_SECONDS = 30.0

TaskLog = tuple[str, str]


@dataclass(frozen=True)
class Excerpt:
    """The end of a text, cut to a byte budget on a character boundary."""

    text: str
    total_bytes: int
    shown_bytes: int

    @property
    def cut(self) -> bool:
        return self.shown_bytes < self.total_bytes


def excerpt(text: str | None, max_bytes: int) -> Excerpt:
    """The last `max_bytes` bytes (UTF-8) of `text`: a log's end is where a failure shows."""
    data = (text or "").encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return Excerpt(text or "", len(data), len(data))
    # A multi-byte character split by the cut is dropped rather than shown half.
    tail = data[len(data) - max_bytes :].decode("utf-8", "ignore")
    return Excerpt(tail, len(data), len(tail.encode("utf-8")))


def task_run_header(vendor: str, task_run: TaskRun, what: str, shown: Excerpt | None = None) -> str:
    """`===== <vendor> task run <name> (id <id>, state <raw state>): <what> =====`."""
    ident = task_run.task_run_id or task_run.job_id or "-"
    name = task_run.name or ident
    if shown is not None and shown.cut:
        what = f"{what}, the last {shown.shown_bytes} of {shown.total_bytes} bytes"
    return f"===== {vendor} task run {name} (id {ident}, state {task_run.raw_state or task_run.state}): {what} ====="


def error_detail_text(task_run: TaskRun, fields: Iterable[str] | None = None) -> str:
    """The error a vendor reports for a task run, one `Name: value` line per field that is set.

    `fields` names the entries of the task run's vendor detail to show (all of them when None).
    """
    detail: Mapping[str, Any] = task_run.detail or {}
    lines: list[str] = []
    if fields is None:
        said = {text for text in (task_run.error_code, task_run.error_message) if text}
        if task_run.error_code:
            lines.append(f"error code: {task_run.error_code}")
        if task_run.error_message:
            lines.append(f"error message: {task_run.error_message}")
        # The vendor's own fields for the code and message would only repeat those two lines.
        items = [
            (name, value) for name, value in detail.items() if not (isinstance(value, str) and value in said)
        ]
    else:
        items = [(name, detail.get(name)) for name in fields]
    for name, value in items:
        if value is None or value == "":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        lines.append(f"{name}: {text}")
    return "\n".join(lines) if lines else "(the vendor reports no error detail for this task run)"


def error_detail_logs(
    vendor: str,
    run: WorkflowRun,
    *,
    max_task_runs: int,
    max_bytes: int,
    fields: Iterable[str] | None = None,
) -> list[TaskLog]:
    """(header, text) per failed task run from what the run already carries: no request."""
    wanted = tuple(fields) if fields is not None else None
    logs: list[TaskLog] = []
    for task_run in run.failed_task_runs()[:max_task_runs]:
        shown = excerpt(error_detail_text(task_run, wanted), max_bytes)
        logs.append((task_run_header(vendor, task_run, "error detail", shown), shown.text))
    return logs


def check_limits(max_log_bytes: int, max_log_task_runs: int) -> None:
    """Operator arguments: clear errors at DAG parse time, not a silent empty log."""
    for name, value in (("max_log_bytes", max_log_bytes), ("max_log_task_runs", max_log_task_runs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value!r}")


def mask_connection_secrets(hook: Any) -> None:
    """Register the connection's secret and token with Airflow's masker before any log is shown."""
    from airflow.providers.common.compat.sdk import mask_secret

    credentials = hook.credentials
    for secret in (credentials.secret, credentials.security_token):
        if secret:
            mask_secret(secret)


def show_failed_task_logs(task: Any, run: WorkflowRun) -> None:
    """Log the vendor's log (or error detail) of each failed task run of `run` in the task log.

    Called on the worker once a run has failed, before the task raises its usual failure. A
    sensor or operator with `fetch_logs=False` sends nothing. Any error - the log API refusing,
    an outage, the time budget running out - is one warning line and nothing else: the task's
    outcome is the run's, not the log's.
    """
    if not getattr(task, "fetch_logs", True):
        return
    failed = run.failed_task_runs()
    if not failed:
        return
    from airflow.providers.common.compat.sdk import redact

    # Imported here: sensor modules import this one, and DAG parsing loads no hook module.
    from airflow_provider_cloudflows.hooks.deadline import attempt_deadline

    hook = task.hook
    max_task_runs = task.max_log_task_runs
    try:
        mask_connection_secrets(hook)
        with attempt_deadline(FETCH_BUDGET_SECONDS):
            logs = hook.failed_task_logs(run, max_task_runs=max_task_runs, max_bytes=task.max_log_bytes)
    except Exception as err:
        task.log.warning(
            "Could not read the logs of the failed task runs of %s %s %s: %s",
            run.vendor,
            task.run_noun,
            run.run_id,
            redact(str(err)),
        )
        return
    for header, text in logs[:max_task_runs]:
        # Masked here, not only by the log handler: the text is the vendor's and may echo anything.
        task.log.info("%s\n%s", redact(header), redact(text))
    if len(failed) > max_task_runs:
        task.log.info(
            "%d more failed task runs of %s %s not shown (max_log_task_runs=%d)",
            len(failed) - max_task_runs,
            task.run_noun,
            run.run_id,
            max_task_runs,
        )
