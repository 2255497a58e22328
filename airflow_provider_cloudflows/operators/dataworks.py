"""Operators for Alibaba Cloud DataWorks workflow instances: read one; create some and wait for them."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.operators.base import (
    GetWorkflowRunOperator,
    RerunWorkflowRunOperator,
    StartWorkflowRunOperator,
)
from airflow_provider_cloudflows.targets.dataworks import DataWorksProduct, DataWorksWorkflowInstanceTarget
from airflow_provider_cloudflows.xcom import INSTANCE_IDS_XCOM_KEY, RUN_ID_XCOM_KEY, push_console_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.runs import WorkflowRun

# The instance tag that carries the Airflow task instance's mark; business dates are midnight
# Beijing time; a retry looks at most this many business dates of a backfill.
MARKER_TAG = "airflow-task-instance"
BEIJING = timezone(timedelta(hours=8))
MAX_LOOKUP_DATES = 31


def _bizdate_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp() * 1000)


class DataWorksGetWorkflowInstanceOperator(DataWorksWorkflowInstanceTarget, GetWorkflowRunOperator):
    """Read a workflow instance: the instance is the return value, its task instances go under `task_runs`.

    :param instance_id: the workflow instance id (templated).
    :param workflow_id / biz_date / project_id / instance_type: instead of the id, the newest
        instance of the workflow for that business date (as DataWorksWorkflowInstanceSensor;
        fails when none exists).
    :param alibabacloud_conn_id: the `alibabacloud` connection.
    :param with_task_runs: also read every task instance (default True).
    """

    template_fields: Sequence[str] = (
        *GetWorkflowRunOperator.template_fields,
        "workflow_id",
        "biz_date",
        "project_id",
        "instance_type",
    )

    def __init__(self, *, with_task_runs: bool = True, **kwargs: Any) -> None:
        # One read: unlike the sensor's, its task instances are read whatever the instance's state.
        super().__init__(with_task_runs=with_task_runs, **kwargs)


class DataWorksRunControl:
    """Stopping and rerunning DataWorks workflow instances: what the create and rerun operators share."""

    rerun_action = "RerunWorkflowInstances"
    rerun_downstream: bool = True
    rerun_task_ids: list[int | str] | None = None
    rerun_timeout: float = 600.0
    task_id: str
    poll_interval: float

    def stop_params(self) -> dict[str, Any]:
        return {"comment": f"stopped by Airflow task {self.task_id}"}

    def rerun(self, context: Context, run: WorkflowRun) -> None:
        """RerunWorkflowInstances of this one instance, its failed task instances (and downstream)."""
        instance = run.detail
        self.hook.rerun_failed(  # type: ignore[attr-defined]
            project_id=instance.get("ProjectId"),
            workflow_id=instance.get("WorkflowId"),
            instance_ids=[run.run_id],
            instance_type=instance.get("Type") or "ManualWorkflow",
            env_type=instance.get("EnvType"),
            rerun_downstream=self.rerun_downstream,
            task_ids=self.rerun_task_ids,
            poll_interval=min(self.poll_interval, 5.0),
            rerun_timeout=self.rerun_timeout,
        )


class DataWorksCreateWorkflowInstancesOperator(
    DataWorksRunControl, DataWorksProduct, StartWorkflowRunOperator
):
    """Create DataWorks workflow instances (CreateWorkflowInstances) and optionally wait for all of them.

    DataWorks creates a list of instances (one for a ManualWorkflow; one per business date for a
    data backfill). The ids are the return value and go under the key `instance_ids`; the first
    one also goes under `run_id` for DAGs that start a single instance. With
    `wait_for_completion`, the operator waits for every instance in turn (in the triggerer when
    `deferrable`) and fails on the first one that fails, naming its failed task instances; the
    last instance read is pushed under `run` and its task instances under `task_runs`.
    Killing the task stops the instances it created (`cancel_on_kill`, also while deferred);
    `cancel_on_timeout` stops them when the wait times out; with `repair_on_retry` a retry reruns
    the failed task instances of the instances an earlier try created (RerunWorkflowInstances;
    DataWorks reruns only `ManualWorkflow` instances this way) instead of creating new ones.

    :param project_id: DataWorks workspace (project) id (templated).
    :param workflow_id: the workflow id; 1 for scheduled tasks (templated).
    :param name: the name of the new instances (templated; default "airflow-<dag>-<task>-<run>").
    :param instance_type: `ManualWorkflow` (default), `SupplementData`, `Manual`, `SmokeTest` or
        `TriggerWorkflow`.
    :param env_type: `Prod` or `Dev`.
    :param default_run_properties, periods, task_parameters, workflow_parameters, tags, comment:
        passed to CreateWorkflowInstances as DataWorks documents them (dicts are sent as JSON).
    :param create_timeout: seconds to wait for DataWorks to finish creating the instances.

    See StartWorkflowRunOperator for `wait_for_completion`, `deferrable`, `poll_interval`,
    `timeout`, `success_states`, `failure_states`, `cancel_on_kill`, `cancel_on_timeout` and
    `repair_on_retry`.
    """

    template_fields: Sequence[str] = (
        *StartWorkflowRunOperator.template_fields,
        "project_id",
        "workflow_id",
        "name",
        "instance_type",
        "env_type",
        "comment",
        "default_run_properties",
        "periods",
        "task_parameters",
        "workflow_parameters",
    )

    def __init__(
        self,
        *,
        project_id: int | str,
        workflow_id: int | str,
        name: str | None = None,
        instance_type: str = "ManualWorkflow",
        env_type: str | None = None,
        comment: str | None = None,
        default_run_properties: Mapping[str, Any] | None = None,
        periods: Mapping[str, Any] | None = None,
        task_parameters: Mapping[str, Any] | str | None = None,
        workflow_parameters: Mapping[str, Any] | str | None = None,
        tags: list[dict[str, str]] | None = None,
        auto_start: bool | None = None,
        create_timeout: float = 600.0,
        alibabacloud_conn_id: str = "alibabacloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=alibabacloud_conn_id, **kwargs)
        self.project_id = project_id
        self.workflow_id = workflow_id
        self.name = name
        self.instance_type = instance_type
        self.env_type = env_type
        self.comment = comment
        self.default_run_properties = default_run_properties
        self.periods = periods
        self.task_parameters = task_parameters
        self.workflow_parameters = workflow_parameters
        self.tags = tags
        self.auto_start = auto_start
        self.create_timeout = create_timeout
        self.started_instance_ids: list[int] = []

    # -- creating -------------------------------------------------------------------------------

    def start_all(self, context: Context) -> list[int]:
        """Create the instances and return their ids."""
        ids = self.hook.start_runs(
            project_id=self.project_id,
            workflow_id=self.workflow_id,
            name=self.name or _default_name(context),
            instance_type=self.instance_type,
            env_type=self.env_type,
            auto_start=self.auto_start,
            comment=self.comment,
            default_run_properties=self.default_run_properties,
            periods=self.periods,
            task_parameters=self.task_parameters,
            workflow_parameters=self._workflow_parameters_for(context),
            # DataWorks keeps an instance's tags and filters ListWorkflowInstances by them: one
            # more carries the task instance's mark, so a retry can find these instances.
            tags=[*(self.tags or []), {"Key": MARKER_TAG, "Value": self.run_marker(context)}],
            poll_interval=min(self.poll_interval, 5.0),
            create_timeout=self.create_timeout,
        )
        self.started_instance_ids = ids
        return ids

    def _workflow_parameters_for(self, context: Context) -> Mapping[str, Any] | str | None:
        """The user's workflow parameters, with the task's OpenLineage ids when OpenLineage is on."""
        from airflow_provider_cloudflows.lineage import parent_run_ids, with_parent_run_ids

        ids = parent_run_ids(self, context)
        if not ids:
            return self.workflow_parameters
        document: Any = self.workflow_parameters
        if isinstance(document, str):
            with contextlib.suppress(ValueError):  # text that is no JSON stays text: warned below
                document = json.loads(document) if document.strip() else None
        if document is not None and not isinstance(document, Mapping):
            self.log.warning(
                "workflow_parameters is not a JSON object, so the instances are created without the "
                "task's OpenLineage ids"
            )
            return self.workflow_parameters
        return with_parent_run_ids(document, ids)

    def start(self, context: Context) -> int:
        """The single-run contract of the base class: the first created instance."""
        return self.start_all(context)[0]

    def start_runs(self, context: Context) -> list[str | int]:
        ids = self.start_all(context)
        self.log.info("Created DataWorks workflow instances %s", ids)
        return list(ids)

    def find_marked_runs(self, context: Context, marker: str) -> list[WorkflowRun]:
        """The newest marked instance of each business date this operator creates instances for.

        ListWorkflowInstances needs the business date: the dates of `periods`, else yesterday or
        the day before in Beijing time (DataWorks gives a manual run yesterday's date).
        """
        runs = []
        for bizdate in self._bizdates():
            marked = self.hook.list_runs(
                project_id=self.project_id,
                biz_date=bizdate,
                workflow_id=self.workflow_id,
                tags=[{"Key": MARKER_TAG, "Value": marker}],
                page_size=10,
                limit=1,
            )
            runs += list(marked)
        return runs

    def _bizdates(self) -> list[int]:
        ranges = (self.periods or {}).get("BizDates") if isinstance(self.periods, Mapping) else None
        if not ranges:
            today = datetime.now(BEIJING).date()
            return [_bizdate_ms(today - timedelta(days=1)), _bizdate_ms(today - timedelta(days=2))]
        days: list[int] = []
        for r in ranges:
            try:
                day, end = date.fromisoformat(r["StartBizDate"]), date.fromisoformat(r["EndBizDate"])
            except (KeyError, TypeError, ValueError):
                continue
            while day <= end and len(days) < MAX_LOOKUP_DATES:
                days.append(_bizdate_ms(day))
                day += timedelta(days=1)
        return days

    def started_runs(self) -> list[str | int]:
        return list(self.started_instance_ids)

    def remaining_runs(self, run_id: str | int) -> list[str | int]:
        """This instance and those after it: the ones not yet waited out (earlier ones succeeded)."""
        ids = [int(i) for i in self.started_instance_ids]
        return list(ids[ids.index(int(run_id)) :]) if int(run_id) in ids else [run_id]

    # -- waiting --------------------------------------------------------------------------------

    def execute(self, context: Context) -> list[int]:
        ids = [int(i) for i in self.adopt_or_start(context)]
        self.started_instance_ids = ids
        self.started_run_id = ids[0]
        ti = context["ti"]
        ti.xcom_push(key=INSTANCE_IDS_XCOM_KEY, value=ids)
        ti.xcom_push(key=RUN_ID_XCOM_KEY, value=ids[0])
        # The extra link works before the instance is first read (and when nothing waits for it).
        push_console_url(context, self.hook.instance_console_url(ids[0], self.project_id))
        if not self.wait_for_completion:
            return ids
        deadline = time.time() + self.timeout
        if self.deferrable:
            self._defer_for(ids, 0, deadline)
        for instance_id in ids:
            self._wait(context, instance_id, deadline)
        return ids

    def _defer_for(self, ids: list[int], index: int, deadline: float) -> None:
        self.defer(
            trigger=self.build_trigger(ids[index], deadline),
            method_name="execute_complete",
            kwargs={"instance_ids": ids, "index": index, "deadline": deadline},
            timeout=timedelta(seconds=max(deadline - time.time(), 0) + 60),
        )

    def execute_complete(  # type: ignore[override]
        self,
        context: Context,
        event: dict[str, Any],
        instance_ids: list[int] | None = None,
        index: int = 0,
        deadline: float | None = None,
    ) -> Any:
        from airflow_provider_cloudflows.hooks.dataworks import parse_instance_id

        ids = [parse_instance_id(i) for i in instance_ids or [event.get("run_id")]]
        self.started_instance_ids = ids
        # Raises on failure or timeout; pushes the finished instance under `run` / `task_runs`.
        super().execute_complete(context, event, run_id=ids[index])
        if index + 1 < len(ids):
            self._defer_for(ids, index + 1, deadline if deadline is not None else time.time() + self.timeout)
        return ids


class DataWorksRerunWorkflowInstanceOperator(DataWorksRunControl, DataWorksProduct, RerunWorkflowRunOperator):
    """Rerun the failed task instances of a DataWorks workflow instance and, by default, wait for it.

    RerunWorkflowInstances with the instance's id, its failed task instances
    (`TaskInstanceStatuses` Failure) and, with `rerun_downstream`, the task instances downstream
    of them; GetRerunWorkflowInstancesResult until DataWorks reports the rerun done; then the
    instance is followed like a created one (in the triggerer when `deferrable`). DataWorks reruns
    `ManualWorkflow` instances this way (the API's only documented Type).

    :param instance_id: the workflow instance (templated); its project, workflow and type are read
        from DataWorks.
    :param rerun_downstream: also rerun what depends on the failed task instances (default True;
        their downstream never ran).
    :param task_ids: rerun only task instances of these tasks of the workflow (task ids, templated).
    :param rerun_timeout: seconds to wait for DataWorks to accept the rerun.
    :param alibabacloud_conn_id: the `alibabacloud` connection.

    The instance id is the return value and XCom `run_id`; the finished instance goes under `run`,
    its task instances under `task_runs`. See StartWorkflowRunOperator for `wait_for_completion`,
    `deferrable`, `poll_interval`, `timeout`, `success_states`, `failure_states`,
    `cancel_on_kill` (default on) and `cancel_on_timeout`.
    """

    template_fields: Sequence[str] = (
        *StartWorkflowRunOperator.template_fields,
        "instance_id",
        "rerun_task_ids",
    )

    def __init__(
        self,
        *,
        instance_id: int | str,
        rerun_downstream: bool = True,
        task_ids: list[int | str] | None = None,
        rerun_timeout: float = 600.0,
        alibabacloud_conn_id: str = "alibabacloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=alibabacloud_conn_id, **kwargs)
        self.instance_id = instance_id
        self.rerun_downstream = rerun_downstream
        self.rerun_task_ids = list(task_ids) if task_ids else None
        self.rerun_timeout = rerun_timeout

    def run_to_rerun(self) -> int:
        from airflow_provider_cloudflows.hooks.dataworks import parse_instance_id

        return parse_instance_id(self.instance_id)


def _default_name(context: Context) -> str:
    ti = context.get("ti")
    parts = [
        "airflow",
        getattr(ti, "dag_id", None),
        getattr(ti, "task_id", None),
        getattr(ti, "run_id", None),
    ]
    return "-".join(str(p) for p in parts if p)[:128]
