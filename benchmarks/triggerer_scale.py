"""Triggerer scale: a real `airflow triggerer` (Airflow 3.3, PostgreSQL) holding N waiting triggers.

What users run is Airflow's own triggerer process against a real metadata database, so this
measures exactly that, for N = 1,000 and 5,000 waiting triggers, for two designs side by side:

- ours: `WorkflowRunTrigger` as `WeDataWorkflowRunSensor` defers it (`build_trigger`), polling
  a WeData run in the emulator every `--poll-interval` seconds (default 60);
- floor: Airflow's own `DateTimeTrigger`, a trigger that does nothing but wait.

How the triggers get there: the deferred task instances and their trigger rows are written to
the metadata database directly, with Airflow's ORM models (`Trigger.from_object`,
`TaskInstance`, `DagRun`), in the state the scheduler leaves a deferred task in (state
`deferred`, `trigger_id`, `next_method="execute_complete"`), for a DAG serialized by
`airflow dags reserialize`. No scheduler, worker or api-server runs: what is measured is the
triggerer alone. Each (N, design) gets a fresh triggerer process (`--capacity N`), which then
assigns itself the triggers in Airflow's own way (`[triggerer] max_trigger_to_select_per_loop`
per loop, default 50).

Per (N, design), once every trigger is running (ours: every run polled once):
- CPU of the triggerer's process tree (supervisor + trigger runner, /proc utime+stime) over a
  steady window of `--window` seconds (default two poll intervals): ms per trigger-minute and as
  a share of one core;
- memory: PSS of the process tree (RSS with the pages the two processes share counted once),
  per trigger over the floor's, and marginal (the 1,000 -> 5,000 growth, over the floor's growth);
- the triggerer's own "Triggerer's async thread was blocked" warnings (count, worst);
- then every run finishes, spread over one poll interval (ours: the emulator's run is stopped
  in SUCCESS at a recorded time; floor: the trigger's moment), and the latency from that
  instant to the task instance's event being in the database (`scheduled_dttm`, set in the
  same transaction that stores the event): p50, p99, max;
- delivery: every task instance got exactly one event, with the right payload; for ours the
  emulator's request log shows at most one poll of each run after it finished (the one that
  saw it finish, unless it arrived while the run was being finished): no trigger polled on
  after firing.

Targets at N = 5,000, 60 s poll: no blocked-loop warning, PSS per trigger within 10 KB of the
floor's, CPU under 25 % of one core, p99 latency under one poll interval + 5 s. Missed
targets print by how much. The load average is printed beside the numbers: on a shared
machine they are an upper bound.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import REPO, Verdicts, base_parser, percentile, print_header, print_table, ratio_line

sys.path.insert(0, str(REPO / "scripts"))

from cloudflows_demo.postgres import temporary_postgres
from cloudflows_demo.processes import ProcessSet, exit_on_signals, ignoring_signals, tail

DAG_ID = "cloudflows_triggerer_scale"
PROJECT_ID = "1460947878944567296"
DESIGNS = ("floor", "ours")
BLOCKED = re.compile(r"^(\S+Z) .*Triggerer's async thread was blocked for ([0-9.]+) seconds", re.MULTILINE)
SETTLE_SECONDS = 10.0
PSS_TARGET_KB = 10.0
CPU_TARGET_PCT = 25.0
LATENCY_MARGIN_S = 5.0

DAG_FILE = f'''
"""The DAG whose deferred task instances benchmarks/triggerer_scale.py writes to the database."""
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG

from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

with DAG("{DAG_ID}", schedule=None, catchup=False):
    WeDataWorkflowRunSensor(
        task_id="wait_ours", execution_id="{{{{ params.run }}}}", project_id="{PROJECT_ID}", deferrable=True
    )
    DateTimeSensorAsync(task_id="wait_floor", target_time="2030-01-01T00:00:00+00:00")
'''


@dataclass
class Phase:
    design: str
    n: int
    load_s: float = float("nan")
    cpu_s: float = float("nan")
    window_s: float = float("nan")
    pss_kib: int = 0
    blocked: list[float] = field(default_factory=list)  # once every trigger was running
    blocked_loading: list[float] = field(default_factory=list)  # while the triggerer took them
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    wrong_payload: int = 0
    polls_after_finish: dict[int, int] = field(default_factory=dict)  # polls -> how many runs
    loadavg: str = ""
    error: str | None = None

    @property
    def cpu_ms_per_trigger_minute(self) -> float:
        return self.cpu_s * 1000 / (self.n * self.window_s / 60)

    @property
    def core_pct(self) -> float:
        return 100 * self.cpu_s / self.window_s

    @property
    def exactly_once(self) -> bool:
        # A run's finishing poll may arrive while the emulator is being told to finish it (0
        # after the stamp); any trigger that polled on after its event would show 2 or more.
        once = self.design == "floor" or set(self.polls_after_finish) <= {0, 1}
        return self.delivered == self.n and self.wrong_payload == 0 and once


# ------------------------------------------------------------------------------ process tree


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (the triggerer's supervisor forks the trigger runner)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(pid: int) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def tree_pss_kib(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ------------------------------------------------------------------------------ database side


def write_deferred(design: str, n: int, poll: float, run_ids: list[str], moments: list[float] | None) -> str:
    """N deferred task instances of one DAG run and their triggers, as the scheduler leaves them."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunType

    from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

    dag_run_id = f"{design}-{n}-{int(time.time())}"
    sensor = WeDataWorkflowRunSensor(
        task_id="wait_ours", execution_id="x", project_id=PROJECT_ID, deferrable=True, poke_interval=poll
    )
    now = datetime.datetime.now(datetime.UTC)
    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(DAG_ID, session=session)
        version = DagVersion.get_latest_version(DAG_ID, session=session)
        assert dag is not None and version is not None, "the benchmark DAG was not serialized"
        task = dag.get_task("wait_ours" if design == "ours" else "wait_floor")
        session.add(
            DagRun(
                dag_id=DAG_ID,
                run_id=dag_run_id,
                run_type=DagRunType.MANUAL,
                state=DagRunState.RUNNING,
                run_after=now,
                start_date=now,
            )
        )
        triggers = []
        for i in range(n):
            if design == "ours":
                sensor.execution_id = run_ids[i]
                trigger: Any = sensor.build_trigger(deadline=time.time() + 6 * 3600)
            else:
                assert moments is not None
                trigger = DateTimeTrigger(moment=datetime.datetime.fromtimestamp(moments[i], tz=datetime.UTC))
            triggers.append(Trigger.from_object(trigger))
        session.add_all(triggers)
        session.flush()
        tis = []
        for i, row in enumerate(triggers):
            ti = TaskInstance(task, dag_version_id=version.id, run_id=dag_run_id, map_index=i)
            ti.state = TaskInstanceState.DEFERRED
            ti.try_number = 1
            ti.start_date = now
            ti.trigger_id = row.id
            ti.next_method = "execute_complete"
            ti.next_kwargs = {}
            tis.append(ti)
        session.add_all(tis)
    return dag_run_id


def assigned_count(dag_run_id: str) -> int:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Trigger)
                .join(TaskInstance, TaskInstance.trigger_id == Trigger.id)
                .where(TaskInstance.run_id == dag_run_id, Trigger.triggerer_id.is_not(None))
            )
            or 0
        )


def events_in_db(dag_run_id: str) -> dict[int, tuple[float, Any]]:
    """map_index -> (epoch time the event was stored, event payload) for the resumed task instances."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.serde import deserialize
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    out: dict[int, tuple[float, Any]] = {}
    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.map_index, TaskInstance.scheduled_dttm, TaskInstance.next_kwargs).where(
                TaskInstance.dag_id == DAG_ID,
                TaskInstance.run_id == dag_run_id,
                TaskInstance.state == TaskInstanceState.SCHEDULED,
            )
        ).all()
    for map_index, stored_at, next_kwargs in rows:
        kwargs = deserialize(next_kwargs) if next_kwargs else {}
        out[map_index] = (stored_at.timestamp(), kwargs.get("event") if isinstance(kwargs, dict) else None)
    return out


# ------------------------------------------------------------------------------ one phase


def _wedata_spec(run_id: str) -> dict[str, Any]:
    """A WeData run that stays RUNNING until the benchmark stops it in SUCCESS."""
    from airflow_provider_cloudflows.emulator.services.wedata import run_spec

    spec = run_spec(run_id, "SUCCESS", project_id=PROJECT_ID)
    spec["states"] = ["RUNNING", spec["states"][-1]]
    spec["task_runs"] = [dict(t, states=[t["states"][0], t["states"][-1]]) for t in spec["task_runs"]]
    spec["advance"], spec["step_seconds"] = "time", 10 * 24 * 3600.0
    return spec


def run_phase(
    procs: ProcessSet, env: dict[str, str], control: Any, design: str, n: int, poll: float, window: float
) -> Phase:
    phase = Phase(design, n)
    prefix = f"tscale-{design}-{n}-{os.getpid()}"
    run_ids = [f"{prefix}-{i}" for i in range(n)]
    # The floor's moments are fixed when its triggers are written: after a generous estimate of
    # how long the triggerer takes to assign itself N triggers (50 per loop) and the window.
    load_estimate = n / 50 * 1.5 + 30
    moments: list[float] | None = None
    if design == "floor":
        start = time.time() + load_estimate + SETTLE_SECONDS + window
        moments = [start + poll * i / n for i in range(n)]
    else:
        for chunk in range(0, n, 1000):
            control.script_runs([_wedata_spec(r) for r in run_ids[chunk : chunk + 1000]])
    dag_run_id = write_deferred(design, n, poll, run_ids, moments)
    control.clear_requests()

    env = dict(env, AIRFLOW__TRIGGERER__CAPACITY=str(n))
    started = time.monotonic()
    triggerer = procs.start(f"triggerer-{design}-{n}", [_airflow(), "triggerer", "--skip-serve-logs"], env)
    log_path = triggerer.log_path
    try:
        # Running: every trigger assigned, and (ours) every run polled once.
        deadline = started + load_estimate * 3 + 120
        polled_runs: set[str] = set()
        seen = 0
        while True:
            if triggerer.popen.poll() is not None:
                raise RuntimeError(f"the triggerer exited; see {log_path}:\n{tail(log_path)}")
            assigned = assigned_count(dag_run_id)
            if design == "ours":
                records = control.requests(since=seen)
                polled_runs.update(r["run_id"] for r in records)
                seen = max((r["seq"] for r in records), default=seen)
            polled = len(polled_runs) if design == "ours" else n
            if assigned >= n and polled >= n:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{design} N={n}: only {assigned} assigned, {polled} polled; see {log_path}"
                )
            time.sleep(1.0)
        phase.load_s = time.monotonic() - started
        loaded_at = time.time()
        time.sleep(SETTLE_SECONDS)

        # The steady window: every trigger waiting, none finishing.
        window_end = time.time() + window if moments is None else moments[0]
        if window_end - time.time() < window / 2:
            print(f"note: {design} N={n}: loading took longer than estimated; window shortened", flush=True)
        pid = triggerer.popen.pid
        cpu0, t0 = tree_cpu_seconds(pid), time.monotonic()
        pss: list[int] = []
        while time.time() < window_end - 0.5:
            time.sleep(min(5.0, max(window_end - time.time() - 0.5, 0.01)))
            pss.append(tree_pss_kib(pid))
        phase.cpu_s, phase.window_s = tree_cpu_seconds(pid) - cpu0, time.monotonic() - t0
        phase.pss_kib = sorted(pss)[len(pss) // 2] if pss else tree_pss_kib(pid)
        phase.loadavg = loadavg()

        # Every run finishes, spread over one poll interval.
        finished_at: dict[int, float] = {}
        finished_mono: dict[int, float] = {}
        if moments is not None:
            finished_at = dict(enumerate(moments))
        else:
            finisher = threading.Thread(
                target=_finish_runs, args=(control, run_ids, poll, finished_at, finished_mono), daemon=True
            )
            finisher.start()
        events: dict[int, tuple[float, Any]] = {}
        while len(events) < n:
            # Every event is due one poll interval after its run finished; a loaded machine's
            # triggerer may take minutes more to write a backlog of events (the floor's too), so
            # the missing ones count as lost only ten minutes after that.
            last = finished_at.get(n - 1, time.time())
            if time.time() > last + poll + 600:
                break
            time.sleep(2.0)
            events = events_in_db(dag_run_id)
        if moments is None:
            finisher.join()
        time.sleep(3.0)  # any poll after an event would show in the request log by now
        events = events_in_db(dag_run_id)
    finally:
        procs.stop(triggerer)

    phase.delivered = len(events)
    for i, (stored_at, payload) in events.items():
        phase.latencies.append(stored_at - finished_at[i])
        ok = (
            isinstance(payload, dict)
            and (payload.get("status") == "success" and payload.get("run_id") == run_ids[i])
            if design == "ours"
            else payload is not None
        )
        phase.wrong_payload += not ok
    if design == "ours":
        after: dict[str, int] = dict.fromkeys(run_ids, 0)
        index = {r: i for i, r in enumerate(run_ids)}
        for record in control.requests():
            i = index.get(record["run_id"])
            if i is not None and i in finished_mono and record["time"] >= finished_mono[i]:
                after[record["run_id"]] += 1
        for count in after.values():
            phase.polls_after_finish[count] = phase.polls_after_finish.get(count, 0) + 1
    for match in BLOCKED.finditer(log_path.read_text(errors="replace")):
        at = datetime.datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
        (phase.blocked if at >= loaded_at else phase.blocked_loading).append(float(match.group(2)))
    return phase


def _finish_runs(
    control: Any,
    run_ids: list[str],
    poll: float,
    finished_at: dict[int, float],
    finished_mono: dict[int, float],
) -> None:
    start = time.monotonic()
    for i, run_id in enumerate(run_ids):
        delay = start + poll * i / len(run_ids) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        control.stop_run("wedata", run_id, "SUCCESS", task_state="SUCCESS")
        # Stamped once the emulator has answered: from here on every poll sees the run finished.
        finished_at[i], finished_mono[i] = time.time(), time.monotonic()


def _airflow() -> str:
    return str(Path(sys.executable).parent / "airflow")


# ------------------------------------------------------------------------------ report


def report(phases: list[Phase], poll: float, verdicts: Verdicts) -> None:
    by = {(p.design, p.n): p for p in phases}
    rows = []
    for p in phases:
        lat = p.latencies
        floor = by.get(("floor", p.n))
        over = (p.pss_kib - floor.pss_kib) / p.n if floor is not None and p is not floor else 0.0
        polls = ", ".join(f"{k}: {v}" for k, v in sorted(p.polls_after_finish.items())) or "-"
        rows.append(
            [
                p.design,
                f"{p.n:,}",
                f"{p.load_s:.0f}",
                f"{p.cpu_ms_per_trigger_minute:.2f}",
                f"{p.core_pct:.1f} %",
                f"{p.pss_kib / 1024:.0f}",
                f"{over:+.1f}",
                f"{len(p.blocked_loading)} / {max(p.blocked_loading, default=0):.2f} s",
                f"{len(p.blocked)} / {max(p.blocked, default=0):.2f} s",
                f"{percentile(lat, 50):.1f} / {percentile(lat, 99):.1f} / {max(lat, default=float('nan')):.1f}",
                f"{p.delivered:,}/{p.n:,}" + ("" if p.exactly_once else " (!)"),
                polls,
                p.loadavg,
            ]
        )
    print_table(
        [
            "design",
            "N",
            "s to hold all",
            "CPU ms / trigger-min",
            "CPU, one core",
            "PSS MiB",
            "KB / trigger over floor",
            "blocked warnings while taking them (count / worst)",
            "blocked warnings while holding them",
            "latency s p50 / p99 / max",
            "events (exactly once)",
            "polls after finish: runs",
            "load avg",
        ],
        rows,
        title=f"A real `airflow triggerer` holding N triggers ({poll:.0f} s poll interval, PostgreSQL)",
    )
    sizes = sorted({p.n for p in phases})
    if len(sizes) >= 2 and all((d, n) in by for d in DESIGNS for n in (sizes[0], sizes[-1])):
        lo, hi = sizes[0], sizes[-1]
        ours = (by["ours", hi].pss_kib - by["ours", lo].pss_kib) / (hi - lo)
        floor = (by["floor", hi].pss_kib - by["floor", lo].pss_kib) / (hi - lo)
        print(
            f"marginal memory per trigger ({lo:,} -> {hi:,}): ours {ours:.1f} KB, floor {floor:.1f} KB, "
            f"difference {ours - floor:+.1f} KB\n",
            flush=True,
        )
    big = max(sizes)
    ours, floor = by.get(("ours", big)), by.get(("floor", big))
    if ours is None or floor is None:
        return
    ratio_line(f"CPU ours / floor at N={big:,}", ours.cpu_s / max(floor.cpu_s, 1e-9))
    over = (ours.pss_kib - floor.pss_kib) / big
    p99 = percentile(ours.latencies, 99)
    limit = poll + LATENCY_MARGIN_S
    worst = max(ours.blocked, default=0.0)
    verdicts.check(
        not ours.blocked,
        f"N={big:,}: no 'async thread was blocked' warning while holding the triggers",
        f"{len(ours.blocked)} warnings, worst {worst:.2f} s"
        + (f" ({len(ours.blocked)} too many)" if ours.blocked else ""),
    )
    verdicts.check(
        over <= PSS_TARGET_KB,
        f"N={big:,}: memory per trigger within {PSS_TARGET_KB:.0f} KB of the floor",
        f"{over:+.1f} KB" + (f" ({over - PSS_TARGET_KB:.1f} KB over)" if over > PSS_TARGET_KB else ""),
    )
    verdicts.check(
        ours.core_pct < CPU_TARGET_PCT,
        f"N={big:,}: triggerer CPU < {CPU_TARGET_PCT:.0f} % of one core",
        f"{ours.core_pct:.1f} %"
        + (f" ({ours.core_pct - CPU_TARGET_PCT:.1f} points over)" if ours.core_pct >= CPU_TARGET_PCT else ""),
    )
    verdicts.check(
        p99 < limit,
        f"N={big:,}: p99 event latency < poll interval + {LATENCY_MARGIN_S:.0f} s ({limit:.0f} s)",
        f"{p99:.1f} s" + (f" ({p99 - limit:.1f} s over)" if p99 >= limit else ""),
    )
    for p in phases:
        verdicts.check(
            p.exactly_once,
            f"{p.design} N={p.n:,}: every event delivered, exactly once",
            f"{p.delivered}/{p.n} delivered, {p.wrong_payload} wrong payloads, polls after finish "
            + (", ".join(f"{k}: {v}" for k, v in sorted(p.polls_after_finish.items())) or "-"),
        )


# ------------------------------------------------------------------------------ main


def main() -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated N (default 1000,5000)")
    parser.add_argument("--poll-interval", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--window", type=float, default=None, help="steady window, s (default 2 polls)")
    args = parser.parse_args()
    if args.quick:
        sizes, poll = [20], 4.0
    else:
        sizes, poll = [int(s) for s in args.sizes.split(",")], args.poll_interval
    window = args.window if args.window is not None else 2 * poll
    print_header("Triggerer scale (a real `airflow triggerer` on PostgreSQL)", args.quick)
    print(f"load at start: {loadavg()} (1, 5, 15 min)", flush=True)

    from airflow_provider_cloudflows.emulator.control_client import EmulatorControl
    from airflow_provider_cloudflows.emulator.server import run_subprocess

    home = Path(tempfile.mkdtemp(prefix="cloudflows-triggerer-scale-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "triggerer_scale_dag.py").write_text(DAG_FILE, encoding="utf-8")
    phases: list[Phase] = []
    emulator = run_subprocess()
    try:
        with (
            exit_on_signals(),
            temporary_postgres(home / "logs" / "postgres") as database,
            ProcessSet(home / "logs") as procs,
        ):
            from cloudflows_demo.site import airflow_site, migrate

            site = airflow_site(home, emulator.url, dags_folder=dags, database_url=database.sqlalchemy_url)
            os.environ.clear()
            os.environ.update(site.env)
            t0 = time.monotonic()
            migrate(procs, site)
            done = procs.run("reserialize", [_airflow(), "dags", "reserialize"], site.env, timeout=300)
            if done.popen.returncode != 0:
                raise RuntimeError(f"airflow dags reserialize failed:\n{tail(done.log_path)}")
            print(
                f"PostgreSQL on 127.0.0.1:{database.port}, migrated in {time.monotonic() - t0:.0f} s",
                flush=True,
            )
            with EmulatorControl(emulator.url, timeout=120) as control:
                for n in sizes:
                    for design in DESIGNS:
                        print(f"--> {design} N={n:,} (load {loadavg()})", flush=True)
                        phase = run_phase(procs, site.env, control, design, n, poll, window)
                        phases.append(phase)
                        print(
                            f"    held all in {phase.load_s:.0f} s; CPU {phase.core_pct:.1f} % of a core; "
                            f"PSS {phase.pss_kib / 1024:.0f} MiB; {phase.delivered}/{n} events; "
                            f"{len(phase.blocked)} blocked warnings",
                            flush=True,
                        )
    finally:
        with ignoring_signals():
            emulator.stop()
            shutil.rmtree(home, ignore_errors=True)
    print(f"load at end: {loadavg()}", flush=True)
    verdicts = Verdicts()
    report(phases, poll, verdicts)
    return verdicts.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
