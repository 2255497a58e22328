"""Alibaba Cloud DataWorks: what its sensor and operators share; a run is a workflow instance."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.links.dataworks import DataWorksWorkflowInstanceLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, AlibabaCloudTask, RunDescription

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun

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
    """One workflow instance, named by `instance_id` - or described: the instance of `workflow_id` in
    `project_id` for business date `biz_date`, of `instance_type` (default `Normal`, the periodic
    instance); `with_task_runs` says when to read its task instances.

    `with_task_runs`: on every read (True), never (False), or - None - only once the instance
    has finished (also in a state named in `success_states` / `failure_states`).
    """

    instance_id = Alias("run_id")
    run_description = RunDescription(
        "instance_id",
        ("workflow_id", "biz_date", "project_id"),
        required=("workflow_id", "biz_date", "project_id"),
    )

    def __init__(
        self,
        *,
        instance_id: int | str | None = None,
        workflow_id: int | str | None = None,
        biz_date: date | datetime | str | int | None = None,
        project_id: int | str | None = None,
        instance_type: str = "Normal",
        alibabacloud_conn_id: str = "alibabacloud_default",
        with_task_runs: bool | None = None,
        **kwargs: Any,
    ) -> None:
        by_description = self.run_description.choose(
            instance_id, {"workflow_id": workflow_id, "biz_date": biz_date, "project_id": project_id}
        )
        super().__init__(run_id=instance_id, conn_id=alibabacloud_conn_id, **kwargs)
        self.by_description = by_description
        self.with_task_runs = with_task_runs
        self.workflow_id = workflow_id
        self.biz_date = biz_date
        self.project_id = project_id
        self.instance_type = instance_type

    def find_runs(self, limit: int) -> Iterable[WorkflowRun]:
        return self.hook.list_runs(
            project_id=self.project_id,
            biz_date=_text(self.biz_date),
            workflow_id=_text(self.workflow_id),
            instance_type=self.instance_type or None,
            sort_by="Id Desc",
            limit=limit,
        )

    def describe_run(self) -> str:
        kind = f"{self.instance_type} " if self.instance_type else ""
        return (
            f"({kind}instances) of workflow {self.workflow_id} in project {self.project_id} "
            f"for business date {_text(self.biz_date)}"
        )

    def run_id_of(self, run: WorkflowRun) -> int:
        return int(run.run_id)

    def run_params(self) -> dict[str, Any]:
        if self.with_task_runs is not None:
            return {"with_task_runs": bool(self.with_task_runs)}
        overrides = (
            *(getattr(self, "success_states", None) or ()),
            *(getattr(self, "failure_states", None) or ()),
        )
        return {"with_task_runs": sorted({*FINISHED_STATES, *overrides})}


def _text(value: Any) -> Any:
    # Templates render to text; surrounding spaces from a template are not part of the value.
    return value.strip() if isinstance(value, str) else value
