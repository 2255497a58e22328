"""Event triggers for Airflow 3 asset watchers: start a DAG when a cloud workflow run ends.

    from airflow.sdk import Asset, AssetWatcher
    from airflow_provider_cloudflows.triggers.events import WeDataWorkflowRunFinishedTrigger

    orders = Asset(
        "wedata_orders_daily",
        watchers=[
            AssetWatcher(
                name="orders_daily_finished",
                trigger=WeDataWorkflowRunFinishedTrigger(project_id="1460947878944567296", workflow_id="..."),
            )
        ],
    )

Each product is configuration on the shared core (triggers/finished_runs.py): which listing API
it reads and what scopes a listing. Every trigger takes `workflow_id`, the product's connection
argument, and the core's `outcomes`, `poll_interval`, `start_after`, `lookback_seconds` and
`settle_seconds`. On Airflow 2 this module imports, and building a trigger says it needs Airflow 3.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun
from airflow_provider_cloudflows.triggers.finished_runs import SUCCESS, RunFinishedTrigger

# DataWorks business dates are days in the project's time zone; China Standard Time for the
# regions this provider targets.
DATAWORKS_BIZ_DATE_TZ = timezone(timedelta(hours=8))
# A listing reads at most this many business dates (a watermark left far behind by a long
# outage); the newest ones, since a run created earlier has most likely been listed before.
MAX_BIZ_DATES = 31


class IceWorkflowTaskFinishedTrigger(RunFinishedTrigger):
    """An event for each Alibaba Cloud ICE workflow task of `workflow_id` that finishes.

    Lists ListWorkflowTasks by workflow and creation time (ICE keeps 90 days), one call per
    workflow. Raw states: Succeed, Failed (and the others of the ICE state table).
    """

    product_key = "ice"
    conn_arg = "alibabacloud_conn_id"
    run_noun = "workflow task"

    def __init__(
        self,
        *,
        workflow_id: str,
        alibabacloud_conn_id: str = "alibabacloud_default",
        outcomes: str | Sequence[str] = SUCCESS,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=alibabacloud_conn_id, workflow_id=workflow_id, outcomes=outcomes, **kwargs)

    @classmethod
    def list_window(
        cls, hook: Any, workflow_ids: Sequence[str], created_after: datetime, scope: dict[str, str | None]
    ) -> AsyncIterator[WorkflowRun]:
        (workflow_id,) = workflow_ids
        return hook.alist_runs(workflow_id, created_after=created_after)


class DataWorksWorkflowInstanceFinishedTrigger(RunFinishedTrigger):
    """An event for each Alibaba Cloud DataWorks workflow instance of `workflow_id` that finishes.

    ListWorkflowInstances needs a project and one business date per call, so a listing reads the
    business dates from the day before the window's start to today (China Standard Time), one
    call per date and workflow. Raw states: Success, Failure (and the others of the table).
    """

    product_key = "dataworks"
    conn_arg = "alibabacloud_conn_id"
    scope_args = ("project_id",)
    run_noun = "workflow instance"

    def __init__(
        self,
        *,
        project_id: str | int,
        workflow_id: str | int,
        alibabacloud_conn_id: str = "alibabacloud_default",
        outcomes: str | Sequence[str] = SUCCESS,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            conn_id=alibabacloud_conn_id,
            workflow_id=str(workflow_id),
            scope={"project_id": project_id},
            outcomes=outcomes,
            **kwargs,
        )

    @classmethod
    async def list_window(  # type: ignore[override]
        cls, hook: Any, workflow_ids: Sequence[str], created_after: datetime, scope: dict[str, str | None]
    ) -> AsyncIterator[WorkflowRun]:
        (workflow_id,) = workflow_ids
        for biz_date in biz_dates(created_after, datetime.now(UTC)):
            async for run in hook.alist_runs(
                project_id=scope["project_id"], biz_date=biz_date, workflow_id=workflow_id
            ):
                yield run


def biz_dates(created_after: datetime, now: datetime) -> list[date]:
    """The business dates whose instances may have been created since `created_after`, newest first.

    A periodic instance's business date is the day before it runs, so the day before the window's
    first day is included.
    """
    first = created_after.astimezone(DATAWORKS_BIZ_DATE_TZ).date() - timedelta(days=1)
    last = now.astimezone(DATAWORKS_BIZ_DATE_TZ).date()
    days = max((last - first).days + 1, 1)
    return [last - timedelta(days=n) for n in range(min(days, MAX_BIZ_DATES))]


class WeDataWorkflowRunFinishedTrigger(RunFinishedTrigger):
    """An event for each Tencent Cloud WeData trigger-workflow run of `workflow_id` that finishes.

    Lists ListTriggerWorkflowRuns by project, workflow and schedule time; watchers of several
    workflows of one project on one connection share one listing call per poll (the WorkflowId
    filter takes several values). Raw states: SUCCESS, FAILED, SKIPED, KILLED (and the others).
    """

    product_key = "wedata"
    conn_arg = "tencentcloud_conn_id"
    scope_args = ("project_id",)
    lists_several_workflows = True
    run_noun = "workflow run"

    def __init__(
        self,
        *,
        project_id: str | int,
        workflow_id: str,
        tencentcloud_conn_id: str = "tencentcloud_default",
        outcomes: str | Sequence[str] = SUCCESS,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            conn_id=tencentcloud_conn_id,
            workflow_id=workflow_id,
            scope={"project_id": project_id},
            outcomes=outcomes,
            **kwargs,
        )

    @classmethod
    def list_window(
        cls, hook: Any, workflow_ids: Sequence[str], created_after: datetime, scope: dict[str, str | None]
    ) -> AsyncIterator[WorkflowRun]:
        return hook.alist_runs(
            scope["project_id"], workflow_id=list(workflow_ids), scheduled_after=created_after
        )


class CloudInfiniteWorkflowExecutionFinishedTrigger(RunFinishedTrigger):
    """An event for each Tencent Cloud Infinite workflow execution of `workflow_id` that finishes.

    Lists the workflow's executions by creation time in `bucket` (default: the connection's
    bucket), one call per workflow. Raw states: Success, Failed, Cancel.
    """

    product_key = "cloud_infinite"
    conn_arg = "tencentcloud_conn_id"
    scope_args = ("bucket",)
    optional_scope = frozenset({"bucket"})
    run_noun = "workflow execution"

    def __init__(
        self,
        *,
        workflow_id: str,
        bucket: str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        outcomes: str | Sequence[str] = SUCCESS,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            conn_id=tencentcloud_conn_id,
            workflow_id=workflow_id,
            scope={"bucket": bucket},
            outcomes=outcomes,
            **kwargs,
        )

    @classmethod
    def list_window(
        cls, hook: Any, workflow_ids: Sequence[str], created_after: datetime, scope: dict[str, str | None]
    ) -> AsyncIterator[WorkflowRun]:
        (workflow_id,) = workflow_ids
        return hook.alist_runs(workflow_id, created_after=created_after, bucket=scope["bucket"])


__all__ = [
    "CloudInfiniteWorkflowExecutionFinishedTrigger",
    "DataWorksWorkflowInstanceFinishedTrigger",
    "IceWorkflowTaskFinishedTrigger",
    "WeDataWorkflowRunFinishedTrigger",
]
