"""Wait for an Alibaba Cloud DataWorks workflow instance to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.links.dataworks import DataWorksWorkflowInstanceLink
from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

# Success and Failure: the only raw states a workflow instance never leaves (kept literal so this
# module does not import the pydantic models at DAG parse time).
FINISHED_STATES = ("Failure", "Success")


class DataWorksWorkflowInstanceSensor(WorkflowRunSensor):
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

    hook_class_path = "airflow_provider_cloudflows.hooks.dataworks.DataWorksHook"
    run_noun = "workflow instance"
    operator_extra_links = (DataWorksWorkflowInstanceLink(),)

    def __init__(
        self,
        *,
        instance_id: int | str,
        alibabacloud_conn_id: str = "alibabacloud_default",
        with_task_runs: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(run_id=instance_id, conn_id=alibabacloud_conn_id, **kwargs)
        self.with_task_runs = with_task_runs

    @property
    def instance_id(self) -> int | str:
        return self.run_id

    @property
    def alibabacloud_conn_id(self) -> str:
        return self.conn_id

    def run_params(self) -> dict[str, Any]:
        if self.with_task_runs is not None:
            return {"with_task_runs": bool(self.with_task_runs)}
        finished = {*FINISHED_STATES, *(self.success_states or ()), *(self.failure_states or ())}
        return {"with_task_runs": sorted(finished)}

    def execute(self, context: Context) -> Any:
        from airflow_provider_cloudflows.hooks.dataworks import parse_instance_id

        # Templates render ids as text; the trigger and XCom should carry the integer DataWorks uses.
        self.run_id = parse_instance_id(self.run_id)
        return super().execute(context)
