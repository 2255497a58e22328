"""Operators for Alibaba Cloud ICE workflow tasks: read one, or start one and optionally wait."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.operators.base import (
    GetWorkflowRunOperator,
    StartWorkflowRunOperator,
    dag_run_start,
)
from airflow_provider_cloudflows.targets.ice import IceProduct, IceWorkflowTaskTarget
from airflow_provider_cloudflows.xcom import push_console_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.hooks.ice import IceHook
    from airflow_provider_cloudflows.runs import WorkflowRun

# The UserData key that carries the Airflow task instance's mark, and how many of the
# workflow's recent tasks a later try reads to find it.
MARKER_KEY = "AirflowTaskInstance"
MARKED_SCAN_LIMIT = 500
USER_DATA_MAX_BYTES = 512  # as hooks/ice.py (not imported: DAG parsing imports no hook)


def marker_of(user_data: Any) -> str | None:
    if not isinstance(user_data, str):
        return None
    try:
        document = json.loads(user_data)
    except ValueError:
        return None
    value = document.get(MARKER_KEY) if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def _user_data_bytes(document: Mapping[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


def _with_lineage_ids(marked: dict[str, Any], lineage_ids: Mapping[str, str], log: Any) -> dict[str, Any]:
    """The marked UserData with as many of the OpenLineage ids as fit: both, the parent's, or none."""
    if not lineage_ids:
        return marked
    from airflow_provider_cloudflows.lineage import PARENT_ID_PARAM, with_parent_run_ids

    for ids in (lineage_ids, {k: v for k, v in lineage_ids.items() if k == PARENT_ID_PARAM}):
        document = with_parent_run_ids(marked, ids) or marked
        if _user_data_bytes(document) <= USER_DATA_MAX_BYTES:
            return document
    log.warning(
        "user_data leaves no room in ICE's %d bytes for the task's OpenLineage ids: the workflow "
        "task is started without them",
        USER_DATA_MAX_BYTES,
    )
    return marked


class IceGetWorkflowTaskOperator(IceWorkflowTaskTarget, GetWorkflowRunOperator):
    """Read an ICE workflow task: the task is the return value, its node results go under `task_runs`.

    :param workflow_task_id: the ICE TaskId (templated; `task_id` is the Airflow task's own id).
    :param workflow_id / created_after / created_before: instead of the id, the newest task of the
        workflow created in that window (as IceWorkflowTaskSensor; fails when none exists).
    :param alibabacloud_conn_id: the `alibabacloud` connection (templated).
    """

    template_fields: Sequence[str] = (
        "workflow_task_id",
        "alibabacloud_conn_id",
        "region",
        "workflow_id",
        "created_after",
        "created_before",
    )


class IceStartWorkflowOperator(IceProduct, StartWorkflowRunOperator):
    """Submit an ICE workflow task (StartWorkflow); push its TaskId; optionally wait for it.

    :param workflow_id: the workflow template id (templated).
    :param task_input: ``{"Type": "OSS" | "Media", "Media": "<url or media id>"}`` or that as JSON
        text (templated).
    :param user_data: JSON object or text of at most 512 bytes (templated).
    :param skip_input_verification: ask ICE not to check the input media.
    :param alibabacloud_conn_id: the `alibabacloud` connection (templated).
    :param wait_for_completion, deferrable, poll_interval, timeout, success_states, failure_states:
        see StartWorkflowRunOperator.

    The TaskId is the return value and is also pushed under the key `run_id`. ICE has no API to
    stop a classic workflow task, so killing this Airflow task leaves the ICE task running.
    """

    template_fields: Sequence[str] = (
        "workflow_id",
        "task_input",
        "user_data",
        "alibabacloud_conn_id",
        "region",
    )
    template_fields_renderers = {"task_input": "json", "user_data": "json"}

    def __init__(
        self,
        *,
        workflow_id: str,
        task_input: Mapping[str, Any] | str,
        user_data: Mapping[str, Any] | str | None = None,
        skip_input_verification: bool | None = None,
        alibabacloud_conn_id: str = "alibabacloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=alibabacloud_conn_id, **kwargs)
        self.workflow_id = workflow_id
        self.task_input = task_input
        self.user_data = user_data
        self.skip_input_verification = skip_input_verification

    def start(self, context: Context) -> str:
        from airflow_provider_cloudflows.lineage import parent_run_ids

        hook: IceHook = self.hook  # type: ignore[assignment]
        task_id = hook.start_run(
            self.workflow_id,
            self.task_input,
            self._marked_user_data(self.run_marker(context), parent_run_ids(self, context)),
            skip_input_verification=self.skip_input_verification,
        )
        # Link to the task at once, even when not waiting for it.
        push_console_url(context, hook.console_url_for(task_id))
        return task_id

    def _marked_user_data(
        self, marker: str, lineage_ids: Mapping[str, str] | None = None
    ) -> Mapping[str, Any] | str | None:
        """The user's UserData with this task instance's mark added (ICE keeps and lists it).

        The Airflow task's OpenLineage ids (`lineage_ids`, when OpenLineage is on) go in too, as
        far as ICE's 512 bytes leave room after the mark, which comes first.
        """
        if self.user_data is None:
            return _with_lineage_ids({MARKER_KEY: marker}, lineage_ids or {}, self.log)
        document: Any = self.user_data
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError:
                document = None
        if not isinstance(document, Mapping):
            self.log.warning(
                "user_data is not a JSON object, so the task is not marked: a retry of this Airflow "
                "task cannot find it and will start another"
            )
            return self.user_data
        marked = {**document, MARKER_KEY: marker}
        if _user_data_bytes(marked) > USER_DATA_MAX_BYTES:
            self.log.warning(
                "user_data leaves no room in ICE's %d bytes for the task's mark: a retry of this "
                "Airflow task cannot find it and will start another",
                USER_DATA_MAX_BYTES,
            )
            return self.user_data
        return _with_lineage_ids(marked, lineage_ids or {}, self.log)

    def find_marked_runs(self, context: Context, marker: str) -> list[WorkflowRun]:
        """ListWorkflowTasks of the workflow since the DAG run began, read back by UserData."""
        hook: IceHook = self.hook  # type: ignore[assignment]
        since = dag_run_start(context)
        for run in hook.list_runs(self.workflow_id, created_after=since, limit=MARKED_SCAN_LIMIT):
            if marker_of(run.detail.get("WorkflowTask", {}).get("UserData")) == marker:
                return [hook.get_run(run.run_id)]  # newest first: the latest start
        return []

    def stop(self, run_id: str | int) -> None:
        self.log.warning(
            "ICE has no API to stop a classic workflow task (StopAIWorkflowTask only applies to AI "
            "workflows): workflow task %s keeps running in ICE. Cancel it in the IMS console if needed.",
            run_id,
        )
