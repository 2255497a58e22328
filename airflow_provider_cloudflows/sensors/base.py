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
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_cloudflows.errors import CloudflowsError
from airflow_provider_cloudflows.runs import WorkflowRun
from airflow_provider_cloudflows.targets.base import ProductTask
from airflow_provider_cloudflows.task_logs import (
    DEFAULT_MAX_LOG_BYTES,
    DEFAULT_MAX_LOG_TASK_RUNS,
    check_limits,
    show_failed_task_logs,
)
from airflow_provider_cloudflows.verdict import RunWatcher, Verdict
from airflow_provider_cloudflows.xcom import CONSOLE_URL_XCOM_KEY as CONSOLE_URL_XCOM_KEY  # re-exported
from airflow_provider_cloudflows.xcom import RUN_ID_XCOM_KEY, complete_from_event, push_console_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger


class WorkflowRunSensor(ProductTask, BaseSensorOperator):
    """Wait for a workflow run to finish; succeed when it succeeds, fail (or skip) when it fails.

    A product's sensor is its run target (targets/) on top of this class: the target names the
    hook, the vendor's word for a run and the run's own arguments (`run_params()`).

    A run can also be named by what the DAG author knows instead of its id (the product's
    *description*: a workflow and a business date, a time window...). Then:

    - a run that does not exist yet is waited for (the sensor's timeout bounds it), never an error;
    - when several match, the newest is followed, and the log says how many matched and which;
    - the found id is pushed to XCom `run_id` and the wait goes on on that id: in poke mode it is
      kept in memory; in reschedule mode it is kept in Airflow's task state store (Airflow >= 3.3)
      so a later poke reads it back instead of looking again (older Airflow keeps nothing between
      reschedules - XComs are cleared at each one - so each poke looks again and follows the
      newest match); with `deferrable` the sensor looks on the worker, defers on a timer of
      `poke_interval` while nothing matches, and once a run is found defers to
      WorkflowRunTrigger with its id (a restarted triggerer keeps it);
    - `timeout` counts from the first look, across all deferrals and reschedules;
    - the found run is what the sensor returns, as for a given id. A retry looks again.

    :param run_id: the run to wait for (templated).
    :param conn_id: the Airflow connection id.
    :param success_states: raw vendor states that count as success, replacing the default.
    :param failure_states: raw vendor states that count as failure, checked first.
    :param deferrable: wait in the triggerer instead of a worker slot
        (default: ``[operators] default_deferrable``).
    :param region: overrides the connection's region.
    :param fetch_logs: when the run fails, show in the task log, for each failed task run, the
        end of its vendor log (or the error detail the vendor reports) (default True).
    :param max_log_bytes: the most of each task run's log shown, from its end (default 64 KiB).
    :param max_log_task_runs: the most failed task runs whose log is shown (default 5).

    On success the run (with its task runs) is the sensor's XCom return value.
    """

    template_fields: Sequence[str] = ("run_id", "conn_id", "region", "success_states", "failure_states")
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        run_id: str | int | None = None,
        conn_id: str | None = None,
        region: str | None = None,
        success_states: Sequence[str] | None = None,
        failure_states: Sequence[str] | None = None,
        fail_on_pause: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        fetch_logs: bool = True,
        max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
        max_log_task_runs: int = DEFAULT_MAX_LOG_TASK_RUNS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_limits(max_log_bytes, max_log_task_runs)
        self.fetch_logs = fetch_logs
        self.max_log_bytes = max_log_bytes
        self.max_log_task_runs = max_log_task_runs
        self.run_id = "" if run_id is None else run_id
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
        if self.by_description and not _named(self.run_id):
            found = self._look(context)
            if found is None:
                return PokeReturnValue(is_done=False)
            self.run_id = found
        else:
            self.check_run_id()
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

    # -- finding the run by its description ------------------------------------------------------

    def _look(self, context: Context) -> str | int | None:
        """The id of the run the description names: the one an earlier poke found, or a new look."""
        if (stored := self._stored_run_id(context)) is not None:
            self.log.info("Following %s %s, found by an earlier poke of this try", self.run_noun, stored)
            if (ti := context.get("ti")) is not None:
                ti.xcom_push(key=RUN_ID_XCOM_KEY, value=stored)
            return stored
        try:
            run = self.find_run(context)
        except CloudflowsError as err:
            if self.watcher.polls_again(
                err, self.describe_run(), self.log, answered_before=self._answered_before(context)
            ):
                return None
            raise
        if run is None:
            return None
        run_id = self.run_id_of(run)
        self._store_run_id(context, run_id)
        return run_id

    def _state_key(self, context: Context) -> str:
        ti = context.get("ti")
        return f"{RUN_ID_STATE_KEY}_try_{getattr(ti, 'try_number', 0)}"

    def _state_store(self, context: Context) -> Any:
        # Only a reschedule poke needs the id to outlive its process; the store is Airflow >= 3.3's.
        return context.get("task_state_store") if self.reschedule else None

    def _stored_run_id(self, context: Context) -> str | int | None:
        store = self._state_store(context)
        return store.get(self._state_key(context)) if store is not None else None

    def _store_run_id(self, context: Context, run_id: str | int) -> None:
        if (store := self._state_store(context)) is not None:
            store.set(self._state_key(context), run_id)

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
            show_failed_task_logs(self, run)
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
        if self.deferrable and self.by_description and not _named(self.run_id):
            return self._look_then_defer(context, deadline=time.time() + self.timeout)
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

    def resume_looking(self, context: Context, event: Any = None, deadline: float | None = None) -> Any:
        """Called when the timer set while no run matched fires: look again, by the same deadline."""
        return self._look_then_defer(context, deadline=deadline or time.time() + self.timeout)

    def _look_then_defer(self, context: Context, *, deadline: float) -> Any:
        """Look on the worker; defer on a timer while nothing matches, then to the trigger with the id."""
        found = self._look(context)
        remaining = deadline - time.time()
        if found is None:
            if remaining <= 0:
                message = self.watcher.timeout_message(
                    f"no {self.hook.vendor} {self.run_noun} {self.describe_run()} appeared within "
                    f"{self.timeout:.0f} s"
                )
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            self.defer(
                trigger=_timer(min(self.poke_interval, remaining)),
                method_name="resume_looking",
                kwargs={"deadline": deadline},
                timeout=timedelta(seconds=remaining + 60),
            )
        self.run_id = found
        if (result := self.poke(context)).is_done:
            return result.xcom_value
        self.defer(
            trigger=self.build_trigger(deadline=deadline),
            method_name="execute_complete",
            timeout=timedelta(seconds=max(remaining, 0) + 60),
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
        if event.get("status") == "failure" and event.get("run"):
            # On the worker, never in the triggerer: reading logs is a task's job, not a waiter's.
            show_failed_task_logs(self, WorkflowRun.model_validate(event["run"]))
        return complete_from_event(self, event)


# The task state store key (with the try number) under which a reschedule poke keeps the found id.
RUN_ID_STATE_KEY = "cloudflows_run_id"


def _named(run_id: Any) -> bool:
    return run_id is not None and str(run_id).strip() != ""


def _timer(seconds: float) -> Any:
    try:
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    except ImportError:  # Airflow 2 without the standard provider
        from airflow.triggers.temporal import TimeDeltaTrigger
    return TimeDeltaTrigger(timedelta(seconds=max(seconds, 0.0)))
