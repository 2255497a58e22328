"""Tencent Cloud WeData: what its sensors and operators share.

Two kinds of run: a *workflow run* of the workflow-scheduling model (trigger workflows, read with
WeDataHook), and a *task instance*, the run of a scheduled task for one schedule time (read with
WeDataTaskInstanceHook on the same connection).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from airflow_provider_cloudflows.links.wedata import WeDataTaskInstanceLink, WeDataWorkflowRunLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, TencentCloudTask


class WeDataProduct(TencentCloudTask):
    """What every WeData sensor and operator shares: a run belongs to a project, and reading it names both."""

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
    """One task instance: by `instance_key`, or by `wedata_task_id` and `schedule_time`.

    `wedata_task_id` is WeData's task id (`task_id` is Airflow's own); with `schedule_time`
    (and optionally `schedule_time_to`, making it a window, and `workflow_id`) the instance is
    found with ListTaskInstances: the newest match.
    """

    instance_key = Alias("run_id")

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
        by_task = bool(wedata_task_id or schedule_time or schedule_time_to)
        if instance_key is not None and not str(instance_key).strip() and not by_task:
            raise ValueError(
                f"instance_key is empty ({instance_key!r}): give the task instance's InstanceKey, or "
                "wedata_task_id and schedule_time to wait for the task's instance of that time"
            )
        if bool(instance_key) == by_task:
            raise ValueError("give either instance_key, or wedata_task_id and schedule_time")
        if by_task and not (wedata_task_id and schedule_time):
            raise ValueError(
                "finding a task instance by its task needs both wedata_task_id and schedule_time "
                f"(got wedata_task_id={wedata_task_id!r}, schedule_time={schedule_time!r})"
            )
        super().__init__(run_id=instance_key or "", conn_id=tencentcloud_conn_id, **kwargs)
        self.project_id = project_id
        self.wedata_task_id = wedata_task_id
        self.schedule_time = schedule_time
        self.schedule_time_to = schedule_time_to
        self.workflow_id = workflow_id
        # Chosen here, not from the rendered instance_key: a templated key that renders empty is
        # a mistake to report, not a request to look the instance up by its task.
        self.finds_by_task = by_task

    def describe_lookup(self) -> str:
        """'task 2024… scheduled at 2025-08-06 02:00:00 (workflow w-1)': what the lookup looks for."""
        when = f"scheduled at {self.schedule_time}"
        if self.schedule_time_to:
            when = f"scheduled between {self.schedule_time} and {self.schedule_time_to}"
        workflow = f" (workflow {self.workflow_id})" if self.workflow_id else ""
        return f"task {self.wedata_task_id} {when}{workflow} in project {self.project_id}"

    def find_instance(self) -> Any:
        """The newest matching task instance as a WorkflowRun, or None (one ListTaskInstances listing)."""
        return self.hook.newest_task_instance(  # type: ignore[attr-defined]
            str(self.project_id),
            str(self.wedata_task_id),
            self.schedule_time,
            schedule_time_to=self.schedule_time_to or None,
            workflow_id=self.workflow_id or None,
        )
