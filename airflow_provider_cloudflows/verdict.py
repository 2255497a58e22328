"""Deciding whether a run is finished, and how: shared by poking sensors and triggers."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from airflow_provider_cloudflows.runs import FAILURE_STATES, RunState, WorkflowRun


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


def failure_message(run: WorkflowRun, run_noun: str = "run") -> str:
    """One line that names the run, its state, the vendor's error and the failed task runs."""
    parts = [f"{run.vendor} {run_noun} {run.run_id} ended in state {run.raw_state!r} ({run.state.value})"]
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
