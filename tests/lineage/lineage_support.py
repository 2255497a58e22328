"""What the lineage tests share: a task instance the OpenLineage macros can read, and the operators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest import mock

from airflow_provider_cloudflows.hooks.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
MEDIA = {"Type": "Media", "Media": "m-0001"}
LOGICAL_DATE = datetime(2026, 12, 1, tzinfo=UTC)
NAMESPACE = "cloudflows-tests"


@dataclass
class LineageTi:
    """The task instance of a try, as much of it as the operators and the OpenLineage macros read."""

    dag_id: str = "etl"
    task_id: str = "start"
    run_id: str = "manual__2026-12-01"
    map_index: int = -1
    try_number: int = 1
    xcom_push: mock.MagicMock = field(default_factory=mock.MagicMock)
    dag_run: Any = None

    def __post_init__(self) -> None:
        self.logical_date = LOGICAL_DATE
        self.dag_run = SimpleNamespace(
            dag_id=self.dag_id,
            run_id=self.run_id,
            logical_date=LOGICAL_DATE,
            run_after=LOGICAL_DATE,
            start_date=datetime.now(UTC),
            conf={},
            clear_number=0,
        )

    def get_template_context(self) -> dict[str, Any]:
        return context(self)

    def pushed(self) -> dict[str, Any]:
        return {c.kwargs["key"]: c.kwargs["value"] for c in self.xcom_push.call_args_list}


def context(ti: LineageTi) -> dict[str, Any]:
    return {"ti": ti, "dag_run": ti.dag_run}


def fast(task: Any) -> Any:
    """The task's hook with quick retries and no sleeping between them."""
    hook = task.hook_class(task.conn_id, retry_policy=FAST)
    hook.sleep = lambda _s: None
    task.__dict__["hook"] = hook
    return task


def ice_start(**kwargs: Any) -> Any:
    from airflow_provider_cloudflows.operators.ice import IceStartWorkflowOperator

    kwargs = {"user_data": {"emulator_step_seconds": 0.02}, "poll_interval": 0.05, "timeout": 30, **kwargs}
    return fast(IceStartWorkflowOperator(task_id="start", workflow_id="wf-9", task_input=MEDIA, **kwargs))


def wedata_start(**kwargs: Any) -> Any:
    from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator

    kwargs = {
        "workflow_params": {"emulator_step_seconds": "0.02"},
        "poll_interval": 0.05,
        "timeout": 30,
        **kwargs,
    }
    return fast(
        WeDataStartWorkflowRunOperator(task_id="start", project_id="p-1", workflow_id="wf-1", **kwargs)
    )


def dataworks_start(**kwargs: Any) -> Any:
    from airflow_provider_cloudflows.emulator.services.dataworks import DEMO_PROJECT_ID, DEMO_WORKFLOW_ID
    from airflow_provider_cloudflows.operators.dataworks import DataWorksCreateWorkflowInstancesOperator

    kwargs = {
        "workflow_parameters": {"emulator_step_seconds": 0.02},
        "poll_interval": 0.05,
        "timeout": 30,
        **kwargs,
    }
    return fast(
        DataWorksCreateWorkflowInstancesOperator(
            task_id="start", project_id=DEMO_PROJECT_ID, workflow_id=DEMO_WORKFLOW_ID, **kwargs
        )
    )


def cloud_infinite_start(object_key: str = "input/movie.mp4", **kwargs: Any) -> Any:
    from airflow_provider_cloudflows.operators.cloud_infinite import CloudInfiniteTriggerWorkflowOperator

    kwargs = {"poll_interval": 0.05, "timeout": 30, **kwargs}
    return fast(
        CloudInfiniteTriggerWorkflowOperator(
            task_id="start", workflow_id="w-1", object_key=object_key, **kwargs
        )
    )
