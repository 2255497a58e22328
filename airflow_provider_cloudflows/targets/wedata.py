"""Tencent Cloud WeData: what its sensor and operators share; a run is a workflow run of a project."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.links.wedata import WeDataWorkflowRunLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, RunDescription, TencentCloudTask

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun


class WeDataProduct(TencentCloudTask):
    """What every WeData sensor and operator shares: a run belongs to a project, and reading it names both."""

    hook_class_path = PRODUCTS["wedata"].hook
    run_noun = "workflow run"
    operator_extra_links = (WeDataWorkflowRunLink(),)
    project_id: str | int

    def run_params(self) -> dict[str, Any]:
        return {"project_id": str(self.project_id)}


class WeDataWorkflowRunTarget(WeDataProduct):
    """One workflow run, named by `execution_id` (WeData's WorkflowExecutionId) and `project_id` - or
    described: the newest run of `workflow_id` in `project_id` scheduled within `scheduled_after` ..
    `scheduled_before`."""

    execution_id = Alias("run_id")
    run_description = RunDescription(
        "execution_id",
        ("workflow_id", "scheduled_after", "scheduled_before"),
        required=("workflow_id", "scheduled_after"),
    )

    def __init__(
        self,
        *,
        project_id: str | int,
        execution_id: str | None = None,
        workflow_id: str | None = None,
        scheduled_after: datetime | str | None = None,
        scheduled_before: datetime | str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        by_description = self.run_description.choose(
            execution_id,
            {
                "workflow_id": workflow_id,
                "scheduled_after": scheduled_after,
                "scheduled_before": scheduled_before,
            },
        )
        super().__init__(run_id=execution_id, conn_id=tencentcloud_conn_id, **kwargs)
        self.by_description = by_description
        self.project_id = project_id
        self.workflow_id = workflow_id
        self.scheduled_after = scheduled_after
        self.scheduled_before = scheduled_before

    def check_description(self) -> None:
        super().check_description()
        if not str(self.project_id or "").strip():
            from airflow_provider_cloudflows.errors import InvalidRequestError

            raise InvalidRequestError(
                f"project_id rendered empty ({self.project_id!r}): WeData lists runs per project",
                vendor=self.hook.vendor,
            )

    def find_runs(self, limit: int) -> Iterable[WorkflowRun]:
        return self.hook.list_runs(
            self.project_id,
            workflow_id=str(self.workflow_id).strip(),
            scheduled_after=self.scheduled_after,
            scheduled_before=self.scheduled_before or None,
            order_by="ScheduleTime",
            limit=limit,
        )

    def describe_run(self) -> str:
        before = f" and before {self.scheduled_before}" if self.scheduled_before else ""
        return (
            f"of workflow {self.workflow_id} in project {self.project_id} "
            f"scheduled at or after {self.scheduled_after}{before}"
        )
