"""Wait for a Tencent Cloud WeData workflow run, or a scheduled task's task instance, to finish."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.wedata import (
    TASK_INSTANCE_TEMPLATE_FIELDS,
    WeDataTaskInstanceTarget,
    WeDataWorkflowRunTarget,
)


class WeDataWorkflowRunSensor(WeDataWorkflowRunTarget, WorkflowRunSensor):
    """Wait until a WeData workflow run finishes; fail if it fails (GetTriggerWorkflowRun).

    Name the run by its execution id, or by its workflow and when it was scheduled (a run that
    WeData's own triggers start):

    :param execution_id: the WorkflowExecutionId (templated).
    :param project_id: the WeData project id (templated); needed either way.
    :param workflow_id: instead of the id: wait for the newest run of this workflow whose planned
        schedule time is within `scheduled_after` .. `scheduled_before` (templated).
    :param scheduled_after: the start of the schedule-time window, inclusive (datetime or ISO
        text, templated, e.g. `"{{ data_interval_start }}"`); required with `workflow_id`.
    :param scheduled_before: the end of the window, inclusive (optional; templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection (region required; endpoint optional).
    :param success_states / failure_states: raw WeData states overriding the defaults. By default a
        skipped run (``SKIPED``) succeeds; pass ``failure_states=["SKIPED"]`` to fail on it.
    :param deferrable: wait in the triggerer instead of a worker slot.

    A run that does not exist yet is waited for; when several match, the one scheduled last is
    followed, and the log says how many matched. See WorkflowRunSensor for how each mode keeps
    the found id (XCom `run_id`). Also takes every WorkflowRunSensor / BaseSensorOperator argument
    (poke_interval, timeout, mode, soft_fail, region...). On success the run, with its task runs,
    is the XCom return value.
    """

    template_fields: Sequence[str] = (
        "execution_id",
        "project_id",
        "tencentcloud_conn_id",
        "region",
        "success_states",
        "failure_states",
        "workflow_id",
        "scheduled_after",
        "scheduled_before",
    )


class WeDataTaskInstanceSensor(WeDataTaskInstanceTarget, WorkflowRunSensor):
    """Wait until a WeData task instance (a scheduled task's run) finishes; fail if it fails (GetTaskInstance).

    Name the instance by its key, or by its task and schedule time:

    :param instance_key: the InstanceKey, e.g. ``20240627201611119_2025-03-20 00:00:00`` (templated).
    :param wedata_task_id: WeData's task id (templated); with `schedule_time`, wait for that
        task's instance of that time (``task_id`` is the Airflow task's own id).
    :param schedule_time: the instance's planned schedule time (datetime, ISO-8601 text such as
        ``"{{ data_interval_end }}"``, or ``yyyy-MM-dd HH:mm:ss`` taken as UTC+8; templated).
    :param schedule_time_to: with `schedule_time`: the end of a window of schedule times
        (inclusive); the newest instance in the window is followed (templated).
    :param workflow_id: only instances of this workflow (templated, optional).
    :param project_id: the WeData project id (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection (region required).
    :param success_states / failure_states: raw InstanceStates overriding the defaults. By
        default a skipped instance (``SKIP_RUNNING``) succeeds; ``FAILED_RETRY`` keeps waiting
        (the instance will try again) and ``EXPIRED`` fails.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Waiting by task and schedule time: until the instance exists, every poke lists the task's
    instances of that time (ListTaskInstances) and reports "not yet" - WeData creates instances
    ahead of time, but a DAG may look before it has - so only the sensor's `timeout` bounds that
    wait. When several match, the newest (by schedule time, then last update) is followed and the
    log names the others. Once found, its InstanceKey is pushed to XCom under `run_id` and the
    sensor waits on that key like on a given one (deferred: in the shared WorkflowRunTrigger,
    which keeps the key across triggerer restarts). On success the instance is the XCom return
    value, with itself as its one task run.
    """

    template_fields: Sequence[str] = (*TASK_INSTANCE_TEMPLATE_FIELDS, "success_states", "failure_states")
