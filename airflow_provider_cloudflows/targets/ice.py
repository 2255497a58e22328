"""Alibaba Cloud ICE: what its sensor and operators share; a run is a workflow task."""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows.links.ice import IceWorkflowTaskLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, AlibabaCloudTask


class IceProduct(AlibabaCloudTask):
    """What every ICE sensor and operator shares."""

    cloud_product = PRODUCTS["ice"]
    hook_class_path = PRODUCTS["ice"].hook
    run_noun = "workflow task"
    operator_extra_links = (IceWorkflowTaskLink(),)


class IceWorkflowTaskTarget(IceProduct):
    """One workflow task, named by `workflow_task_id` (the ICE TaskId; `task_id` is Airflow's own)."""

    workflow_task_id = Alias("run_id")

    def __init__(
        self, *, workflow_task_id: str, alibabacloud_conn_id: str = "alibabacloud_default", **kwargs: Any
    ) -> None:
        super().__init__(run_id=workflow_task_id, conn_id=alibabacloud_conn_id, **kwargs)
