"""Tencent Cloud Infinite (CI): what its sensor and operators share; a run is a workflow execution."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.links.cloud_infinite import CloudInfiniteWorkflowExecutionLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import RunDescription, TencentCloudTask

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun


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
    """One workflow execution, named by its RunId (`run_id`) and `bucket` - or described: the newest
    execution of `workflow_id` for `object_key` and/or created within `created_after` ..
    `created_before` (CI starts executions itself on uploads, so the RunId is often unknown)."""

    run_description = RunDescription(
        "run_id",
        ("workflow_id", "object_key", "created_after", "created_before"),
        required=("workflow_id", ("object_key", "created_after")),
    )

    def __init__(
        self,
        *,
        run_id: str | None = None,
        workflow_id: str | None = None,
        object_key: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        bucket: str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        by_description = self.run_description.choose(
            run_id,
            {
                "workflow_id": workflow_id,
                "object_key": object_key,
                "created_after": created_after,
                "created_before": created_before,
            },
        )
        super().__init__(run_id=run_id, conn_id=tencentcloud_conn_id, **kwargs)
        self.by_description = by_description
        self.bucket = bucket
        self.workflow_id = workflow_id
        self.object_key = object_key
        self.created_after = created_after
        self.created_before = created_before

    def find_runs(self, limit: int) -> Iterable[WorkflowRun]:
        return self.hook.list_runs(
            str(self.workflow_id).strip(),
            name=self.object_key or None,
            created_after=self.created_after or None,
            created_before=self.created_before or None,
            order_by_time="Desc",
            limit=limit,
            bucket=self.bucket,
        )

    def describe_run(self) -> str:
        words = [f"of workflow {self.workflow_id}"]
        if self.object_key:
            words.append(f"for object {self.object_key!r}")
        if self.created_after:
            words.append(f"created after {self.created_after}")
        if self.created_before:
            words.append(f"created before {self.created_before}")
        return " ".join(words)
