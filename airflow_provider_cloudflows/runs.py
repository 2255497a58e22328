"""The vendor-neutral view of a workflow run: what every hook returns and every sensor judges."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)


class RunState(StrEnum):
    """Normalized run state. Vendors' raw states map onto these through one table per vendor."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # A raw state the mapping table does not know. Kept apart from RUNNING so nobody mistakes
    # it for progress; never terminal, so the sensor's timeout still bounds the wait.
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def is_success(self) -> bool:
        return self is RunState.SUCCEEDED


TERMINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})
FAILURE_STATES = frozenset({RunState.FAILED, RunState.CANCELLED})


class StateTable:
    """One vendor's explicit mapping from raw state strings to RunState.

    Unknown raw states map to UNKNOWN and are warned about once per (vendor, raw state) so that a
    vendor adding a state shows up in the logs without flooding a sensor that polls for hours.
    """

    _warned: set[tuple[str, str]] = set()

    def __init__(self, vendor: str, table: Mapping[str, RunState]) -> None:
        self.vendor = vendor
        self.table = dict(table)

    def __call__(self, raw: str | None) -> RunState:
        if raw is None or raw == "":
            return RunState.UNKNOWN
        state = self.table.get(raw)
        if state is None:
            key = (self.vendor, raw)
            if key not in StateTable._warned:
                StateTable._warned.add(key)
                log.warning(
                    "%s reported the state %r, which this provider does not know; treating it as "
                    "not finished (the sensor's timeout still applies)",
                    self.vendor,
                    raw,
                )
            return RunState.UNKNOWN
        return state

    def raw_states_for(self, *states: RunState) -> frozenset[str]:
        return frozenset(raw for raw, state in self.table.items() if state in states)


class _RunModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class TaskRun(_RunModel):
    """One node / task instance / job inside a workflow run."""

    task_run_id: str | None = None
    name: str | None = None
    task_type: str | None = None
    state: RunState
    raw_state: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    # The vendor's job id for this node where it has one (Cloud Infinite JobId, WeData JobId).
    job_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class WorkflowRun(_RunModel):
    """A workflow run as one vendor reported it, normalized; `detail` keeps the raw payload."""

    vendor: str
    run_id: str
    workflow_id: str | None = None
    name: str | None = None
    state: RunState
    raw_state: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    task_runs: list[TaskRun] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)

    def task_run_summary(self) -> str:
        """'3/5 task runs succeeded, 1 failed' — used in sensor progress logs and failures."""
        if not self.task_runs:
            return "no task runs reported"
        counts: dict[RunState, int] = {}
        for task in self.task_runs:
            counts[task.state] = counts.get(task.state, 0) + 1
        parts = [f"{counts.pop(RunState.SUCCEEDED, 0)}/{len(self.task_runs)} task runs succeeded"]
        parts += [f"{n} {state.value}" for state, n in sorted(counts.items(), key=lambda kv: kv[0].value)]
        return ", ".join(parts)

    def failed_task_runs(self) -> list[TaskRun]:
        return [t for t in self.task_runs if t.state in FAILURE_STATES]


@dataclass(frozen=True)
class StopResult:
    """What a vendor's stop API reported, per run id: stopped, or not stopped and why."""

    stopped: list[Any] = field(default_factory=list)
    failed: dict[Any, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def epoch_ms_to_datetime(value: int | str | None) -> datetime | None:
    """Vendors send epoch milliseconds as ints (DataWorks) or strings (WeData); 0/'' mean unset."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_datetime(value: str | None) -> datetime | None:
    """ISO-8601 variants the vendors use ('2025-01-01T00:00:00Z', '2019-07-07T12:12:12+0800')."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
