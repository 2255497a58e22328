"""Wait for a Tencent Cloud WeData workflow run (workflow-scheduling projects) to finish."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.wedata import WeDataWorkflowRunTarget


class WeDataWorkflowRunSensor(WeDataWorkflowRunTarget, WorkflowRunSensor):
    """Wait until a WeData workflow run finishes; fail if it fails (GetTriggerWorkflowRun).

    :param execution_id: the WorkflowExecutionId (templated).
    :param project_id: the WeData project id (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection (region required; endpoint optional).
    :param success_states / failure_states: raw WeData states overriding the defaults. By default a
        skipped run (``SKIPED``) succeeds; pass ``failure_states=["SKIPED"]`` to fail on it.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Also takes every WorkflowRunSensor / BaseSensorOperator argument (poke_interval, timeout,
    mode, soft_fail, region...). On success the run, with its task runs, is the XCom return value.
    """

    template_fields: Sequence[str] = (
        "execution_id",
        "project_id",
        "tencentcloud_conn_id",
        "region",
        "success_states",
        "failure_states",
    )
