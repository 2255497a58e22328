"""Tencent Cloud WeData: what its sensor and operators share; a run is a workflow run of a project."""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows.links.wedata import WeDataWorkflowRunLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, TencentCloudTask


class WeDataProduct(TencentCloudTask):
    """What every WeData sensor and operator shares: a run belongs to a project, and reading it names both."""

    cloud_product = PRODUCTS["wedata"]
    hook_class_path = PRODUCTS["wedata"].hook
    run_noun = "workflow run"
    operator_extra_links = (WeDataWorkflowRunLink(),)
    project_id: str | int

    def run_params(self) -> dict[str, Any]:
        return {"project_id": str(self.project_id)}


class WeDataWorkflowRunTarget(WeDataProduct):
    """One workflow run, named by `execution_id` (WeData's WorkflowExecutionId) and `project_id`."""

    execution_id = Alias("run_id")

    def __init__(
        self,
        *,
        execution_id: str,
        project_id: str | int,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(run_id=execution_id, conn_id=tencentcloud_conn_id, **kwargs)
        self.project_id = project_id
