"""Wait for an Alibaba Cloud ICE workflow task (GetWorkflowTask) to finish."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.ice import IceWorkflowTaskTarget


class IceWorkflowTaskSensor(IceWorkflowTaskTarget, WorkflowRunSensor):
    """Succeed when the ICE workflow task succeeds (`Succeed`); fail when it ends `Failed` or `Canceled`.

    :param workflow_task_id: the ICE TaskId (templated). Named so because `task_id` is the
        Airflow task's own id.
    :param alibabacloud_conn_id: the `alibabacloud` connection (templated).
    :param region: overrides the connection's region.
    :param success_states / failure_states: raw ICE states overriding the defaults.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Modes: poke, reschedule (``mode="reschedule"``) or deferred (``deferrable=True``). On success the
    task (with one task run per workflow node) is the XCom return value. ICE only answers for
    tasks created within the last year.
    """

    template_fields: Sequence[str] = (
        "workflow_task_id",
        "alibabacloud_conn_id",
        "region",
        "success_states",
        "failure_states",
    )
