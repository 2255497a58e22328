"""Wait for a Tencent Cloud WeData workflow run (workflow-scheduling projects) to finish."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.wedata import WeDataWorkflowRunTarget


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
