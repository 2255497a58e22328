"""What sensors and operators hand back: the XCom keys, the pushes, and the trigger's event.

The WorkflowRunTrigger sends exactly one event, built by `run_event`; the sensor or operator that
deferred turns it into its return value or a precise failure with `complete_from_event`. Links read
the console URL under `CONSOLE_URL_XCOM_KEY`.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
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


# The console URLs this process pushed, by task instance and try: what the extra link reads when
# Airflow 3 asks for it at the end of the task (see links/base.py), without a lookup that would
# log "XCom not found" at error level for a task that never pushed one. Bounded: a process that
# runs many tasks (dag.test) keeps the newest.
_PUSHED_CONSOLE_URLS: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_MAX_PUSHED_CONSOLE_URLS = 1024


def _ti_identity(ti: Any) -> tuple[Any, ...]:
    map_index = getattr(ti, "map_index", -1)
    return (
        ti.dag_id,
        ti.task_id,
        ti.run_id,
        -1 if map_index is None else map_index,
        getattr(ti, "try_number", None),
    )


def push_console_url(context: Context, url: str | None) -> None:
    """Push the run's console URL for the extra link (nothing when there is no URL or no task instance)."""
    ti = context.get("ti")
    if url and ti is not None:
        ti.xcom_push(key=CONSOLE_URL_XCOM_KEY, value=url)
        with contextlib.suppress(AttributeError):
            identity = _ti_identity(ti)
            _PUSHED_CONSOLE_URLS[identity] = url
            _PUSHED_CONSOLE_URLS.move_to_end(identity)
            while len(_PUSHED_CONSOLE_URLS) > _MAX_PUSHED_CONSOLE_URLS:
                _PUSHED_CONSOLE_URLS.popitem(last=False)


def pushed_console_url(ti_key: Any) -> str | None:
    """The console URL this process pushed for this task instance and try, if it pushed one."""
    try:
        return _PUSHED_CONSOLE_URLS.get(_ti_identity(ti_key))
    except AttributeError:
        return None


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
