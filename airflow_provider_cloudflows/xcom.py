"""What sensors and operators hand back: the XCom keys, the pushes, and the trigger's event.

The WorkflowRunTrigger sends exactly one event, built by `run_event`; the sensor or operator that
deferred turns it into its return value or a precise failure with `complete_from_event`. Links read
the console URL under `CONSOLE_URL_XCOM_KEY`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.runs import WorkflowRun

CONSOLE_URL_XCOM_KEY = "console_url"
RUN_ID_XCOM_KEY = "run_id"
RUN_XCOM_KEY = "run"
TASK_RUNS_XCOM_KEY = "task_runs"
INSTANCE_IDS_XCOM_KEY = "instance_ids"  # DataWorks creates several instances at once


def push_console_url(context: Context, url: str | None) -> None:
    """Push the run's console URL for the extra link (nothing when there is no URL or no task instance)."""
    if url and context.get("ti") is not None:
        context["ti"].xcom_push(key=CONSOLE_URL_XCOM_KEY, value=url)


def push_run(context: Context, run: WorkflowRun, console_url: str | None) -> dict[str, Any]:
    """Push the task runs (key `task_runs`) and the console URL; return the run for `return_value`."""
    context["ti"].xcom_push(key=TASK_RUNS_XCOM_KEY, value=[t.model_dump(mode="json") for t in run.task_runs])
    push_console_url(context, console_url)
    return run.model_dump(mode="json")


# -- the trigger's event ------------------------------------------------------------------------


def run_event(status: str, run_id: str | int, **payload: Any) -> dict[str, Any]:
    """The payload of the trigger's one event: status "success", "failure", "timeout" or "error"."""
    return {"status": status, "run_id": run_id, **payload}


def complete_from_event(task: Any, event: dict[str, Any]) -> Any:
    """Turn a WorkflowRunTrigger event into a return value or a precise failure (sensors and operators)."""
    status = event.get("status")
    if status == "success":
        task.log.info("%s %s finished successfully", task.run_noun, event.get("run_id"))
        return event["run"]
    if status == "timeout":
        if getattr(task, "soft_fail", False):
            raise AirflowSkipException(event.get("message", "timed out"))
        raise AirflowSensorTimeout(event.get("message", "timed out"))
    message = event.get("message") or f"unexpected trigger event {event!r}"
    if getattr(task, "soft_fail", False):
        raise AirflowSkipException(message)
    raise AirflowFailException(message)
