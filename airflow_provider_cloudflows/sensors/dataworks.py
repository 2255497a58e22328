"""Wait for an Alibaba Cloud DataWorks workflow instance to finish."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.dataworks import FINISHED_STATES as FINISHED_STATES  # re-exported
from airflow_provider_cloudflows.targets.dataworks import DataWorksWorkflowInstanceTarget

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class DataWorksWorkflowInstanceSensor(DataWorksWorkflowInstanceTarget, WorkflowRunSensor):
    """Wait until a DataWorks workflow instance succeeds; fail, naming its failed task instances, if it fails.

    Name the instance by its id, or by its workflow and business date - e.g. today's periodic
    instance of a nightly workflow that DataWorks' own scheduler runs:

    :param instance_id: the workflow instance id (templated; an int, or text that is one).
    :param workflow_id: instead of the id: the workflow whose instance to wait for (templated).
    :param biz_date: with `workflow_id`: the business date (templated): `"{{ ds }}"` (or any
        `YYYY-MM-DD` / `YYYYMMDD` text), a date, a datetime, or epoch milliseconds. DataWorks'
        business date is midnight Beijing time (UTC+8) of the day before the scheduled run - as
        `{{ ds }}` is the day before a daily DAG run; a datetime with a time zone is taken on the
        day it falls on in Beijing time, a naive one on its own date.
    :param project_id: with `workflow_id`: the workspace (project) id (templated).
    :param instance_type: which instances count: `Normal` (the periodic instance, default),
        `Manual`, `SmokeTest`, `SupplementData`, `ManualWorkflow` or `TriggerWorkflow` (templated).
    :param alibabacloud_conn_id: the `alibabacloud` connection.
    :param with_task_runs: read the task instances on every poke (True), never (False), or - the
        default, None - only once the instance has finished. Reading them costs one
        ListTaskInstances call per 500 task instances; while the instance runs the sensor only
        needs its status, and once it has finished the failure message lists the failed task
        instances by name and the XCom carries them all. States named in `success_states` /
        `failure_states` count as finished too.

    An instance that does not exist yet (DataWorks has not generated it) is waited for; when
    several match (a rerun made another), the newest is followed and the log says how many
    matched. See WorkflowRunSensor for how each mode keeps the found id (XCom `run_id`) and for
    `success_states`, `failure_states`, `region` and `deferrable`.
    """

    template_fields: Sequence[str] = (
        *WorkflowRunSensor.template_fields,
        "workflow_id",
        "biz_date",
        "project_id",
        "instance_type",
    )

    def execute(self, context: Context) -> Any:
        from airflow_provider_cloudflows.hooks.dataworks import parse_instance_id

        # Templates render ids as text; the trigger and XCom should carry the integer DataWorks uses.
        if not self.by_description:
            self.run_id = parse_instance_id(self.run_id)
        return super().execute(context)
