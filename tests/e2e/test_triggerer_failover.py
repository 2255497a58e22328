"""Deferred sensors survive a triggerer that dies: two real triggerers, one SIGKILLed; one stopped and restarted.

A site of its own (PostgreSQL, api-server, scheduler with the LocalExecutor, dag-processor, the
emulator, and the triggerers this test starts and kills), with Airflow's high-availability
settings made short so a takeover happens within seconds:

- `[triggerer] job_heartbeat_sec = 1`: a live triggerer heartbeats every second;
- `[triggerer] triggerer_health_check_threshold = 8`: a triggerer whose last heartbeat is older
  than 8 s counts as dead, and any other triggerer assigns itself its triggers
  (`Trigger.assign_unassigned`, `[triggerer] max_trigger_to_select_per_loop` = 50 per loop).

1. SIGKILL: 200 deferred sensors (50 per vendor: succeed, fail, time out) wait in triggerer A;
   triggerer B runs beside it; A is killed with SIGKILL at the moment that puts the most
   deadlines of the timing-out sensors inside the takeover. B takes every trigger within the
   health-check threshold and a few assignment loops.
2. SIGTERM and restart: 40 deferred sensors wait in the only triggerer; it is stopped with
   SIGTERM and a new one started.

Both times every sensor ends in exactly its scripted outcome (success, failed, skipped for a
timeout with soft_fail), once (one try, no task-instance history); the moved trigger rows keep
their kwargs byte for byte, so the absolute deadline is unchanged: a sensor whose deadline
passed while it was moving looks once more (the trigger's one-second floor) and times out - it
does not wait afresh. The emulator's request log shows the takeover's burst of first polls
within the per-pool request slots (hooks/transport.py MAX_CONCURRENT_REQUESTS) and no more new
connections than slots: no connection storm.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cloudflows_demo.emulator import start_emulator
from cloudflows_demo.postgres import Postgres, temporary_postgres
from cloudflows_demo.processes import Managed, ProcessSet, free_port
from cloudflows_demo.rest import ApiClient, wait_until
from cloudflows_demo.site import AIRFLOW, AirflowSite, airflow_site, migrate, start_components

from airflow_provider_cloudflows.emulator.control_client import EmulatorControl
from airflow_provider_cloudflows.hooks.transport import MAX_CONCURRENT_REQUESTS

pytestmark = pytest.mark.e2e

HEALTH_CHECK_THRESHOLD = 8
HA_SETTINGS = {
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(HEALTH_CHECK_THRESHOLD),
    "AIRFLOW__CORE__PARALLELISM": "16",
}
POLL = 5
VENDORS = ("wedata", "dataworks", "ice", "cloud_infinite")
KILL_DAG, RESTART_DAG = "cloudflows_failover_kill", "cloudflows_failover_restart"
# Per vendor: how many sensors succeed, fail, time out; and the timing-out sensors' timeout.
PLANS = {KILL_DAG: ((18, 16, 16), 75), RESTART_DAG: ((4, 3, 3), 45)}
EXPECTED_STATE = {"success": "success", "failure": "failed", "timeout": "skipped"}

DAG_FILE = '''
"""Sensors for tests/e2e/test_triggerer_failover.py, one per line of sensors.json."""
import json
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor
from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor
from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

SENSORS = {
    "wedata": lambda run_id, **kw: WeDataWorkflowRunSensor(
        task_id="wedata_" + run_id, execution_id=run_id, project_id="1460947878944567296", **kw
    ),
    "dataworks": lambda run_id, **kw: DataWorksWorkflowInstanceSensor(
        task_id="dataworks_" + run_id, instance_id=run_id, **kw
    ),
    "ice": lambda run_id, **kw: IceWorkflowTaskSensor(task_id="ice_" + run_id, workflow_task_id=run_id, **kw),
    "cloud_infinite": lambda run_id, **kw: CloudInfiniteWorkflowExecutionSensor(
        task_id="cloud_infinite_" + run_id, run_id=run_id, **kw
    ),
}

for dag_id, sensors in json.loads((Path(__file__).parent / "sensors.json").read_text()).items():
    with DAG(dag_id, schedule=None, catchup=False, max_active_tasks=64) as dag:
        for sensor in sensors:
            timing_out = sensor["outcome"] == "timeout"
            SENSORS[sensor["vendor"]](
                sensor["run_id"],
                deferrable=True,
                poke_interval=sensor["poll"],
                timeout=sensor["timeout"],
                soft_fail=timing_out,
                retries=0,
                # The timing-out sensors start last, so their deadlines fall close together.
                priority_weight=1 if timing_out else 10,
            )
    globals()[dag_id] = dag
'''


@dataclass(frozen=True)
class Sensor:
    vendor: str
    run_id: str
    outcome: str
    timeout: int

    @property
    def task_id(self) -> str:
        return f"{self.vendor}_{self.run_id}"


def plan(dag_id: str, base: int) -> list[Sensor]:
    (succeed, fail, time_out), timeout = PLANS[dag_id]
    sensors = []
    for v, vendor in enumerate(VENDORS):
        outcomes = ["success"] * succeed + ["failure"] * fail + ["timeout"] * time_out
        for i, outcome in enumerate(outcomes):
            number = base + v * 1000 + i
            run_id = {
                "wedata": f"fo-{number}",
                "dataworks": str(number),
                "ice": f"{number:032x}",
                "cloud_infinite": f"ifo{number}",
            }[vendor]
            sensors.append(Sensor(vendor, run_id, outcome, timeout if outcome == "timeout" else 1800))
    return sensors


def vendor_spec(sensor: Sensor) -> dict[str, Any]:
    """The emulator's script of the sensor's run, ending in its outcome (timeouts: never ending)."""
    from airflow_provider_cloudflows.emulator.services import cloud_infinite, dataworks, ice, wedata

    fails = sensor.outcome == "failure"
    if sensor.vendor == "wedata":
        return wedata.run_spec(sensor.run_id, "FAILED" if fails else "SUCCESS")
    if sensor.vendor == "dataworks":
        last = "Failure" if fails else "Success"
        return dataworks.instance_spec(
            int(sensor.run_id),
            ["WaitTime", "Running", last],
            [("load_orders", ["NotRun", "Running", last])],
            name="failover",
            bizdate=dataworks.default_bizdate(time.time()),
        )
    if sensor.vendor == "ice":
        return ice.task_spec(sensor.run_id, outcome="Failed" if fails else "Succeed")
    return cloud_infinite.execution_spec(
        sensor.run_id, object_key="input/failover.mp4", outcome="Failed" if fails else "Success"
    )


def script(control: EmulatorControl, sensors: list[Sensor], *, finished: bool) -> None:
    """Hold every run running (its second step), or, `finished`, at its last step."""
    from airflow_provider_cloudflows.emulator.services.base import held_at

    control.script_runs([held_at(vendor_spec(s), -1 if finished else 1) for s in sensors])


@dataclass
class FailoverSite:
    site: AirflowSite
    api: ApiClient
    procs: ProcessSet
    database: Postgres
    control: EmulatorControl
    triggerers: list[Managed]

    def start_triggerer(self, name: str) -> Managed:
        triggerer = self.procs.start(name, [AIRFLOW, "triggerer", "--skip-serve-logs"], self.site.env)
        self.triggerers.append(triggerer)
        return triggerer

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        conn: Any = self.database.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()


@pytest.fixture(scope="module")
def failover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FailoverSite]:
    home = tmp_path_factory.mktemp("airflow-failover-home")
    dags = home / "dags"
    dags.mkdir()
    sensors = {KILL_DAG: plan(KILL_DAG, 10_000), RESTART_DAG: plan(RESTART_DAG, 50_000)}
    (dags / "sensors.json").write_text(
        json.dumps(
            {
                dag_id: [dict(s.__dict__, poll=POLL) for s in dag_sensors]
                for dag_id, dag_sensors in sensors.items()
            }
        )
    )
    (dags / "failover_dags.py").write_text(DAG_FILE)
    with (
        temporary_postgres(home / "logs" / "postgres") as database,
        ProcessSet(home / "logs" / "processes") as procs,
    ):
        emulator_url = start_emulator(procs, os.environ, home)
        site = airflow_site(
            home, emulator_url, dags_folder=dags, api_port=free_port(), database_url=database.sqlalchemy_url
        )
        site.env.update(HA_SETTINGS)
        migrate(procs, site)
        start_components(procs, site, ("api-server", "scheduler", "dag-processor"))
        assert site.api_url is not None
        api = ApiClient(site.api_url, procs)
        control = EmulatorControl(emulator_url, timeout=60)
        live = FailoverSite(site, api, procs, database, control, [])
        live.start_triggerer("triggerer-a")
        try:
            api.wait_ready(("api-server", "scheduler", "dag-processor", "triggerer"), timeout=240)
            api.wait_for_dags([KILL_DAG, RESTART_DAG], timeout=240)
            for dag_sensors in sensors.values():
                script(control, dag_sensors, finished=False)
            yield live
        finally:
            control.close()
            api.close()


# ------------------------------------------------------------------------------------ helpers


def ti_states(live: FailoverSite, dag_id: str, run_id: str) -> dict[str, tuple[str | None, int]]:
    rows = live.query(
        "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s",
        dag_id,
        run_id,
    )
    return {task_id: (state, tries) for task_id, state, tries in rows}


def trigger_rows(live: FailoverSite, dag_id: str, run_id: str) -> dict[str, tuple[int, int | None, str]]:
    """task_id -> (trigger id, triggerer job id, encrypted kwargs) of the deferred sensors."""
    rows = live.query(
        "SELECT ti.task_id, t.id, t.triggerer_id, t.kwargs FROM task_instance ti "
        "JOIN trigger t ON t.id = ti.trigger_id WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.state = 'deferred'",
        dag_id,
        run_id,
    )
    return {task_id: (tid, job, kwargs) for task_id, tid, job, kwargs in rows}


def deadline_of(live: FailoverSite, encrypted_kwargs: str) -> float:
    """The trigger's absolute `deadline`, read from its row as Airflow's `Trigger` reads it (JSON,
    Fernet-encrypted unless it starts with `{`)."""
    from cryptography.fernet import Fernet

    if encrypted_kwargs.startswith("{"):
        data = json.loads(encrypted_kwargs)
    else:
        fernet = Fernet(live.site.env["AIRFLOW__CORE__FERNET_KEY"].encode())
        data = json.loads(fernet.decrypt(encrypted_kwargs.encode()))

    def find(node: Any) -> float | None:
        if isinstance(node, dict):
            if isinstance(node.get("deadline"), int | float):
                return float(node["deadline"])
            for value in node.values():
                if (found := find(value)) is not None:
                    return found
        if isinstance(node, list):
            for value in node:
                if (found := find(value)) is not None:
                    return found
        return None

    deadline = find(data)
    assert deadline is not None, f"no deadline in the trigger's kwargs: {data}"
    return deadline


def running_triggerer_jobs(live: FailoverSite) -> list[int]:
    """Triggerer jobs not ended, oldest first (a SIGKILLed one stays here: nobody ends its job)."""
    rows = live.query("SELECT id FROM job WHERE job_type = 'TriggererJob' AND end_date IS NULL ORDER BY id")
    return [row[0] for row in rows]


def alive_triggerer_jobs(live: FailoverSite) -> list[int]:
    rows = live.query(
        "SELECT id FROM job WHERE job_type = 'TriggererJob' AND end_date IS NULL "
        "AND latest_heartbeat > now() - make_interval(secs => %s) ORDER BY id",
        HEALTH_CHECK_THRESHOLD,
    )
    return [row[0] for row in rows]


def max_in_flight(records: list[dict[str, Any]]) -> int:
    """The most requests the emulator was serving at one moment (arrival + duration per record)."""
    edges = sorted(
        [(r["time"], 1) for r in records]
        + [(r["time"] + (r["duration_ms"] or 0) / 1000, -1) for r in records],
        key=lambda e: (e[0], e[1]),
    )
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


def pick_stop_time(deadlines: list[float], gap: float) -> float:
    """The moment (from now + 3 s) to stop the triggerer so the most deadlines fall in the takeover gap."""
    earliest = time.time() + 3
    candidates = [earliest] + [d - 1 for d in deadlines if d - 1 > earliest]
    return max(candidates, key=lambda t: (sum(t < d <= t + gap for d in deadlines), -t))


def run_takeover(
    live: FailoverSite,
    dag_id: str,
    sensors: list[Sensor],
    stop: Any,
    stop_job: Any,
    *,
    expected_gap: float,
    takeover_limit: float,
    looks_after_deadline: int,
    graceful: bool,
) -> None:
    """Trigger the DAG, wait until every sensor is deferred, `stop()` the triggerer whose job is
    `stop_job()`, and check it all."""
    by_task = {s.task_id: s for s in sensors}
    run_id = live.api.trigger(dag_id)

    def all_deferred() -> bool:
        live.procs.check_alive()
        states = ti_states(live, dag_id, run_id)
        waiting = [t for t, (state, _) in states.items() if state not in ("deferred", "skipped")]
        return len(states) == len(sensors) and not waiting

    wait_until(f"all {len(sensors)} sensors of {dag_id} deferred", all_deferred, timeout=900, interval=2)
    before = trigger_rows(live, dag_id, run_id)
    deadlines = {t: deadline_of(live, kwargs) for t, (_, _, kwargs) in before.items()}
    timeouts = [deadlines[t] for t in before if by_task[t].outcome == "timeout"]
    stop_at = pick_stop_time(timeouts, expected_gap)
    time.sleep(max(stop_at - time.time(), 0))

    seq_at_stop = max((r["seq"] for r in live.control.requests()), default=0)
    opened_at_stop = live.control.health()["connections"]["opened_total"]
    stopped_job = stop_job()
    held = {t for t, (_, job, _) in trigger_rows(live, dag_id, run_id).items() if job == stopped_job}
    assert held, "the triggerer to stop holds no trigger"
    stopped_at, stopped_mono = time.time(), time.monotonic()
    stop()

    def taken_over() -> bool:
        rows = trigger_rows(live, dag_id, run_id)
        return all(job is not None and job != stopped_job for _, job, _ in rows.values())

    wait_until("the triggers taken over", taken_over, timeout=takeover_limit + 60, interval=0.5)
    takeover_s = time.time() - stopped_at
    moved = {t: row for t, row in trigger_rows(live, dag_id, run_id).items() if t in held}
    # Deadlines that passed while the triggers moved.
    expired_in_move = [
        t
        for t in held
        if by_task[t].outcome == "timeout" and stopped_at < deadlines[t] <= stopped_at + takeover_s
    ]
    # The burst: every moved trigger's first poll, through the one surviving triggerer's pool.
    time.sleep(2 * POLL)
    burst = [r for r in live.control.requests(since=seq_at_stop) if r["time"] >= stopped_mono]
    opened = live.control.health()["connections"]["opened_total"] - opened_at_stop

    script(live.control, [s for s in sensors if s.outcome != "timeout"], finished=True)
    states = live.api.wait_for_runs({dag_id: run_id}, timeout=900)
    final = ti_states(live, dag_id, run_id)

    print(
        f"\n{dag_id}: every trigger moved {takeover_s:.1f} s after the stop; "
        f"{len(held)} triggers held by it, {len(expired_in_move)} of them with a deadline inside the "
        f"move; first-poll burst: {len(burst)} requests, at most "
        f"{max_in_flight(burst)} at once, {opened} new connections"
    )
    assert takeover_s <= takeover_limit, (
        f"the takeover took {takeover_s:.1f} s (limit {takeover_limit:.0f} s)"
    )
    # Moved as they were: same rows, same kwargs (so the same absolute deadline).
    assert set(moved) <= set(before)
    for task_id, (trigger_id, _, kwargs) in moved.items():
        assert (trigger_id, kwargs) == (before[task_id][0], before[task_id][2]), task_id
    # Every sensor in its scripted outcome, exactly once.
    wrong = {t: final[t] for t, s in by_task.items() if final.get(t) != (EXPECTED_STATE[s.outcome], 1)}
    assert not wrong, f"not in their scripted outcome (state, try): {wrong}"
    assert states[dag_id] == "failed"  # the failing sensors fail the run
    history = live.query(
        "SELECT count(*) FROM task_instance_history WHERE dag_id = %s AND run_id = %s", dag_id, run_id
    )
    assert history[0][0] == 0, "a sensor ran more than one try"
    # A deadline that passed while its trigger moved: one look after the takeover, then timeout.
    assert expired_in_move, (
        "no timing-out sensor had its deadline inside the takeover; the test proved nothing"
    )
    after_stop = live.control.requests(since=seq_at_stop)
    looked: dict[str, int] = {}
    for task_id in expired_in_move:
        times = sorted(
            r["time"]
            for r in after_stop
            if r["run_id"] == by_task[task_id].run_id and r["time"] >= stopped_mono
        )
        # One look is one poll with the hook's retries inside the trigger's one-second floor; a
        # fresh wait would look every POLL seconds for the whole timeout again.
        looks = sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > 2.0)
        looked[task_id] = looks
    assert all(looks <= looks_after_deadline for looks in looked.values()), looked
    # SIGKILL: only the new triggerer can end them, with one look each. SIGTERM: the old one may
    # still end some on its way out (a poll that began before the stop and came back after the
    # deadline), but not all of them.
    if graceful:
        assert any(looked.values()), looked
    else:
        assert all(looked.values()), looked
    # No connection storm: the burst stays within one pool's request slots.
    assert max_in_flight(burst) <= MAX_CONCURRENT_REQUESTS
    # Connections: one pool per triggerer process that polls after the stop - the new one, and on
    # SIGTERM also the old one, whose polls in flight may still open a connection on its way out.
    pools = 2 if graceful else 1
    assert opened <= pools * MAX_CONCURRENT_REQUESTS, f"{opened} connections opened during the takeover"


# ------------------------------------------------------------------------------------ tests


def test_sigkilled_triggerer_s_sensors_are_taken_over_by_the_other(failover: FailoverSite) -> None:
    triggerer_a = failover.triggerers[0]
    failover.start_triggerer("triggerer-b")
    wait_until("two live triggerers", lambda: len(alive_triggerer_jobs(failover)) == 2, timeout=120)

    def kill_a() -> None:
        failover.procs.signal(triggerer_a, signal.SIGKILL)  # the whole group: the trigger runner too
        triggerer_a.popen.wait(timeout=10)
        failover.triggerers.remove(triggerer_a)
        failover.procs.stop(triggerer_a, grace=1)

    run_takeover(
        failover,
        KILL_DAG,
        plan(KILL_DAG, 10_000),
        kill_a,
        # Triggerer A's job: the first of the two (B started after A was healthy).
        lambda: running_triggerer_jobs(failover)[0],
        expected_gap=HEALTH_CHECK_THRESHOLD + 2,
        # Dead after the health-check threshold, then 50 triggers per assignment loop (about 1 s).
        takeover_limit=HEALTH_CHECK_THRESHOLD + 200 / 50 * 2 + 10,
        looks_after_deadline=1,
        graceful=False,
    )


def test_sigterm_and_restart_of_the_only_triggerer(failover: FailoverSite) -> None:
    for extra in failover.triggerers[:-1]:  # one triggerer only (the survivor of the test above, if any)
        failover.procs.stop(extra)
        failover.triggerers.remove(extra)
    old = failover.triggerers[-1]

    def restart() -> None:
        failover.procs.stop(old)  # SIGTERM: the triggerer ends its job and exits
        assert old.popen.returncode is not None
        failover.triggerers.remove(old)
        failover.start_triggerer(f"triggerer-restarted-{int(time.time())}")

    run_takeover(
        failover,
        RESTART_DAG,
        plan(RESTART_DAG, 50_000),
        restart,
        lambda: running_triggerer_jobs(failover)[-1],
        expected_gap=15,
        # A graceful stop ends the job at once; the new triggerer's start is what takes long.
        takeover_limit=90,
        # The old triggerer may still look once while it shuts down, the new one once more.
        looks_after_deadline=2,
        graceful=True,
    )
