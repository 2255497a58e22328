"""Operators for Tencent Cloud WeData: workflow runs (read, or start, wait and stop on kill) and task instances (read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_cloudflows.operators.base import (
    GetWorkflowRunOperator,
    RerunWorkflowRunOperator,
    StartWorkflowRunOperator,
)
from airflow_provider_cloudflows.runs import RunState
from airflow_provider_cloudflows.targets.wedata import (
    TASK_INSTANCE_TEMPLATE_FIELDS,
    WeDataProduct,
    WeDataTaskInstanceTarget,
    WeDataWorkflowRunTarget,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.hooks.wedata import WeDataHook
    from airflow_provider_cloudflows.runs import WorkflowRun

# The run parameter that carries the Airflow task instance's mark, and how many pages of the
# workflow's newest runs a later try reads to find it.
MARKER_PARAM = "airflow_task_instance"
MARKED_SCAN_PAGES = 5


class WeDataGetWorkflowRunOperator(WeDataWorkflowRunTarget, GetWorkflowRunOperator):
    """Read a WeData workflow run: the run is the return value, its task runs go under XCom key `task_runs`.

    :param execution_id: the WorkflowExecutionId (templated).
    :param project_id: the WeData project id (templated).
    :param workflow_id / scheduled_after / scheduled_before: instead of the id, the newest run of the
        workflow scheduled in that window (as WeDataWorkflowRunSensor; fails when none exists).
    :param tencentcloud_conn_id: the `tencentcloud` connection.
    """

    template_fields: Sequence[str] = (
        "execution_id",
        "project_id",
        "tencentcloud_conn_id",
        "region",
        "workflow_id",
        "scheduled_after",
        "scheduled_before",
    )


class WeDataRunControl:
    """Stopping and rerunning WeData workflow runs: what the start and rerun operators share."""

    rerun_action = "RerunTriggerWorkflowRunAsync"
    rerun_task_ids: list[str] | None = None
    rerun_timeout: float = 600.0
    project_id: str | int
    workflow_id: str | None
    poll_interval: float

    @property
    def wedata_hook(self) -> WeDataHook:
        return cast("WeDataHook", self.hook)  # type: ignore[attr-defined]

    def stop_params(self) -> dict[str, Any]:
        return {"project_id": str(self.project_id), "workflow_id": self.workflow_id}

    def rerun(self, context: Context, run: WorkflowRun) -> None:
        """RerunTriggerWorkflowRunAsync of the tasks that did not succeed (failed, or never ran)."""
        task_ids = self.rerun_task_ids or [
            t.detail["TaskId"]
            for t in run.task_runs
            if t.state is not RunState.SUCCEEDED and t.detail.get("TaskId")
        ]
        self.wedata_hook.rerun_failed(
            self.project_id,
            run.workflow_id or str(self.workflow_id),
            run.run_id,
            task_ids=task_ids or None,
            poll_interval=min(self.poll_interval, 5.0),
            rerun_timeout=self.rerun_timeout,
        )


class WeDataStartWorkflowRunOperator(WeDataRunControl, WeDataProduct, StartWorkflowRunOperator):
    """Start a run of a WeData workflow (CreateTriggerWorkflowRun) and, by default, wait for it.

    :param project_id: the WeData project id (templated).
    :param workflow_id: the workflow to run (templated).
    :param workflow_params: run parameters sent as AdvancedParams ({key: value}; templated). Empty means
        the workflow's latest configuration. (Named so because `params` is Airflow's own argument.)
    :param task_ids: run only these tasks of the workflow (templated); empty runs all of them.
    :param wait_for_completion / deferrable / poll_interval / timeout / success_states /
        failure_states: see StartWorkflowRunOperator.

    The execution id is the return value and XCom key `run_id`. When the task is killed, the
    remote run is stopped with KillTriggerWorkflowRuns.
    """

    template_fields: Sequence[str] = (
        "project_id",
        "workflow_id",
        "workflow_params",
        "task_ids",
        "tencentcloud_conn_id",
        "region",
    )
    template_fields_renderers = {"workflow_params": "json"}

    def __init__(
        self,
        *,
        project_id: str | int,
        workflow_id: str,
        workflow_params: Mapping[str, Any] | None = None,
        task_ids: Sequence[str] | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=tencentcloud_conn_id, **kwargs)
        self.project_id = project_id
        self.workflow_id = workflow_id
        self.workflow_params = dict(workflow_params) if workflow_params else None
        self.task_ids = list(task_ids) if task_ids else None

    def start(self, context: Context) -> str:
        from airflow_provider_cloudflows.lineage import parent_run_ids, with_parent_run_ids

        # The run keeps its parameters (WorkflowParams in ListTriggerWorkflowRuns): one more
        # carries the task instance's mark, so a retry can find this run, and two more the
        # task's OpenLineage ids when OpenLineage is on.
        params = {
            **(with_parent_run_ids(self.workflow_params, parent_run_ids(self, context)) or {}),
            MARKER_PARAM: self.run_marker(context),
        }
        return self.wedata_hook.start_run(
            self.project_id, self.workflow_id, params=params, task_ids=self.task_ids
        )

    def find_marked_runs(self, context: Context, marker: str) -> list[WorkflowRun]:
        """The workflow's newest runs (ListTriggerWorkflowRuns, newest first), read back by parameter."""
        runs = self.wedata_hook.list_runs(
            self.project_id, workflow_id=self.workflow_id, page_size=100, max_pages=MARKED_SCAN_PAGES
        )
        for run in runs:
            if marker in (run.detail["TriggerWorkflowRun"].get("WorkflowParams") or ""):
                return [self.wedata_hook.get_run(run.run_id, project_id=str(self.project_id))]
        return []


class WeDataRerunWorkflowRunOperator(WeDataRunControl, WeDataProduct, RerunWorkflowRunOperator):
    """Rerun the failed tasks of a finished WeData workflow run and, by default, wait for it again.

    RerunTriggerWorkflowRunAsync as an advanced run (ExecuteType 2) of the tasks that did not
    succeed - the failed ones and those that never ran because of them - or of `task_ids`; then
    GetOpsAsyncJob until WeData reports the rerun accepted; then the run (same execution id) is
    followed like a started one (in the triggerer when `deferrable`).

    :param execution_id: the WorkflowExecutionId (templated).
    :param project_id: the WeData project id (templated).
    :param task_ids: rerun these tasks (TaskIds of the workflow) instead (templated).
    :param rerun_timeout: seconds to wait for WeData to accept the rerun.
    :param tencentcloud_conn_id: the `tencentcloud` connection.

    The execution id is the return value and XCom `run_id`. See StartWorkflowRunOperator for
    `wait_for_completion`, `deferrable`, `poll_interval`, `timeout`, `success_states`,
    `failure_states`, `cancel_on_kill` (default on: KillTriggerWorkflowRuns) and `cancel_on_timeout`.
    """

    template_fields: Sequence[str] = (
        "execution_id",
        "project_id",
        "rerun_task_ids",
        "tencentcloud_conn_id",
        "region",
    )

    def __init__(
        self,
        *,
        execution_id: str,
        project_id: str | int,
        task_ids: Sequence[str] | None = None,
        rerun_timeout: float = 600.0,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=tencentcloud_conn_id, **kwargs)
        self.execution_id = execution_id
        self.project_id = project_id
        self.workflow_id = None
        self.rerun_task_ids = list(task_ids) if task_ids else None
        self.rerun_timeout = rerun_timeout

    def run_to_rerun(self) -> str:
        return str(self.execution_id)

    def follow(self, run: WorkflowRun) -> None:
        # KillTriggerWorkflowRuns names the workflow: the run says which one it belongs to.
        self.workflow_id = run.workflow_id


class WeDataGetTaskInstanceOperator(WeDataTaskInstanceTarget, GetWorkflowRunOperator):
    """Read a WeData task instance: the instance is the return value (and its one task run, `task_runs`).

    :param instance_key: the InstanceKey (templated).
    :param wedata_task_id / schedule_time / schedule_time_to / workflow_id: instead of the key,
        the task's instance of that schedule time (the newest match; see WeDataTaskInstanceSensor).
        Its key is pushed to XCom `run_id`; none found fails the task, naming what was looked for.
    :param project_id: the WeData project id (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection.
    """

    template_fields: Sequence[str] = TASK_INSTANCE_TEMPLATE_FIELDS
