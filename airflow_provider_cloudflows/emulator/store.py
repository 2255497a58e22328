"""Scripted runs: each run walks through a list of raw vendor states, per poll or per elapsed time.

A vendor service reads a run with `observe()` (a client's poll: may advance the script) or
`peek()` (no side effect: list pages, the control API). Both return a RunSnapshot that holds
the run state and the lockstep task-run states of that one moment, so a response never mixes
two steps.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Advance = Literal["poll", "time"]


class RunNotFound(KeyError):
    """No run with this id for this vendor (services turn it into the vendor's not-found error)."""

    def __init__(self, vendor: str, run_id: str) -> None:
        super().__init__(f"{vendor} run {run_id!r} not found")
        self.vendor = vendor
        self.run_id = run_id

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class ScriptedTaskRun:
    name: str
    states: list[str]
    task_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    # The task run's own log, as the vendor's log API serves it (DataWorks GetTaskInstanceLog).
    log: str | None = None
    # How many times a rerun has run this task again.
    reruns: int = 0


@dataclass(frozen=True)
class TaskRunSnapshot:
    name: str
    task_id: str | None
    state: str
    # True once this task run has reached the last state of its script (or its run was stopped).
    finished: bool
    # Set only once finished, so a running task never shows its final error early.
    error_code: str | None
    error_message: str | None
    fields: Mapping[str, Any]
    log: str | None = None
    reruns: int = 0


@dataclass(frozen=True)
class RunSnapshot:
    vendor: str
    run_id: str
    state: str
    step: int  # index into the script (clamped)
    finished: bool  # last scripted state reached, or stopped
    stopped: bool
    error_code: str | None
    error_message: str | None
    created_at: float  # wall clock, epoch seconds
    finished_at: float | None  # wall clock when `finished` first became true (approximate for "time")
    finishes_at: float | None  # the scripted finish time, when the script has one (exact)
    fields: Mapping[str, Any]
    task_runs: tuple[TaskRunSnapshot, ...]
    reruns: int = 0  # how many times the run was rerun

    def to_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "run_id": self.run_id,
            "state": self.state,
            "step": self.step,
            "finished": self.finished,
            "stopped": self.stopped,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "finishes_at": self.finishes_at,
            "fields": dict(self.fields),
            "reruns": self.reruns,
            "task_runs": [
                {
                    "name": t.name,
                    "task_id": t.task_id,
                    "state": t.state,
                    "finished": t.finished,
                    "error_code": t.error_code,
                    "error_message": t.error_message,
                    "fields": dict(t.fields),
                    # The size only: a scripted log may be megabytes, the vendor API serves it.
                    "log_bytes": None if t.log is None else len(t.log.encode("utf-8")),
                    "reruns": t.reruns,
                }
                for t in self.task_runs
            ],
        }


@dataclass
class ScriptedRun:
    vendor: str
    run_id: str
    states: list[str]
    advance: Advance = "poll"
    step_seconds: float = 1.0
    task_runs: list[ScriptedTaskRun] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    # Wall time (epoch seconds) at which the run reaches its last state, whatever the polls or
    # step_seconds say: until then it walks its other states; from then on it is finished, and
    # that is its finish time. In the past: the run is already finished, at that time.
    finishes_at: float | None = None
    # The raw state a rerun ends in (None: the service's own default, its success state).
    rerun_outcome: str | None = None
    # Bookkeeping (not part of the script).
    reruns: int = 0
    polls: int = 0
    created_monotonic: float = field(default_factory=time.monotonic)
    stopped_state: str | None = None
    stopped_task_state: str | None = None
    stopped_step: int | None = None
    finished_at: float | None = None

    def __post_init__(self) -> None:
        if not self.states:
            raise ValueError("a scripted run needs at least one state")
        if self.advance not in ("poll", "time"):
            raise ValueError("advance must be 'poll' or 'time'")
        if self.step_seconds <= 0:
            raise ValueError("step_seconds must be positive")

    def _step(self, monotonic_now: float, wall_now: float) -> int:
        if self.stopped_step is not None:
            return self.stopped_step
        last = len(self.states) - 1
        if self.finishes_at is not None:
            if wall_now >= self.finishes_at:
                return last
            last = max(last - 1, 0)
        if self.advance == "poll":
            raw = self.polls
        else:
            raw = int((monotonic_now - self.created_monotonic) / self.step_seconds)
        return min(raw, last)

    def snapshot(self, monotonic_now: float, wall_now: float) -> RunSnapshot:
        step = self._step(monotonic_now, wall_now)
        stopped = self.stopped_state is not None
        finished = stopped or (
            step == len(self.states) - 1 and (self.finishes_at is None or wall_now >= self.finishes_at)
        )
        if finished and self.finished_at is None:
            scheduled_end = self.finishes_at if self.finishes_at is not None and not stopped else None
            self.finished_at = wall_now if scheduled_end is None else scheduled_end
        state = self.stopped_state if stopped else self.states[step]
        tasks = []
        for task in self.task_runs:
            t_step = min(step, len(task.states) - 1)
            t_finished = t_step == len(task.states) - 1
            t_state = task.states[t_step]
            if stopped and not t_finished and self.stopped_task_state is not None:
                t_state = self.stopped_task_state
            t_done = t_finished or stopped
            tasks.append(
                TaskRunSnapshot(
                    name=task.name,
                    task_id=task.task_id,
                    state=t_state,
                    finished=t_done,
                    error_code=task.error_code if t_done else None,
                    error_message=task.error_message if t_done else None,
                    fields=task.fields,
                    log=task.log,
                    reruns=task.reruns,
                )
            )
        return RunSnapshot(
            vendor=self.vendor,
            run_id=self.run_id,
            state=state,
            step=step,
            finished=finished,
            stopped=stopped,
            error_code=self.error_code if finished else None,
            error_message=self.error_message if finished else None,
            created_at=self.created_at,
            finished_at=self.finished_at,
            finishes_at=self.finishes_at,
            fields=self.fields,
            task_runs=tuple(tasks),
            reruns=self.reruns,
        )


class RunStore:
    """Scripted runs keyed by (vendor, run id).

    All methods take one lock, so the store may also be used from a test thread while the
    server loop runs (each call is short and never awaits).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._seed = seed
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.RLock()
        self._runs: dict[tuple[str, str], ScriptedRun] = {}
        self._random = random.Random(seed)
        self._counter = 0

    # ------------------------------------------------------------------ ids

    def random_hex(self, length: int = 32) -> str:
        """A seeded hex id (ICE task ids, CI run ids), reproducible for a given seed."""
        with self._lock:
            return "".join(self._random.choice("0123456789abcdef") for _ in range(length))

    def random_uuid(self) -> str:
        """A seeded UUID4 string (WeData execution ids)."""
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def next_int_id(self, start: int = 100_000_000) -> int:
        """Increasing integer ids (DataWorks instance ids)."""
        with self._lock:
            self._counter += 1
            return start + self._counter

    # ------------------------------------------------------------------ runs

    def create(
        self,
        vendor: str,
        run_id: str,
        states: Iterable[str],
        *,
        advance: Advance = "poll",
        step_seconds: float = 1.0,
        task_runs: Iterable[ScriptedTaskRun] = (),
        error_code: str | None = None,
        error_message: str | None = None,
        fields: Mapping[str, Any] | None = None,
        created_at: float | None = None,
        finishes_at: float | None = None,
        rerun_outcome: str | None = None,
    ) -> ScriptedRun:
        """Create or replace the run (vendor, run_id); its script starts now."""
        run = ScriptedRun(
            vendor=vendor,
            run_id=str(run_id),
            states=list(states),
            advance=advance,
            step_seconds=step_seconds,
            task_runs=list(task_runs),
            error_code=error_code,
            error_message=error_message,
            fields=dict(fields or {}),
            created_at=self._wall() if created_at is None else created_at,
            created_monotonic=self._monotonic(),
            finishes_at=finishes_at,
            rerun_outcome=rerun_outcome,
        )
        with self._lock:
            self._runs[(vendor, run.run_id)] = run
        return run

    def add(self, run: ScriptedRun) -> ScriptedRun:
        with self._lock:
            self._runs[(run.vendor, run.run_id)] = run
        return run

    def get(self, vendor: str, run_id: str) -> ScriptedRun:
        with self._lock:
            try:
                return self._runs[(vendor, str(run_id))]
            except KeyError:
                raise RunNotFound(vendor, str(run_id)) from None

    def exists(self, vendor: str, run_id: str) -> bool:
        with self._lock:
            return (vendor, str(run_id)) in self._runs

    def observe(self, vendor: str, run_id: str) -> RunSnapshot:
        """A client poll: the snapshot it sees, then a "poll" script moves one step on."""
        with self._lock:
            run = self.get(vendor, run_id)
            snap = run.snapshot(self._monotonic(), self._wall())
            run.polls += 1
            return snap

    def peek(self, vendor: str, run_id: str) -> RunSnapshot:
        """The current snapshot without counting a poll."""
        with self._lock:
            return self.get(vendor, run_id).snapshot(self._monotonic(), self._wall())

    def snapshot_of(self, run: ScriptedRun) -> RunSnapshot:
        with self._lock:
            return run.snapshot(self._monotonic(), self._wall())

    def list(
        self,
        vendor: str,
        *,
        where: Callable[[ScriptedRun], bool] | None = None,
        **field_equals: Any,
    ) -> list[ScriptedRun]:
        """Runs of one vendor, oldest first; `field_equals` matches entries of `run.fields`."""
        with self._lock:
            runs = [r for (v, _), r in self._runs.items() if v == vendor]
        runs = [r for r in runs if all(r.fields.get(k) == v for k, v in field_equals.items())]
        if where is not None:
            runs = [r for r in runs if where(r)]
        return sorted(runs, key=lambda r: r.created_at)

    def stop(
        self,
        vendor: str,
        run_id: str,
        state: str,
        *,
        task_state: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> RunSnapshot:
        """Jump the run to a terminal `state` (stop/kill APIs).

        Task runs freeze at their current step; those not yet at their last state show
        `task_state` when one is given.
        """
        with self._lock:
            run = self.get(vendor, run_id)
            run.stopped_step = run._step(self._monotonic(), self._wall())
            run.stopped_state = state
            run.stopped_task_state = task_state
            if error_code is not None:
                run.error_code = error_code
            if error_message is not None:
                run.error_message = error_message
            run.finished_at = None
            return run.snapshot(self._monotonic(), self._wall())

    def rerun(
        self,
        vendor: str,
        run_id: str,
        states: Iterable[str],
        task_scripts: Mapping[str, list[str]],
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        task_errors: Mapping[str, tuple[str | None, str | None]] | None = None,
    ) -> RunSnapshot:
        """Run a finished run again from now on (rerun APIs): its script becomes `states`.

        The task runs named in `task_scripts` (by task id) walk their new script in lockstep with
        the run, with `task_errors` once finished; every other task run keeps the state it is in.
        """
        with self._lock:
            run = self.get(vendor, run_id)
            snap = run.snapshot(self._monotonic(), self._wall())
            for task, task_snap in zip(run.task_runs, snap.task_runs, strict=True):
                script = task_scripts.get(task.task_id or "")
                if script is None:
                    task.states = [task_snap.state]
                    continue
                task.states = list(script)
                task.error_code, task.error_message = (task_errors or {}).get(
                    task.task_id or "", (None, None)
                )
                task.reruns += 1
            run.states = list(states)
            run.error_code, run.error_message = error_code, error_message
            run.polls = 0
            run.created_monotonic = self._monotonic()
            run.stopped_state = run.stopped_task_state = run.stopped_step = None
            run.finished_at = None
            run.reruns += 1
            return run.snapshot(self._monotonic(), self._wall())

    def delete(self, vendor: str, run_id: str) -> None:
        with self._lock:
            self._runs.pop((vendor, str(run_id)), None)

    def reset(self) -> None:
        with self._lock:
            self._runs.clear()
            self._random = random.Random(self._seed)
            self._counter = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)
