"""Alibaba Cloud ICE: what its sensor and operators share; a run is a workflow task."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.links.ice import IceWorkflowTaskLink
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.targets.base import Alias, AlibabaCloudTask, RunDescription

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun

# ListWorkflowTasks lists the tasks created in the last 90 days only.
LISTED_DAYS = 90


class IceProduct(AlibabaCloudTask):
    """What every ICE sensor and operator shares."""

    cloud_product = PRODUCTS["ice"]
    hook_class_path = PRODUCTS["ice"].hook
    run_noun = "workflow task"
    operator_extra_links = (IceWorkflowTaskLink(),)


class IceWorkflowTaskTarget(IceProduct):
    """One workflow task, named by `workflow_task_id` (the ICE TaskId; `task_id` is Airflow's own) -
    or described: the newest task of `workflow_id` created within `created_after` .. `created_before`."""

    workflow_task_id = Alias("run_id")
    run_description = RunDescription(
        "workflow_task_id",
        ("workflow_id", "created_after", "created_before"),
        required=("workflow_id", "created_after"),
    )

    def __init__(
        self,
        *,
        workflow_task_id: str | None = None,
        workflow_id: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        alibabacloud_conn_id: str = "alibabacloud_default",
        **kwargs: Any,
    ) -> None:
        by_description = self.run_description.choose(
            workflow_task_id,
            {"workflow_id": workflow_id, "created_after": created_after, "created_before": created_before},
        )
        super().__init__(run_id=workflow_task_id, conn_id=alibabacloud_conn_id, **kwargs)
        self.by_description = by_description
        self.workflow_id = workflow_id
        self.created_after = created_after
        self.created_before = created_before

    def check_description(self) -> None:
        super().check_description()
        from airflow_provider_cloudflows.errors import InvalidRequestError
        from airflow_provider_cloudflows.runs import parse_datetime

        after = self.created_after
        start = after if isinstance(after, datetime) else parse_datetime(str(after).strip())
        if start is None:
            raise InvalidRequestError(
                f"created_after {after!r} is not a date-time: write ISO 8601, e.g. "
                "'{{ data_interval_start }}' or 2026-03-01T02:00:00+08:00",
                vendor=self.hook.vendor,
            )
        oldest = datetime.now(UTC) - timedelta(days=LISTED_DAYS)
        if (start if start.tzinfo else start.replace(tzinfo=UTC)) < oldest:
            raise InvalidRequestError(
                f"created_after {after!r} is more than {LISTED_DAYS} days ago: ICE's ListWorkflowTasks only "
                f"lists tasks of the last {LISTED_DAYS} days, so a task created before "
                f"{oldest:%Y-%m-%d %H:%M} UTC cannot be found; pass its workflow_task_id instead",
                vendor=self.hook.vendor,
            )

    def find_runs(self, limit: int) -> Iterable[WorkflowRun]:
        return self.hook.list_runs(
            str(self.workflow_id).strip(),
            created_after=self.created_after,
            created_before=self.created_before or None,
            limit=limit,
        )

    def describe_run(self) -> str:
        before = f" and before {self.created_before}" if self.created_before else ""
        return f"of workflow {self.workflow_id} created after {self.created_after}{before}"
