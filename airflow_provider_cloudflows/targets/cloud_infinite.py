"""Tencent Cloud Infinite (CI): what its sensor and operators share; a run is a workflow execution."""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows.links.cloud_infinite import CloudInfiniteWorkflowExecutionLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import TencentCloudTask


class CloudInfiniteProduct(TencentCloudTask):
    """What every CI sensor and operator shares; executions live in a bucket.

    `bucket` is BucketName-APPID; None means the connection's `bucket` extra.
    """

    cloud_product = PRODUCTS["cloud_infinite"]
    hook_class_path = PRODUCTS["cloud_infinite"].hook
    run_noun = "workflow execution"
    operator_extra_links = (CloudInfiniteWorkflowExecutionLink(),)
    bucket: str | None

    def run_params(self) -> dict[str, Any]:
        return {"bucket": self.bucket} if self.bucket else {}


class CloudInfiniteWorkflowExecutionTarget(CloudInfiniteProduct):
    """One workflow execution, named by its RunId (`run_id`) and `bucket`."""

    def __init__(
        self,
        *,
        run_id: str,
        bucket: str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(run_id=run_id, conn_id=tencentcloud_conn_id, **kwargs)
        self.bucket = bucket
