"""Tencent Cloud WeData: what its sensors and operators share.

Two kinds of run: a *workflow run* of the workflow-scheduling model (trigger workflows, read with
WeDataHook), and a *task instance*, the run of a scheduled task for one schedule time (read with
WeDataTaskInstanceHook on the same connection).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_cloudflows.links.wedata import WeDataTaskInstanceLink, WeDataWorkflowRunLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, RunDescription, TencentCloudTask

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun


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


# The task-instance hook, by dotted path (the product's own hook is WeDataHook, in products.py).
TASK_INSTANCE_HOOK = "airflow_provider_cloudflows.hooks.wedata_task_instance.WeDataTaskInstanceHook"


# The templated arguments of every task-instance sensor and operator.
TASK_INSTANCE_TEMPLATE_FIELDS = (
    "instance_key",
    "wedata_task_id",
    "schedule_time",
    "schedule_time_to",
    "workflow_id",
    "project_id",
    "tencentcloud_conn_id",
    "region",
)


class WeDataTaskInstanceProduct(TencentCloudTask):
    """What every WeData task-instance sensor and operator shares: an instance belongs to a project."""

    hook_class_path: ClassVar[str] = TASK_INSTANCE_HOOK
    run_noun = "task instance"
    operator_extra_links = (WeDataTaskInstanceLink(),)
    project_id: str | int

    def run_params(self) -> dict[str, Any]:
        return {"project_id": str(self.project_id)}


class WeDataTaskInstanceTarget(WeDataTaskInstanceProduct):
    """One task instance: by `instance_key`, or described by `wedata_task_id` and `schedule_time`.

    `wedata_task_id` is WeData's task id (`task_id` is Airflow's own); with `schedule_time`
    (and optionally `schedule_time_to`, making it a window, and `workflow_id`) the instance is
    found with ListTaskInstances: the newest match (the shared lookup, see RunDescription).
    """

    instance_key = Alias("run_id")
    run_description = RunDescription(
        "instance_key",
        ("wedata_task_id", "schedule_time", "schedule_time_to", "workflow_id"),
        required=("wedata_task_id", "schedule_time"),
    )

    def __init__(
        self,
        *,
        project_id: str | int,
        instance_key: str | None = None,
        wedata_task_id: str | None = None,
        schedule_time: datetime | str | None = None,
        schedule_time_to: datetime | str | None = None,
        workflow_id: str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        by_description = self.run_description.choose(
            instance_key,
            {
                "wedata_task_id": wedata_task_id,
                "schedule_time": schedule_time,
                "schedule_time_to": schedule_time_to,
                "workflow_id": workflow_id,
            },
        )
        super().__init__(run_id=instance_key, conn_id=tencentcloud_conn_id, **kwargs)
        self.by_description = by_description
        self.project_id = project_id
        self.wedata_task_id = wedata_task_id
        self.schedule_time = schedule_time
        self.schedule_time_to = schedule_time_to
        self.workflow_id = workflow_id

    def find_runs(self, limit: int) -> Iterable[WorkflowRun]:
        from airflow_provider_cloudflows.models.wedata_task_instance import instance_to_run

        found = self.hook.list_task_instances(  # type: ignore[attr-defined]
            str(self.project_id),
            task_id=str(self.wedata_task_id).strip(),
            workflow_id=self.workflow_id or None,
            schedule_time_from=self.schedule_time,
            schedule_time_to=self.schedule_time_to or self.schedule_time,
            max_pages=1,
        )
        # Newest first: by schedule time, then by last update (a rerun instance of the same time).
        found.sort(
            key=lambda i: (i.SchedulerTime or "", i.LastUpdateTime or "", i.InstanceKey or ""), reverse=True
        )
        return [
            instance_to_run(i if i.ProjectId else i.model_copy(update={"ProjectId": str(self.project_id)}))
            for i in found[:limit]
        ]

    def describe_run(self) -> str:
        when = f"scheduled at {self.schedule_time}"
        if self.schedule_time_to:
            when = f"scheduled between {self.schedule_time} and {self.schedule_time_to}"
        workflow = f" (workflow {self.workflow_id})" if self.workflow_id else ""
        return f"of task {self.wedata_task_id} {when}{workflow} in project {self.project_id}"
