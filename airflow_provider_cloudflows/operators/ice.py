"""Operators for Alibaba Cloud ICE workflow tasks: read one, or start one and optionally wait."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.operators.base import GetWorkflowRunOperator, StartWorkflowRunOperator
from airflow_provider_cloudflows.targets.ice import IceProduct, IceWorkflowTaskTarget
from airflow_provider_cloudflows.xcom import push_console_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.hooks.ice import IceHook


class IceGetWorkflowTaskOperator(IceWorkflowTaskTarget, GetWorkflowRunOperator):
    """Read an ICE workflow task: the task is the return value, its node results go under `task_runs`.

    :param workflow_task_id: the ICE TaskId (templated; `task_id` is the Airflow task's own id).
    :param alibabacloud_conn_id: the `alibabacloud` connection (templated).
    """

    template_fields: Sequence[str] = ("workflow_task_id", "alibabacloud_conn_id", "region")


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
        hook: IceHook = self.hook  # type: ignore[assignment]
        task_id = hook.start_run(
            self.workflow_id,
            self.task_input,
            self.user_data,
            skip_input_verification=self.skip_input_verification,
        )
        # Link to the task at once, even when not waiting for it.
        push_console_url(context, hook.console_url_for(task_id))
        return task_id

    def stop(self, run_id: str | int) -> None:
        self.log.warning(
            "ICE has no API to stop a classic workflow task (StopAIWorkflowTask only applies to AI "
            "workflows): workflow task %s keeps running in ICE. Cancel it in the IMS console if needed.",
            run_id,
        )
