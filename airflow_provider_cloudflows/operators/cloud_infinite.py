"""Operators for Tencent Cloud Infinite (CI) media workflows: read, list and trigger executions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_cloudflows.operators.base import (
    GetWorkflowRunOperator,
    StartWorkflowRunOperator,
    dag_run_start,
)
from airflow_provider_cloudflows.targets.cloud_infinite import (
    CloudInfiniteProduct,
    CloudInfiniteWorkflowExecutionTarget,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.runs import WorkflowRun


class CloudInfiniteGetWorkflowExecutionOperator(CloudInfiniteWorkflowExecutionTarget, GetWorkflowRunOperator):
    """Read a workflow execution: the execution is the return value; its nodes (one task run per
    node, with the CI JobId as `job_id`) go under `task_runs`.

    :param run_id: the execution's RunId (templated).
    :param bucket: BucketName-APPID; default the connection's `bucket` extra (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection.
    """

    template_fields: Sequence[str] = (*GetWorkflowRunOperator.template_fields, "bucket")


class CloudInfiniteListWorkflowExecutionsOperator(CloudInfiniteProduct, BaseOperator):
    """List a workflow's executions over every page; the list of runs is the return value.

    :param workflow_id: the workflow (templated).
    :param states: `Success`, `Failed`, `Running`, `Cancel`, `Pause`, comma-separated or a list
        (templated; default all).
    :param object_key: only executions of this object key (templated; CI's `name` filter).
    :param start / end: creation-time bounds (datetime or ISO string, templated).
    :param job_id: only executions started by this batch job (templated).
    :param order_by_time: `Desc` (newest first, default) or `Asc`.
    :param limit: stop after this many executions (default: all of them).
    :param bucket: BucketName-APPID; default the connection's `bucket` extra (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection.

    List items carry no task runs (CI's list API does not return them).
    """

    operator_extra_links = ()  # a list of executions: no one run to link to
    template_fields: Sequence[str] = (
        "workflow_id",
        "states",
        "object_key",
        "start",
        "end",
        "job_id",
        "bucket",
        "conn_id",
        "region",
    )

    def __init__(
        self,
        *,
        workflow_id: str,
        states: str | Sequence[str] | None = None,
        object_key: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        job_id: str | None = None,
        order_by_time: str = "Desc",
        limit: int | None = None,
        bucket: str | None = None,
        region: str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workflow_id = workflow_id
        self.states = states
        self.object_key = object_key
        self.start = start
        self.end = end
        self.job_id = job_id
        self.order_by_time = order_by_time
        self.limit = limit
        self.bucket = bucket
        self.region = region
        self.conn_id = tencentcloud_conn_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        runs = [
            run.model_dump(mode="json")
            for run in self.hook.list_runs(
                self.workflow_id,
                states=self.states or None,
                name=self.object_key or None,
                created_after=self.start or None,
                created_before=self.end or None,
                job_id=self.job_id or None,
                order_by_time=self.order_by_time,
                limit=self.limit,
                bucket=self.bucket,
            )
        ]
        self.log.info("Workflow %s has %d matching executions", self.workflow_id, len(runs))
        return runs


class CloudInfiniteTriggerWorkflowOperator(CloudInfiniteProduct, StartWorkflowRunOperator):
    """Run a CI workflow on one object (TriggerWorkflow); the RunId is the return value and `run_id`.

    :param workflow_id: the workflow to run (templated).
    :param object_key: the COS object key to process, e.g. `input/movie.mp4` (templated).
    :param bucket: BucketName-APPID; default the connection's `bucket` extra (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection.

    See StartWorkflowRunOperator for `wait_for_completion`, `deferrable`, `poll_interval`,
    `timeout`, `success_states` and `failure_states`. CI has no API to stop a workflow
    execution, so `on_kill` leaves it running (and logs that).
    """

    template_fields: Sequence[str] = (
        *StartWorkflowRunOperator.template_fields,
        "workflow_id",
        "object_key",
        "bucket",
    )

    def __init__(
        self,
        *,
        workflow_id: str,
        object_key: str,
        bucket: str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=tencentcloud_conn_id, **kwargs)
        self.workflow_id = workflow_id
        self.object_key = object_key
        self.bucket = bucket

    def start(self, context: Context) -> str:
        return self.hook.trigger(self.workflow_id, self.object_key, bucket=self.bucket)

    def find_marked_runs(self, context: Context, marker: str) -> list[WorkflowRun]:
        """The newest execution of the workflow on this object key since the DAG run began.

        TriggerWorkflow takes only the workflow and the object, so CI keeps no mark of ours: the
        execution is known by its object key and creation time (the list API's `name` and
        `startCreationTime`). Another trigger of the same workflow on the same object during
        this DAG run would be taken for this task's.
        """
        since = dag_run_start(context)
        if since is None:
            return []
        run = self.hook.newest_run(self.workflow_id, self.object_key, created_after=since, bucket=self.bucket)
        return [run] if run is not None else []
