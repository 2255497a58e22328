"""Wait for a Tencent Cloud WeData workflow run (workflow-scheduling projects) to finish."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.links.wedata import WeDataWorkflowRunLink
from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor

if TYPE_CHECKING:
    pass


class TencentCloudConnIdAlias:
    """`tencentcloud_conn_id` is the public (templated) name of the base classes' `conn_id`."""

    conn_id: str

    @property
    def tencentcloud_conn_id(self) -> str:
        return self.conn_id

    @tencentcloud_conn_id.setter
    def tencentcloud_conn_id(self, value: str) -> None:
        self.conn_id = value


class ExecutionIdAlias:
    """`execution_id` (WeData's WorkflowExecutionId) is the public name of the base classes' `run_id`."""

    run_id: str

    @property
    def execution_id(self) -> str:
        return self.run_id

    @execution_id.setter
    def execution_id(self, value: str) -> None:
        self.run_id = value


class WeDataWorkflowRunSensor(ExecutionIdAlias, TencentCloudConnIdAlias, WorkflowRunSensor):
    """Wait until a WeData workflow run finishes; fail if it fails (GetTriggerWorkflowRun).

    :param execution_id: the WorkflowExecutionId (templated).
    :param project_id: the WeData project id (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection (region required; endpoint optional).
    :param success_states / failure_states: raw WeData states overriding the defaults. By default a
        skipped run (``SKIPED``) succeeds; pass ``failure_states=["SKIPED"]`` to fail on it.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Also takes every WorkflowRunSensor / BaseSensorOperator argument (poke_interval, timeout,
    mode, soft_fail, region...). On success the run, with its task runs, is the XCom return value.
    """

    hook_class_path = "airflow_provider_cloudflows.hooks.wedata.WeDataHook"
    run_noun = "workflow run"
    template_fields: Sequence[str] = (
        "execution_id",
        "project_id",
        "tencentcloud_conn_id",
        "region",
        "success_states",
        "failure_states",
    )
    operator_extra_links = (WeDataWorkflowRunLink(),)

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

    def run_params(self) -> dict[str, Any]:
        return {"project_id": str(self.project_id)}
