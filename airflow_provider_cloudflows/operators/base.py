"""Operators shared by every vendor: read a run into XCom; start a run and optionally wait for it."""

from __future__ import annotations

import hashlib
import time
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
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
from airflow_provider_cloudflows.verdict import RunWatcher, Verdict, judge
from airflow_provider_cloudflows.xcom import (
    RUN_ID_XCOM_KEY,
    RUN_XCOM_KEY,
    complete_from_event,
    push_console_url,
)
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
    :param cancel_on_kill: stop the run this task started when the task is killed - marked failed
        or success, or cleared, while it waits in the worker or (Airflow 3.3+) deferred in the
        triggerer. Default: where the vendor can stop a run (DataWorks, WeData); ICE and Cloud
        Infinite cannot, and refuse True.
    :param cancel_on_timeout: stop the run when the task's own `timeout` (or Airflow's
        `execution_timeout`) ends the wait, in the worker or deferred (default False: the run
        goes on and only the Airflow task fails). Refused where the vendor cannot stop a run.
    :param repair_on_retry: when a retry finds that the run of an earlier try failed, rerun only
        that run's failed task runs and wait for it, instead of starting a new run (default
        False; DataWorks and WeData only).

    When waiting, the finished run is pushed under the key `run` and its task runs under `task_runs`.
    A product's start operator is its product class (targets/) on top of this class, and
    implements `start` (and, for a product that can stop runs, `stop_params`; that can rerun
    failed task runs, `rerun`).
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
        cancel_on_kill: bool | None = None,
        cancel_on_timeout: bool = False,
        repair_on_retry: bool = False,
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
        self._refuse_impossible(
            cancel_on_kill=bool(cancel_on_kill),
            cancel_on_timeout=cancel_on_timeout,
            repair_on_retry=repair_on_retry,
        )
        self.cancel_on_kill = self.can_stop if cancel_on_kill is None else bool(cancel_on_kill)
        self.cancel_on_timeout = bool(cancel_on_timeout)
        self.repair_on_retry = bool(repair_on_retry)
        # Set when Airflow's execution_timeout interrupted the wait (on_kill follows it).
        self._timed_out = False
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

    # -- what the vendor can do -------------------------------------------------------------------

    @property
    def can_stop(self) -> bool:
        """Whether the product declares a stop API (a product without a declaration stops in `stop`)."""
        product = getattr(type(self), "cloud_product", None)
        return True if product is None else product.can_stop

    @property
    def can_rerun(self) -> bool:
        product = getattr(type(self), "cloud_product", None)
        return False if product is None else product.can_rerun

    def _refuse_impossible(self, **asked: bool) -> None:
        """An option the vendor's API cannot honour is refused when the DAG is parsed, not ignored."""
        product = getattr(type(self), "cloud_product", None)
        vendor = product.name if product else "this vendor"
        for option, wanted in asked.items():
            possible = self.can_rerun if option == "repair_on_retry" else self.can_stop
            if wanted and not possible:
                api = "rerun the failed tasks of" if option == "repair_on_retry" else "stop"
                raise ValueError(
                    f"{option}=True cannot be honoured: {vendor} has no API to {api} a {self.run_noun}; "
                    f"remove {option} from task {self.task_id!r}"
                )

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
            adopted = self._adopt(context, marker, EARLIER_TRY)
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
            if self.repair_on_retry and origin == EARLIER_TRY:
                self.log.warning(
                    "The %s started by %s failed (%s): rerunning its failed task runs (repair_on_retry)",
                    self.run_noun,
                    origin,
                    states,
                )
                for run, verdict in zip(runs, verdicts, strict=True):
                    if verdict is Verdict.FAILED:
                        self.rerun_once(context, run)
                return ids
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

    # -- rerunning failed task runs ---------------------------------------------------------------

    # The vendor action that requests a rerun: an error of any other action (the polls of its
    # result) means the rerun was accepted.
    rerun_action: str = ""

    def rerun(self, context: Context, run: WorkflowRun) -> None:
        """Ask the vendor to rerun the failed task runs of `run` and wait until it has accepted."""
        raise NotImplementedError(f"{self.run_noun}s cannot be rerun")

    def rerun_once(self, context: Context, run: WorkflowRun) -> None:
        """Rerun the failed task runs of `run`; a request whose answer was lost is not sent blindly again.

        The run is read first (with its task runs) so that a lost answer can be judged: a rerun that
        went through shows the run no longer failed, or a higher rerun count (`hook.rerun_count`).
        """
        run = self.hook.get_run(run.run_id, **self.run_params())
        before = self.hook.rerun_count(run)
        try:
            self.rerun(context, run)
        except CloudflowsError as err:
            if not err.retryable:
                raise
            if err.action != self.rerun_action:
                self.log.warning(
                    "%s %s: the rerun was accepted but its result could not be read (%s); waiting for the %s",
                    self.hook.vendor,
                    run.run_id,
                    err,
                    self.run_noun,
                )
                return
            self.log.warning(
                "The rerun request's outcome is unknown (%s); looking at %s %s",
                err,
                self.run_noun,
                run.run_id,
            )
            time.sleep(min(self.poll_interval, 5.0))
            again = self.hook.get_run(run.run_id, **self.run_params())
            verdict = judge(again, success_states=self.success_states, failure_states=self.failure_states)
            if verdict is not Verdict.FAILED or self.hook.rerun_count(again) > before:
                self.log.info("The rerun went through (%s is %s)", run.run_id, again.raw_state)
                return
            self.log.info(
                "%s %s was not rerun by that request; sending it once more", self.run_noun, run.run_id
            )
            self.rerun(context, run)
        self.log.info(
            "Rerunning the failed task runs of %s %s %s", self.hook.vendor, self.run_noun, run.run_id
        )

    # -- stopping ------------------------------------------------------------------------------

    def stop_params(self) -> dict[str, Any]:
        """JSON-safe arguments of `hook.stop_started` besides the run ids (also given to the trigger)."""
        return {}

    def stop_spec(self, run_ids: Sequence[str | int]) -> dict[str, Any] | None:
        """What the trigger needs to stop these runs when the task is killed; None: never stop them."""
        if not (self.cancel_on_kill and self.can_stop and run_ids):
            return None
        return {"run_ids": list(run_ids), "params": self.stop_params()}

    def stop(self, run_id: str | int | Sequence[str | int]) -> None:
        """Stop the remote run(s); vendors without a stop API leave them running (and say so)."""
        ids = list(run_id) if isinstance(run_id, list | tuple) else [run_id]
        if not self.can_stop:
            self.log.warning(
                "%s has no API to stop %s %s; it keeps running",
                self.hook.vendor,
                self.run_noun,
                ", ".join(map(str, ids)),
            )
            return
        result = self.hook.stop_started(ids, **self.stop_params())
        if result.stopped:
            self.log.info(
                "Stopped %s %s %s", self.hook.vendor, self.run_noun, ", ".join(map(str, result.stopped))
            )

    def started_runs(self) -> list[str | int]:
        """The runs this task started (or adopted from an earlier try of itself)."""
        return [] if self.started_run_id is None else [self.started_run_id]

    def remaining_runs(self, run_id: str | int) -> list[str | int]:
        """The runs still to wait for once the wait reaches `run_id` (one, unless a product starts several)."""
        return [run_id]

    def _stop_on_timeout(self, run_id: str | int) -> None:
        if self.cancel_on_timeout:
            self.log.info("cancel_on_timeout: stopping %s %s", self.run_noun, run_id)
            self._stop_all(self.remaining_runs(run_id))

    def run_failed(self, message: str) -> AirflowException:
        """The error a failed run ends the task with.

        Retrying cannot change a finished run, so it is AirflowFailException (no retry) - unless
        `repair_on_retry` is on: then a retry is what repairs the run, and the error allows it.
        """
        if self.repair_on_retry:
            return AirflowException(f"{message} (a retry reruns its failed task runs: repair_on_retry)")
        return AirflowFailException(message)

    def _stop_all(self, runs: list[str | int]) -> None:
        # `stop` takes one id (the single-run contract subclasses override) or a list.
        self.stop(runs[0] if len(runs) == 1 else runs)

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
            self,
            run_id=run_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            stop=self.stop_spec(self.remaining_runs(run_id)),
        )

    def _wait(self, context: Context, run_id: str | int, deadline: float) -> Any:
        try:
            return self._poll_until_done(context, run_id, deadline)
        except AirflowTaskTimeout:
            # Airflow's execution_timeout: Airflow calls on_kill next, which must tell it from a kill.
            self._timed_out = True
            raise

    def _poll_until_done(self, context: Context, run_id: str | int, deadline: float) -> Any:
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
                        raise self.run_failed(self.record_failure(watcher.failure_message(run)))
                    return run_id
                last = f"last state {run.raw_state}"
            if time.time() >= deadline:
                self._stop_on_timeout(run_id)
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
            self._stop_on_timeout(run_id if run_id is not None else event.get("run_id"))
            raise AirflowFailException(event.get("message", "timed out"))
        if event.get("status") == "failure":
            raise self.run_failed(event.get("message") or f"{self.run_noun} {event.get('run_id')} failed")
        complete_from_event(self, event)
        return run_id if run_id is not None else event.get("run_id")

    def on_kill(self) -> None:
        """The task was killed while waiting in the worker, or Airflow's execution_timeout ended it."""
        runs = self.started_runs()
        if not runs:
            return
        if self._timed_out:
            if self.cancel_on_timeout:
                self._stop_all(runs)
            else:
                self.log.info(
                    "The task timed out; %s %s keeps running (cancel_on_timeout is off)",
                    self.run_noun,
                    ", ".join(map(str, runs)),
                )
        elif self.cancel_on_kill or not self.can_stop:
            self._stop_all(runs)  # a vendor that cannot stop a run: `stop` says so
        else:
            self.log.info(
                "The task was killed; %s %s keeps running (cancel_on_kill is off)",
                self.run_noun,
                ", ".join(map(str, runs)),
            )


class RerunWorkflowRunOperator(StartWorkflowRunOperator):
    """Rerun the failed task runs of a finished run; push its id; by default wait for it to finish again.

    The run is read first. A failed run is rerun (only its failed task runs, as the product's
    rerun API allows) and followed; a run still going is followed without a rerun (an earlier try
    of this task may have rerun it: a rerun is never sent twice blindly); a run that succeeded has
    nothing to rerun and is the result. The run id is the return value and XCom `run_id`, its
    console URL goes under `console_url` at once. `cancel_on_kill` (default on) stops the rerun
    run when the task is killed. See StartWorkflowRunOperator for the waiting arguments.
    """

    def start(self, context: Context) -> str | int:
        return self.adopt_or_start(context)[0]

    def follow(self, run: WorkflowRun) -> None:
        """Take what the product needs from the run itself (its project, its workflow)."""

    def adopt_or_start(self, context: Context) -> list[str | int]:
        target = self.run_to_rerun()
        run = self.hook.get_run(target, **self.run_params())
        self.follow(run)
        push_console_url(context, self.hook.console_url(run))
        verdict = judge(run, success_states=self.success_states, failure_states=self.failure_states)
        if verdict is Verdict.FAILED:
            self.rerun_once(context, run)
        elif verdict is Verdict.WAITING:
            self.log.info(
                "%s %s is %s, not finished: nothing to rerun; waiting for it",
                self.run_noun,
                run.run_id,
                run.raw_state,
            )
        else:
            self.log.info("%s %s succeeded (%s): nothing to rerun", self.run_noun, run.run_id, run.raw_state)
        return [target]

    @abstractmethod
    def run_to_rerun(self) -> str | int:
        """The id of the run to rerun, as the DAG author gave it (templated)."""


EARLIER_TRY = "an earlier try"


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
