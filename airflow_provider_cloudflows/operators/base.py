"""Operators shared by every vendor: read a run into XCom; start a run and optionally wait for it."""

from __future__ import annotations

import hashlib
import time
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, conf

from airflow_provider_cloudflows.errors import CloudflowsError
from airflow_provider_cloudflows.runs import WorkflowRun
from airflow_provider_cloudflows.targets.base import ProductTask
from airflow_provider_cloudflows.task_logs import (
    DEFAULT_MAX_LOG_BYTES,
    DEFAULT_MAX_LOG_TASK_RUNS,
    check_limits,
    show_failed_task_logs,
)
from airflow_provider_cloudflows.verdict import RunWatcher, Verdict, judge
from airflow_provider_cloudflows.xcom import RUN_ID_XCOM_KEY, RUN_XCOM_KEY, complete_from_event
from airflow_provider_cloudflows.xcom import TASK_RUNS_XCOM_KEY as TASK_RUNS_XCOM_KEY  # re-exported

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger


class GetWorkflowRunOperator(ProductTask, BaseOperator):
    """Read one run and its task runs: the run is the return value, task runs go under `task_runs`.

    A product's get operator is its run target (targets/) on top of this class, so it takes the
    same description of a run as the product's sensor instead of an id: it reads the newest
    matching run (its id goes to XCom `run_id`) and fails when none matches - a get operator does
    not wait; the sensor does.
    """

    template_fields: Sequence[str] = ("run_id", "conn_id", "region")

    def __init__(
        self,
        *,
        run_id: str | int | None = None,
        conn_id: str | None = None,
        region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = "" if run_id is None else run_id
        self.conn_id = conn_id or self.hook_class.default_conn_name
        self.region = region

    def execute(self, context: Context) -> dict[str, Any]:
        if self.by_description:
            found = self.find_run(context)
            if found is None:
                raise AirflowFailException(
                    f"no {self.hook.vendor} {self.run_noun} {self.describe_run()} exists; "
                    "use the product's sensor to wait for one"
                )
            self.run_id = self.run_id_of(found)
        else:
            self.check_run_id()
        run = self.hook.get_run(self.run_id, **self.run_params())
        self.log.info(
            "%s %s %s is %s (%s)",
            run.vendor,
            self.run_noun,
            run.run_id,
            run.raw_state,
            run.task_run_summary(),
        )
        return self.push_run(context, run)


# Start operators wait for their run by default, so they poll more often than a sensor
# (poke_interval 60 s): a run of a few seconds should not hold its task for half a minute.
START_POLL_INTERVAL_SECONDS = 10.0
START_TIMEOUT_SECONDS = 7 * 24 * 3600


class StartWorkflowRunOperator(ProductTask, BaseOperator):
    """Start a run; push its id (key `run_id` and return value); by default wait for it to finish.

    :param wait_for_completion: wait until the run finishes and fail if it fails (default True;
        False returns as soon as the run is started, e.g. for a sensor downstream).
    :param deferrable: wait in the triggerer instead of holding a worker slot
        (default: ``[operators] default_deferrable``, False unless configured).
    :param poll_interval: seconds between status checks while waiting (default 10; the first
        check is made at once).
    :param timeout: seconds to wait for completion before failing (default 7 days).
    :param success_states / failure_states: raw vendor states overriding the defaults.
    :param fetch_logs: when the awaited run fails, show in the task log, for each failed task
        run, the end of its vendor log (or the error detail the vendor reports) (default True).
    :param max_log_bytes: the most of each task run's log shown, from its end (default 64 KiB).
    :param max_log_task_runs: the most failed task runs whose log is shown (default 5).

    When waiting, the finished run is pushed under the key `run` and its task runs under `task_runs`.
    `on_kill` stops the remote run where the vendor has a stop API. A product's start operator is
    its product class (targets/) on top of this class, and implements `start` (and `stop`).
    """

    template_fields: Sequence[str] = ("conn_id", "region")

    def __init__(
        self,
        *,
        conn_id: str | None = None,
        region: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = START_POLL_INTERVAL_SECONDS,
        timeout: float = START_TIMEOUT_SECONDS,
        success_states: Sequence[str] | None = None,
        failure_states: Sequence[str] | None = None,
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
        self.conn_id = conn_id or self.hook_class.default_conn_name
        self.region = region
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.success_states = list(success_states) if success_states is not None else None
        self.failure_states = list(failure_states) if failure_states is not None else None
        self.started_run_id: str | int | None = None

    @abstractmethod
    def start(self, context: Context) -> str | int:
        """Start the remote run, marked with `run_marker(context)`, and return its id."""

    # -- never start twice ----------------------------------------------------------------------

    def run_marker(self, context: Context) -> str:
        """This task instance's mark on the runs it starts (the same on every try of it)."""
        return task_instance_marker(context)

    def find_marked_runs(self, context: Context, marker: str) -> list[WorkflowRun]:
        """The runs an earlier start of this task instance made, newest first ([] if none)."""
        return []

    def adopt_or_start(self, context: Context) -> list[str | int]:
        """The ids of the runs this try follows: adopted from an earlier try, or started now.

        None of the vendors' start APIs takes an idempotency token, and Airflow clears a task's
        XComs between tries, so each start is marked with the task instance (`run_marker`) and a
        later try - or a start whose answer was lost - first looks for that mark: a run still
        going is adopted and waited on, a run that succeeded is adopted as the result, and a run
        that failed is started afresh (that is what a retry asks for).
        """
        marker = self.run_marker(context)
        if _try_number(context) > 1:
            adopted = self._adopt(context, marker, "an earlier try")
            if adopted:
                return adopted
        try:
            return self.start_runs(context)
        except CloudflowsError as err:
            if not err.retryable:
                raise  # refused (validation, auth, not found): nothing was started
            # Timeout after sending, reset mid-answer, 5xx: the run may exist. Look before starting.
            self.log.warning(
                "The start request's outcome is unknown (%s); looking for a %s it may have started",
                err,
                self.run_noun,
            )
            adopted = self._adopt(context, marker, "the start request whose answer was lost")
            if adopted:
                return adopted
            self.log.info("No %s was started by that request; starting one", self.run_noun)
            return self.start_runs(context)

    def start_runs(self, context: Context) -> list[str | int]:
        """Start afresh: the ids of the new runs (one, unless a product starts several at once)."""
        run_id = self.start(context)
        self.log.info("Started %s %s %s", self.hook.vendor, self.run_noun, run_id)
        return [run_id]

    def _adopt(self, context: Context, marker: str, origin: str) -> list[str | int] | None:
        runs = self.find_marked_runs(context, marker)
        if not runs:
            self.log.info("No %s started by %s found (mark %s)", self.run_noun, origin, marker)
            return None
        verdicts = [
            judge(run, success_states=self.success_states, failure_states=self.failure_states) for run in runs
        ]
        ids = [run.run_id for run in runs]
        states = ", ".join(f"{run.run_id} {run.raw_state}" for run in runs)
        if Verdict.FAILED in verdicts:
            self.log.warning(
                "The %s started by %s failed (%s): starting a new one", self.run_noun, origin, states
            )
            return None
        if Verdict.WAITING in verdicts:
            self.log.info(
                "Adopted the %s started by %s, still going (%s): waiting for it instead of starting another",
                self.run_noun,
                origin,
                states,
            )
        else:
            self.log.info(
                "Adopted the %s started by %s, which succeeded (%s): not starting another",
                self.run_noun,
                origin,
                states,
            )
        return ids

    def stop(self, run_id: str | int) -> None:
        """Stop the remote run; vendors without a stop API leave it running (and say so)."""
        self.log.warning(
            "%s has no API to stop %s %s; it keeps running", self.hook.vendor, self.run_noun, run_id
        )

    def execute(self, context: Context) -> Any:
        run_id = self.adopt_or_start(context)[0]
        self.started_run_id = run_id
        context["ti"].xcom_push(key=RUN_ID_XCOM_KEY, value=run_id)
        if not self.wait_for_completion:
            return run_id
        deadline = time.time() + self.timeout
        if self.deferrable:
            self.defer(
                trigger=self.build_trigger(run_id, deadline),
                method_name="execute_complete",
                kwargs={"run_id": run_id},
                timeout=timedelta(seconds=self.timeout + 60),
            )
        return self._wait(context, run_id, deadline)

    def build_trigger(self, run_id: str | int, deadline: float) -> WorkflowRunTrigger:
        # Imported here: airflow.triggers.base costs DAG parsing ~40 ms and only deferring needs it.
        from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

        return WorkflowRunTrigger.for_task(
            self, run_id=run_id, poll_interval=self.poll_interval, deadline=deadline
        )

    def _wait(self, context: Context, run_id: str | int, deadline: float) -> Any:
        watcher = RunWatcher(self.run_noun, self.success_states, self.failure_states)
        last = "no successful read"
        while True:
            try:
                run = self.hook.get_run(run_id, **self.run_params())
            except CloudflowsError as err:
                # The hook has already retried this read; like the sensor, ride out an outage
                # (network, 5xx, throttling) until the timeout, and fail on anything else.
                if not watcher.polls_again(err, run_id, self.log):
                    raise
                last = f"last error: {err}"
            else:
                verdict = watcher.watch(run, self.log)
                if verdict is not Verdict.WAITING:
                    context["ti"].xcom_push(key=RUN_XCOM_KEY, value=self.push_run(context, run))
                    if verdict is Verdict.FAILED:
                        show_failed_task_logs(self, run)
                        raise AirflowFailException(self.record_failure(watcher.failure_message(run)))
                    return run_id
                last = f"last state {run.raw_state}"
            if time.time() >= deadline:
                raise AirflowFailException(
                    self.record_failure(
                        f"{self.run_noun} {run_id} did not finish within {self.timeout:.0f} s ({last})"
                    )
                )
            time.sleep(self.poll_interval)

    def execute_complete(
        self, context: Context, event: dict[str, Any], run_id: str | int | None = None
    ) -> Any:
        self.record_event(event)
        if event.get("run"):
            # The same XComs as when waiting in the worker: run, task runs and the console link.
            run = WorkflowRun.model_validate(event["run"])
            context["ti"].xcom_push(key=RUN_XCOM_KEY, value=self.push_run(context, run))
            if event.get("status") == "failure":
                # On the worker, never in the triggerer: reading logs is a task's job.
                show_failed_task_logs(self, run)
        if event.get("status") == "timeout":
            raise AirflowFailException(event.get("message", "timed out"))
        complete_from_event(self, event)
        return run_id if run_id is not None else event.get("run_id")

    def on_kill(self) -> None:
        if self.started_run_id is not None:
            self.stop(self.started_run_id)


def task_instance_marker(context: Context) -> str:
    """A short stable digest of the task instance: dag id, task id, run id and map index.

    Every try of one task instance gets the same marker; any other task instance another one.
    """
    ti = context.get("ti")
    parts = [getattr(ti, name, None) for name in ("dag_id", "task_id", "run_id")]
    map_index = getattr(ti, "map_index", -1)
    parts.append(map_index if isinstance(map_index, int) else -1)
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"airflow-{digest[:24]}"


def _try_number(context: Context) -> int:
    number = getattr(context.get("ti"), "try_number", 1)
    return number if isinstance(number, int) and not isinstance(number, bool) else 1


def dag_run_start(context: Context) -> datetime | None:
    """When the DAG run began (a lower bound on when any try of its tasks started a run)."""
    start = getattr(context.get("dag_run"), "start_date", None)
    if not isinstance(start, datetime):
        return None
    # A little slack for the vendor's clock.
    return start - timedelta(minutes=5)
