"""Alibaba Cloud DataWorks: what its sensor and operators share; a run is a workflow instance."""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows.links.dataworks import DataWorksWorkflowInstanceLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, AlibabaCloudTask

# Success and Failure: the only raw states a workflow instance never leaves (kept literal so this
# module does not import the pydantic models at DAG parse time).
FINISHED_STATES = ("Failure", "Success")


class DataWorksProduct(AlibabaCloudTask):
    """What every DataWorks sensor and operator shares."""

    cloud_product = PRODUCTS["dataworks"]
    hook_class_path = PRODUCTS["dataworks"].hook
    run_noun = "workflow instance"
    operator_extra_links = (DataWorksWorkflowInstanceLink(),)


class DataWorksWorkflowInstanceTarget(DataWorksProduct):
    """One workflow instance, named by `instance_id`; `with_task_runs` says when to read its task instances.

    `with_task_runs`: on every read (True), never (False), or - None - only once the instance
    has finished (also in a state named in `success_states` / `failure_states`).
    """

    instance_id = Alias("run_id")

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

    def run_params(self) -> dict[str, Any]:
        if self.with_task_runs is not None:
            return {"with_task_runs": bool(self.with_task_runs)}
        overrides = (
            *(getattr(self, "success_states", None) or ()),
            *(getattr(self, "failure_states", None) or ()),
        )
        return {"with_task_runs": sorted({*FINISHED_STATES, *overrides})}
