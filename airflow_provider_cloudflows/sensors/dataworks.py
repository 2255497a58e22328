"""Wait for an Alibaba Cloud DataWorks workflow instance to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.dataworks import FINISHED_STATES as FINISHED_STATES  # re-exported
from airflow_provider_cloudflows.targets.dataworks import DataWorksWorkflowInstanceTarget

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class DataWorksWorkflowInstanceSensor(DataWorksWorkflowInstanceTarget, WorkflowRunSensor):
    """Wait until a DataWorks workflow instance succeeds; fail, naming its failed task instances, if it fails.

    :param instance_id: the workflow instance id (templated; an int, or text that is one).
    :param alibabacloud_conn_id: the `alibabacloud` connection.
    :param with_task_runs: read the task instances on every poke (True), never (False), or - the
        default, None - only once the instance has finished. Reading them costs one
        ListTaskInstances call per 500 task instances; while the instance runs the sensor only
        needs its status, and once it has finished the failure message lists the failed task
        instances by name and the XCom carries them all. States named in `success_states` /
        `failure_states` count as finished too.

    See WorkflowRunSensor for `success_states`, `failure_states`, `region` and `deferrable`.
    """

    def execute(self, context: Context) -> Any:
        from airflow_provider_cloudflows.hooks.dataworks import parse_instance_id

        # Templates render ids as text; the trigger and XCom should carry the integer DataWorks uses.
        self.run_id = parse_instance_id(self.run_id)
        return super().execute(context)
