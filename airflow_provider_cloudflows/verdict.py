"""Deciding whether a run is finished, and how; watching one run: shared by sensors, triggers, operators."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_cloudflows.errors import EndpointUnreachableError
from airflow_provider_cloudflows.runs import FAILURE_STATES, RunState, WorkflowRun

if TYPE_CHECKING:
    from airflow_provider_cloudflows.errors import CloudflowsError


class Verdict(StrEnum):
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def judge(
    run: WorkflowRun,
    *,
    success_states: Collection[str] | None = None,
    failure_states: Collection[str] | None = None,
    fail_on_pause: bool = False,
) -> Verdict:
    """Judge a run by its raw state first (the user's overrides), then by its normalized state.

    `failure_states` wins over everything (so WeData's skipped runs can be made failures);
    when `success_states` is given, a run that finished in any other state is a failure rather
    than something to wait on forever.
    """
    raw = run.raw_state or ""
    if failure_states and raw in failure_states:
        return Verdict.FAILED
    if success_states is not None and raw in success_states:
        return Verdict.SUCCEEDED
    if run.state.is_terminal:
        if success_states is None and run.state is RunState.SUCCEEDED:
            return Verdict.SUCCEEDED
        return Verdict.FAILED
    if fail_on_pause and run.state is RunState.PAUSED:
        return Verdict.FAILED
    return Verdict.WAITING


def failure_message(
    run: WorkflowRun,
    run_noun: str = "run",
    *,
    success_states: Collection[str] | None = None,
    failure_states: Collection[str] | None = None,
    fail_on_pause: bool = False,
) -> str:
    """One line that names the run, its state, the vendor's error and the failed task runs.

    The state's gloss says why it is a failure, following the same overrides as `judge`: a raw
    state named in `failure_states` is "a failure by failure_states", not the "(succeeded)" of
    the vendor's table (WeData's SKIPED); a finished state outside `success_states` says so.
    """
    raw = run.raw_state or ""
    if failure_states and raw in failure_states:
        why = "a failure by failure_states"
    elif success_states is not None and run.state.is_terminal and raw not in success_states:
        why = f"{run.state.value}, not in success_states"
    elif fail_on_pause and run.state is RunState.PAUSED:
        why = "paused, a failure by fail_on_pause"
    else:
        why = run.state.value
    parts = [f"{run.vendor} {run_noun} {run.run_id} ended in state {run.raw_state!r} ({why})"]
    if run.error_code or run.error_message:
        parts.append(f"error {run.error_code or '-'}: {run.error_message or '-'}")
    failed = [t for t in run.task_runs if t.state in FAILURE_STATES]
    if failed:
        names = ", ".join(
            f"{t.name or t.task_run_id} ({t.raw_state}{': ' + t.error_code if t.error_code else ''})"
            for t in failed[:20]
        )
        more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
        parts.append(f"failed task runs: {names}{more}")
    if run.task_runs:
        parts.append(run.task_run_summary())
    return "; ".join(parts)


@dataclass(slots=True)
class RunWatcher:
    """One run, read again and again: the sensor, the trigger and the start operators each hold one.

    `watch` judges a read of the run (the user's `success_states` / `failure_states` overrides and
    `fail_on_pause`, see `judge`) and, while the run is not finished, logs its progress - raw
    state and task-run summary, "RUNNING (3/5 task runs succeeded)" - once per change, however
    often it is polled. Sensors name the vendor in that line and warn when a run is paused
    (`names_vendor`, `warns_on_pause`); the trigger and the start operators do not.
    """

    run_noun: str = "run"
    success_states: Collection[str] | None = None
    failure_states: Collection[str] | None = None
    fail_on_pause: bool = False
    names_vendor: bool = False
    warns_on_pause: bool = False
    _last_progress: str | None = field(default=None, init=False, repr=False, compare=False)
    last_error: CloudflowsError | None = field(default=None, init=False, repr=False, compare=False)

    def watch(self, run: WorkflowRun, log: Any) -> Verdict:
        """The verdict on this read of the run; logs the run's progress when it has changed."""
        verdict = judge(
            run,
            success_states=self.success_states,
            failure_states=self.failure_states,
            fail_on_pause=self.fail_on_pause,
        )
        if verdict is Verdict.WAITING:
            self._log_progress(run, log)
        return verdict

    def failure_message(self, run: WorkflowRun) -> str:
        return failure_message(
            run,
            self.run_noun,
            success_states=self.success_states,
            failure_states=self.failure_states,
            fail_on_pause=self.fail_on_pause,
        )

    def polls_again(
        self, err: CloudflowsError, run_id: str | int, log: Any, *, answered_before: bool = False
    ) -> bool:
        """Whether a read that failed (after the hook's own retries) is worth another poll.

        A passing outage (network, 5xx, throttling) must not fail a wait that the timeout still
        bounds, so it is logged and the caller polls again; any other error ends the wait. An
        endpoint that never answered (unknown host, closed port) ends it too, unless the caller
        knows it answered earlier in this task (`answered_before`): then it is an outage.
        """
        self.last_error = err
        if not err.retryable:
            return False
        if isinstance(err, EndpointUnreachableError) and not answered_before:
            return False
        log.warning("Polling %s %s failed, will poll again: %s", self.run_noun, run_id, err)
        return True

    def timeout_message(self, message: str) -> str:
        """A timeout's message, ending with the last error a poll met (if one did)."""
        if self.last_error is None:
            return message
        return f"{message}; the last error: {self.last_error}"

    def _log_progress(self, run: WorkflowRun, log: Any) -> None:
        progress = f"{run.raw_state} ({run.task_run_summary()})"
        if progress == self._last_progress:
            return
        self._last_progress = progress
        name = f"{run.vendor} {self.run_noun}" if self.names_vendor else self.run_noun
        if self.warns_on_pause and run.state is RunState.PAUSED:
            log.warning(
                "%s %s is paused; it will not progress until resumed in the console%s",
                name,
                run.run_id,
                "" if self.fail_on_pause else " (set fail_on_pause=True to fail instead)",
            )
        else:
            log.info("%s %s is %s", name, run.run_id, progress)
