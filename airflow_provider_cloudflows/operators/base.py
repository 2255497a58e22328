"""Operators shared by every vendor: read a run into XCom; start a run and optionally wait for it."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, conf

from airflow_provider_cloudflows.runs import WorkflowRun
from airflow_provider_cloudflows.targets.base import ProductTask
from airflow_provider_cloudflows.verdict import RunWatcher, Verdict
from airflow_provider_cloudflows.xcom import RUN_ID_XCOM_KEY, RUN_XCOM_KEY, complete_from_event
from airflow_provider_cloudflows.xcom import TASK_RUNS_XCOM_KEY as TASK_RUNS_XCOM_KEY  # re-exported

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger


class GetWorkflowRunOperator(ProductTask, BaseOperator):
    """Read one run and its task runs: the run is the return value, task runs go under `task_runs`.

    A product's get operator is its run target (targets/) on top of this class.
    """

    template_fields: Sequence[str] = ("run_id", "conn_id", "region")

    def __init__(
        self, *, run_id: str | int, conn_id: str | None = None, region: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.conn_id = conn_id or self.hook_class.default_conn_name
        self.region = region

    def execute(self, context: Context) -> dict[str, Any]:
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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
        """Start the remote run and return its id."""

    def stop(self, run_id: str | int) -> None:
        """Stop the remote run; vendors without a stop API leave it running (and say so)."""
        self.log.warning(
            "%s has no API to stop %s %s; it keeps running", self.hook.vendor, self.run_noun, run_id
        )

    def execute(self, context: Context) -> Any:
        run_id = self.start(context)
        self.started_run_id = run_id
        self.log.info("Started %s %s %s", self.hook.vendor, self.run_noun, run_id)
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
        while True:
            run = self.hook.get_run(run_id, **self.run_params())
            verdict = watcher.watch(run, self.log)
            if verdict is not Verdict.WAITING:
                context["ti"].xcom_push(key=RUN_XCOM_KEY, value=self.push_run(context, run))
                if verdict is Verdict.FAILED:
                    raise AirflowFailException(watcher.failure_message(run))
                return run_id
            if time.time() >= deadline:
                raise AirflowFailException(
                    f"{self.run_noun} {run_id} did not finish within {self.timeout:.0f} s (last state {run.raw_state})"
                )
            time.sleep(self.poll_interval)

    def execute_complete(
        self, context: Context, event: dict[str, Any], run_id: str | int | None = None
    ) -> Any:
        if event.get("run"):
            # The same XComs as when waiting in the worker: run, task runs and the console link.
            run = WorkflowRun.model_validate(event["run"])
            context["ti"].xcom_push(key=RUN_XCOM_KEY, value=self.push_run(context, run))
        if event.get("status") == "timeout":
            raise AirflowFailException(event.get("message", "timed out"))
        complete_from_event(self, event)
        return run_id if run_id is not None else event.get("run_id")

    def on_kill(self) -> None:
        if self.started_run_id is not None:
            self.stop(self.started_run_id)
