"""Wait for an Alibaba Cloud ICE workflow task (GetWorkflowTask) to finish."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.ice import IceWorkflowTaskTarget


class IceWorkflowTaskSensor(IceWorkflowTaskTarget, WorkflowRunSensor):
    """Succeed when the ICE workflow task succeeds (`Succeed`); fail when it ends `Failed` or `Canceled`.

    Name the task by its id, or by the workflow and when it was created (a task another system
    submitted):

    :param workflow_task_id: the ICE TaskId (templated). Named so because `task_id` is the
        Airflow task's own id.
    :param workflow_id: instead of the id: wait for the newest task of this workflow template
        created within `created_after` .. `created_before` (templated).
    :param created_after: the start of the creation window (datetime or ISO text, templated, e.g.
        `"{{ data_interval_start }}"`); required with `workflow_id`. ListWorkflowTasks covers the
        last 90 days only: an older `created_after` fails at the first look, saying so.
    :param created_before: the end of the window (optional; templated).
    :param alibabacloud_conn_id: the `alibabacloud` connection (templated).
    :param region: overrides the connection's region.
    :param success_states / failure_states: raw ICE states overriding the defaults.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Modes: poke, reschedule (``mode="reschedule"``) or deferred (``deferrable=True``). A task that
    does not exist yet is waited for; when several match, the newest is followed (ListWorkflowTasks
    has no state filter, so a finished task counts too). See WorkflowRunSensor for how each mode
    keeps the found id (XCom `run_id`). On success the task (with one task run per workflow node)
    is the XCom return value. ICE only answers for tasks created within the last year.
    """

    template_fields: Sequence[str] = (
        "workflow_task_id",
        "alibabacloud_conn_id",
        "region",
        "success_states",
        "failure_states",
        "workflow_id",
        "created_after",
        "created_before",
    )
