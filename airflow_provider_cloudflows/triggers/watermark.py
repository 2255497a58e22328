"""Where an event trigger is in a workflow's stream of finished runs, so each run is an event once.

The rule, for every vendor:

- `since` is a finish time: every run that finished at or before it has been judged already
  (reported or not counted). It starts at the watcher's start time (or `start_after`).
- `seen` holds the ids, with their finish times, of the counted runs already reported that
  finished after `since`.
- A run is an event when it is in a counted state, finished after `since` and is not in `seen`.
- After each listing `since` moves up to the newest finish time the listing showed, less the
  settle margin: a run that finished earlier than a run already reported but showed up in the
  listing later (a listing ordered by creation or schedule time, a run that ran long, a vendor
  slow to show a finished run) is still caught if it shows up within the margin. Ids that fall
  behind `since` leave `seen`, so the state stays as small as the runs of one margin.
- Each listing asks for the runs created since `since - lookback`: a run that ran longer than
  `lookback` before it finished is outside the window and is not an event.

Finish times come from the vendor's own clock (only `start` is the local clock), so clock skew
between the triggerer and the vendor does not move the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_cloudflows.runs import WorkflowRun

STATE_VERSION = 1


def finish_time(run: WorkflowRun) -> datetime | None:
    """When the run finished; a vendor that reports no end time for a finished run gives its start."""
    return run.finished_at or run.started_at or run.created_at


def as_utc(value: datetime | str) -> datetime:
    """A datetime or ISO-8601 text as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"start_after must be an ISO-8601 time such as '2025-06-01T00:00:00Z', got {value!r}"
            ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Watermark:
    """`since`, `seen` and the settle margin of one watcher (see the module's rule)."""

    # A plain class: the triggerer imports this module on its event loop, and a dataclass's
    # generated methods cost that import several milliseconds.
    __slots__ = ("seen", "settle", "since")

    def __init__(self, since: datetime, settle: timedelta, seen: dict[str, datetime] | None = None) -> None:
        self.since = since
        self.settle = settle
        self.seen = dict(seen or {})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Watermark):
            return NotImplemented
        return (self.since, self.settle, self.seen) == (other.since, other.settle, other.seen)

    def __repr__(self) -> str:
        return f"Watermark(since={self.since.isoformat()}, seen={len(self.seen)})"

    @classmethod
    def start(cls, since: datetime, settle: timedelta) -> Watermark:
        return cls(since=as_utc(since), settle=settle)

    @classmethod
    def from_state(cls, state: Mapping[str, Any], settle: timedelta) -> Watermark:
        """The watermark a trigger stored; raises ValueError on a value it did not write."""
        if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
            raise ValueError(f"not a watermark this provider wrote: {state!r}")
        seen = state.get("seen") or {}
        return cls(
            since=as_utc(str(state["since"])),
            settle=settle,
            seen={str(run_id): as_utc(str(at)) for run_id, at in dict(seen).items()},
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "since": self.since.isoformat(),
            "seen": {run_id: at.isoformat() for run_id, at in sorted(self.seen.items())},
        }

    def window_start(self, lookback: timedelta) -> datetime:
        """The earliest creation time a listing must cover to see every run still to come."""
        return self.since - lookback

    def is_new(self, run: WorkflowRun) -> bool:
        at = finish_time(run)
        return at is not None and at > self.since and run.run_id not in self.seen

    def record(self, run: WorkflowRun) -> None:
        at = finish_time(run)
        if at is not None:
            self.seen[run.run_id] = at

    def advance(self, runs: list[WorkflowRun]) -> bool:
        """Move `since` up behind the newest finish in a complete listing; True when it changed."""
        finishes = [at for run in runs if run.state.is_terminal and (at := finish_time(run)) is not None]
        if not finishes:
            return False
        since = max(self.since, max(finishes) - self.settle)
        if since == self.since:
            return False
        self.since = since
        self.seen = {run_id: at for run_id, at in self.seen.items() if at > since}
        return True
