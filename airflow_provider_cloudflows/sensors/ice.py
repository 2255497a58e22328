"""Wait for an Alibaba Cloud ICE workflow task (GetWorkflowTask) to finish."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.links.ice import IceWorkflowTaskLink
from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor

if TYPE_CHECKING:
    pass


class IceArgumentNames:
    """ICE's names for the base classes' `run_id` / `conn_id` (shared by the sensor and operators).

    The bases poll `run_id` with `conn_id`; DAG authors write `workflow_task_id` and
    `alibabacloud_conn_id`, and templating renders those names, so both read and write the same
    attributes.
    """

    run_id: Any
    conn_id: str

    @property
    def workflow_task_id(self) -> str:
        return self.run_id

    @workflow_task_id.setter
    def workflow_task_id(self, value: str) -> None:
        self.run_id = value

    @property
    def alibabacloud_conn_id(self) -> str:
        return self.conn_id

    @alibabacloud_conn_id.setter
    def alibabacloud_conn_id(self, value: str) -> None:
        self.conn_id = value


class IceWorkflowTaskSensor(IceArgumentNames, WorkflowRunSensor):
    """Succeed when the ICE workflow task succeeds (`Succeed`); fail when it ends `Failed` or `Canceled`.

    :param workflow_task_id: the ICE TaskId (templated). Named so because `task_id` is the
        Airflow task's own id.
    :param alibabacloud_conn_id: the `alibabacloud` connection (templated).
    :param region: overrides the connection's region.
    :param success_states / failure_states: raw ICE states overriding the defaults.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Modes: poke, reschedule (``mode="reschedule"``) or deferred (``deferrable=True``). On success the
    task (with one task run per workflow node) is the XCom return value. ICE only answers for
    tasks created within the last year.
    """

    hook_class_path = "airflow_provider_cloudflows.hooks.ice.IceHook"
    run_noun = "workflow task"
    template_fields: Sequence[str] = (
        "workflow_task_id",
        "alibabacloud_conn_id",
        "region",
        "success_states",
        "failure_states",
    )
    operator_extra_links = (IceWorkflowTaskLink(),)

    def __init__(
        self,
        *,
        workflow_task_id: str,
        alibabacloud_conn_id: str = "alibabacloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(run_id=workflow_task_id, conn_id=alibabacloud_conn_id, **kwargs)
