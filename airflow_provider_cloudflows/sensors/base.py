"""The sensor every vendor sensor is: poll one run until it finishes; poke, reschedule or deferred."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_cloudflows.errors import CloudflowsError
from airflow_provider_cloudflows.runs import WorkflowRun
from airflow_provider_cloudflows.targets.base import ProductTask
from airflow_provider_cloudflows.verdict import RunWatcher, Verdict
from airflow_provider_cloudflows.xcom import CONSOLE_URL_XCOM_KEY as CONSOLE_URL_XCOM_KEY  # re-exported
from airflow_provider_cloudflows.xcom import complete_from_event, push_console_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger


class WorkflowRunSensor(ProductTask, BaseSensorOperator):
    """Wait for a workflow run to finish; succeed when it succeeds, fail (or skip) when it fails.

    A product's sensor is its run target (targets/) on top of this class: the target names the
    hook, the vendor's word for a run and the run's own arguments (`run_params()`).

    :param run_id: the run to wait for (templated).
    :param conn_id: the Airflow connection id.
    :param success_states: raw vendor states that count as success, replacing the default.
    :param failure_states: raw vendor states that count as failure, checked first.
    :param deferrable: wait in the triggerer instead of a worker slot
        (default: ``[operators] default_deferrable``).
    :param region: overrides the connection's region.

    On success the run (with its task runs) is the sensor's XCom return value.
    """

    template_fields: Sequence[str] = ("run_id", "conn_id", "region", "success_states", "failure_states")
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        run_id: str | int,
        conn_id: str | None = None,
        region: str | None = None,
        success_states: Sequence[str] | None = None,
        failure_states: Sequence[str] | None = None,
        fail_on_pause: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.conn_id = conn_id or self.hook_class.default_conn_name
        self.region = region
        self.success_states = list(success_states) if success_states is not None else None
        self.failure_states = list(failure_states) if failure_states is not None else None
        self.fail_on_pause = fail_on_pause
        self.deferrable = deferrable
        self._console_url_pushed = False

    # -- polling ----------------------------------------------------------------------------------

    @cached_property
    def watcher(self) -> RunWatcher:
        # Built at the first poke, once the states (template fields) are rendered.
        return RunWatcher(
            self.run_noun,
            self.success_states,
            self.failure_states,
            self.fail_on_pause,
            names_vendor=True,
            warns_on_pause=True,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        try:
            run = self.hook.get_run(self.run_id, **self.run_params())
        except CloudflowsError as err:
            # The hook has already retried this poll; the sensor's timeout still bounds the wait.
            if self.watcher.polls_again(
                err, self.run_id, self.log, answered_before=self._answered_before(context)
            ):
                return PokeReturnValue(is_done=False)
            raise
        self._push_console_url(context, run)
        return self._evaluate(run)

    def _answered_before(self, context: Context) -> bool:
        """Whether the endpoint answered an earlier poke of this task in another process.

        In poke mode every poke runs in this process, and the hook knows what answered. In
        reschedule mode each poke is a new process: Airflow 3 counts the reschedules (none before
        the first poke); Airflow 2.11's context does not say, so a later poke is assumed.
        """
        if not self.reschedule:
            return False
        count = context.get("task_reschedule_count")
        return count is None or count > 0

    def _evaluate(self, run: WorkflowRun) -> PokeReturnValue:
        self.lineage_run = run
        verdict = self.watcher.watch(run, self.log)
        if verdict is Verdict.FAILED:
            # Retrying the sensor cannot change a finished remote run; soft_fail turns this into a skip.
            raise AirflowFailException(self.record_failure(self.watcher.failure_message(run)))
        if verdict is Verdict.SUCCEEDED:
            self.log.info(
                "%s %s %s finished in state %s (%s)",
                run.vendor,
                self.run_noun,
                run.run_id,
                run.raw_state,
                run.task_run_summary(),
            )
            return PokeReturnValue(is_done=True, xcom_value=run.model_dump(mode="json"))
        return PokeReturnValue(is_done=False)

    def _push_console_url(self, context: Context, run: WorkflowRun) -> None:
        if self._console_url_pushed:
            return
        push_console_url(context, self.hook.console_url(run))
        self._console_url_pushed = True

    # -- deferral ---------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as timeout:
                # Airflow's message says how long; ours adds why the polls were not answered.
                if self.watcher.last_error is None:
                    raise
                raise AirflowSensorTimeout(self.watcher.timeout_message(str(timeout))) from timeout
        # Check once first: a run that is already finished needs no trip through the triggerer.
        if (result := self.poke(context)).is_done:
            return result.xcom_value
        self.defer(
            trigger=self.build_trigger(deadline=time.time() + self.timeout),
            method_name="execute_complete",
            # A backstop only: the trigger's own deadline normally fires first, with a clearer event.
            timeout=timedelta(seconds=self.timeout + 60),
        )

    def build_trigger(self, *, deadline: float | None) -> WorkflowRunTrigger:
        # Imported here: airflow.triggers.base costs DAG parsing ~40 ms and only deferring needs it.
        from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

        return WorkflowRunTrigger.for_task(
            self,
            run_id=self.run_id,
            poll_interval=self.poke_interval,
            deadline=deadline,
            fail_on_pause=self.fail_on_pause,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        self.record_event(event)
        return complete_from_event(self, event)
