"""The demo behind `scripts/demo`: every example DAG, in a real Airflow 3.3, against the emulator.

Default mode runs `airflow dags test <dag_id>` for each DAG (deferrable tasks run their trigger
inline). `--live` starts a real local Airflow instead - api-server, scheduler, dag-processor and
triggerer on 127.0.0.1 with SQLite and the LocalExecutor - triggers every DAG through the REST
API and waits for them, so deferrable sensors really defer to the triggerer process.

Either way the Airflow home is a throwaway directory, the emulator listens on a free port of
127.0.0.1 with the public demo credentials, and a summary table is built from the metadata DB
and the XComs. Every process started here runs in its own process group and is killed on exit,
on Ctrl-C, on SIGTERM/SIGHUP and on failure; the exit status is non-zero when anything failed.

The process and Airflow-environment helpers are also used by tests/e2e.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "example_dags"
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")

# The triggerer's warning when a trigger blocks its event loop (Airflow >= 3.2).
BLOCKED_LOOP_MESSAGE = "Triggerer's async thread was blocked"
# Written into the task log when a task hands over to the triggerer.
DEFERRED_MESSAGE = "Pausing task as DEFERRED"

# Which vendor an operator class belongs to, when its XCom does not say.
VENDOR_PREFIXES = (
    ("Ice", "Alibaba Cloud ICE"),
    ("DataWorks", "Alibaba Cloud DataWorks"),
    ("CloudInfinite", "Tencent Cloud Infinite"),
    ("WeData", "Tencent Cloud WeData"),
)


def say(message: str) -> None:
    print(message, flush=True)


# -- processes ------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if this runner is killed without a chance to clean up."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Managed:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    long_running: bool


class ProcessSet:
    """Every process we start, each leading its own process group; `stop_all` kills every group.

    Airflow components fork workers and supervisors; killing the group (not just the leader)
    is what leaves nothing behind.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._procs: list[Managed] = []

    def __enter__(self) -> ProcessSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        cwd: Path = ROOT,
        long_running: bool = True,
    ) -> Managed:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        managed = Managed(name, popen, log_path, long_running)
        self._procs.append(managed)
        return managed

    def run(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], *, timeout: float, cwd: Path = ROOT
    ) -> Managed:
        """Run a command to completion (killed, with its group, at the timeout)."""
        managed = self.start(name, argv, env, cwd=cwd, long_running=False)
        try:
            managed.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(managed.popen.pid, signal.SIGKILL)
            managed.popen.wait()
        finally:
            # Its own children (e.g. task supervisors) go with it.
            self._kill_group(managed.popen.pid, signal.SIGKILL)
        return managed

    def check_alive(self) -> None:
        """Fail fast when an Airflow component died, naming it and its log."""
        for managed in self._procs:
            if managed.long_running and managed.popen.poll() is not None:
                raise RuntimeError(
                    f"{managed.name} exited with status {managed.popen.returncode}; "
                    f"see {managed.log_path}:\n{tail(managed.log_path)}"
                )

    @staticmethod
    def _kill_group(pgid: int, sig: signal.Signals) -> bool:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop_all(self, grace: float = 20.0) -> None:
        """SIGTERM every group (newest first), wait up to `grace` seconds, then SIGKILL what is left."""
        for managed in reversed(self._procs):
            self._kill_group(managed.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for managed in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                managed.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
        while time.monotonic() < deadline and any(self._group_alive(m.popen.pid) for m in self._procs):
            time.sleep(0.2)
        for managed in self._procs:
            self._kill_group(managed.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                managed.popen.wait(timeout=5)
        self._procs.clear()


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit, SIGINT into KeyboardInterrupt, so `finally` blocks
    kill what we started."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Also when started in the background of a script, where SIGINT is ignored by default.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def ignoring_signals() -> Iterator[None]:
    """Let cleanup finish: a second Ctrl-C must not leave half-killed process groups behind."""
    previous = {
        sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, check: Callable[[], Any], *, timeout: float, interval: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; raise naming `what` at the timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (httpx.HTTPError, OSError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout:.0f} s waiting for {what}" + (f" ({last_error})" if last_error else "")
    )


# -- emulator --------------------------------------------------------------------------------------


def demo_connections(emulator_url: str) -> dict[str, str]:
    """`AIRFLOW_CONN_*` for both connection types, pointing every API at the emulator."""
    from airflow_provider_cloudflows.emulator import config

    alibaba = {
        "conn_type": "alibabacloud",
        "login": config.ALIBABA_DEMO_ACCESS_KEY_ID,
        "password": config.ALIBABA_DEMO_ACCESS_KEY_SECRET,
        "extra": {"region": "cn-shanghai", "endpoint": emulator_url},
    }
    tencent = {
        "conn_type": "tencentcloud",
        "login": config.TENCENT_DEMO_SECRET_ID,
        "password": config.TENCENT_DEMO_SECRET_KEY,
        "extra": {"region": "ap-guangzhou", "endpoint": emulator_url, "bucket": DEMO_BUCKET},
    }
    return {
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT": json.dumps(alibaba),
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT": json.dumps(tencent),
    }


DEMO_BUCKET = "examplebucket-1250000000"


def demo_emulator_config() -> Any:
    """The default emulator configuration plus every vendor service's `demo_runs()`."""
    from airflow_provider_cloudflows.emulator.config import EmulatorConfig
    from airflow_provider_cloudflows.emulator.services import VENDOR_MODULES

    runs: list[Any] = []
    for name in VENDOR_MODULES:
        qualified = f"airflow_provider_cloudflows.emulator.services.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
            continue
        if demo_runs := getattr(module, "demo_runs", None):
            runs.extend(demo_runs())
    return EmulatorConfig(runs=runs)


def start_emulator(procs: ProcessSet, env: Mapping[str, str], workdir: Path) -> str:
    """Start the emulator on a free port of 127.0.0.1 with every vendor's demo runs; return its URL."""
    from airflow_provider_cloudflows.emulator.server import wait_healthy

    config_path = workdir / "emulator-config.json"
    config_path.write_text(demo_emulator_config().to_json(), encoding="utf-8")
    config_path.chmod(0o600)
    port = free_port()
    emulator = procs.start(
        "emulator",
        [
            sys.executable,
            "-m",
            "airflow_provider_cloudflows.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config",
            str(config_path),
        ],
        env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, timeout=30, alive=lambda: emulator.popen.poll() is None)
    return url


def preload_cross_cloud_runs(emulator_url: str, *, ci_run_id: str, ice_task_id: str) -> list[str]:
    """Script the Cloud Infinite execution and ICE task the cross-cloud DAG waits for.

    They advance one step per poll, so however late the DAG gets to them, its sensors find
    them unfinished and defer, and the trigger needs a few polls to see them finish.
    """
    from airflow_provider_cloudflows.emulator.control import EmulatorControl
    from airflow_provider_cloudflows.emulator.services.cloud_infinite import execution_spec
    from airflow_provider_cloudflows.emulator.services.ice import task_spec

    specs = [
        execution_spec(ci_run_id, object_key="input/cross-cloud.mp4", advance="poll"),
        task_spec(ice_task_id, advance="poll"),
    ]
    with EmulatorControl(emulator_url) as control:
        control.script_runs(specs)
    return [f"{spec['vendor']} {spec['run_id']}" for spec in specs]


def preload_runs_named_by_params(emulator_url: str, dags: Mapping[str, Any]) -> list[str]:
    """Preload the runs DAGs wait for without starting them (named by the cross-cloud DAG's params)."""
    preloaded: list[str] = []
    for dag in dags.values():
        if "ci_run_id" in dag.params and "ice_task_id" in dag.params:
            preloaded += preload_cross_cloud_runs(
                emulator_url, ci_run_id=dag.params["ci_run_id"], ice_task_id=dag.params["ice_task_id"]
            )
    return preloaded


# -- Airflow environment ------------------------------------------------------------------------------


@dataclass
class AirflowSite:
    """A throwaway Airflow home and the environment every Airflow process of the demo shares."""

    home: Path
    env: dict[str, str]
    api_url: str | None = None

    @property
    def logs(self) -> Path:
        return self.home / "logs"


def airflow_site(
    home: Path,
    emulator_url: str,
    *,
    dags_folder: Path = EXAMPLE_DAGS,
    api_port: int | None = None,
    base_env: Mapping[str, str] | None = None,
) -> AirflowSite:
    """The environment for a local Airflow on SQLite; with `api_port`, for the live components too.

    A fresh Fernet key, JWT secret and API secret per site: they only protect this throwaway
    home. `default_task_retries=1` (retry after 2 s) is the workaround for the Airflow 3.3.2
    scheduler race that can fail a deferrable task whose trigger fires within about 3 s
    (apache/airflow #67287, #72716); it only matters in live mode.
    """
    from cryptography.fernet import Fernet

    env = dict(base_env if base_env is not None else os.environ)
    for key in [k for k in env if k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))]:
        del env[key]
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "CLOUDFLOWS_REPORT_DIR": str(home / "reports"),
            "PYTHONUNBUFFERED": "1",
            **demo_connections(emulator_url),
        }
    )
    site = AirflowSite(home=home, env=env)
    if api_port is not None:
        site.api_url = f"http://127.0.0.1:{api_port}"
        env.update(
            {
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API__BASE_URL": site.api_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{site.api_url}/execution/",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "1",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
                # Not served (each component gets --skip-serve-logs), but never the shared defaults.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            }
        )
    return site


def migrate(procs: ProcessSet, site: AirflowSite) -> None:
    done = procs.run("db-migrate", [AIRFLOW, "db", "migrate"], site.env, timeout=180)
    if done.popen.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed; see {done.log_path}:\n{tail(done.log_path)}")


def start_components(procs: ProcessSet, site: AirflowSite, components: Sequence[str]) -> None:
    """Start Airflow components (api-server first: the others talk to its execution API)."""
    assert site.api_url is not None
    port = site.api_url.rsplit(":", 1)[1]
    commands = {
        "api-server": [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", port, "--workers", "1"],
        "scheduler": [AIRFLOW, "scheduler", "--skip-serve-logs"],
        "dag-processor": [AIRFLOW, "dag-processor"],
        "triggerer": [AIRFLOW, "triggerer", "--skip-serve-logs"],
    }
    for name in components:
        procs.start(name, commands[name], site.env)


class ApiClient:
    """The Airflow REST API as the admin of a local simple-auth-manager site."""

    def __init__(self, base_url: str, procs: ProcessSet | None = None) -> None:
        self.base_url = base_url
        self.procs = procs
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def wait_ready(self, components: Sequence[str], timeout: float = 120) -> None:
        def healthy() -> bool:
            if self.procs:
                self.procs.check_alive()
            response = self.http.get("/api/v2/monitor/health", timeout=3)
            if response.status_code != 200:
                return False
            health = response.json()
            wanted = {"metadatabase", *(c.replace("-", "_") for c in components if c != "api-server")}
            return all(health.get(c, {}).get("status") == "healthy" for c in wanted)

        wait_until("the Airflow components to report healthy", healthy, timeout=timeout)
        token = self.http.get("/auth/token").raise_for_status().json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(path, params=params or None).raise_for_status().json()

    def post(self, path: str, body: Any) -> Any:
        return self.http.post(path, json=body).raise_for_status().json()

    def patch(self, path: str, body: Any) -> Any:
        return self.http.patch(path, json=body).raise_for_status().json()

    def wait_for_dags(self, dag_ids: Sequence[str], timeout: float = 120) -> None:
        def parsed() -> bool:
            if self.procs:
                self.procs.check_alive()
            errors = self.get("/api/v2/importErrors")["import_errors"]
            if errors:
                raise RuntimeError("DAG import errors:\n" + "\n".join(e["stack_trace"] for e in errors))
            known = {d["dag_id"] for d in self.get("/api/v2/dags", limit=1000)["dags"]}
            return set(dag_ids) <= known

        wait_until(f"the dag-processor to parse {', '.join(dag_ids)}", parsed, timeout=timeout, interval=1)

    def trigger(self, dag_id: str) -> str:
        self.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})
        # A logical date (now, as the UI's trigger button sends) so templates may use `ds`.
        body = {"logical_date": datetime.now(UTC).isoformat()}
        return str(self.post(f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def wait_for_runs(self, runs: Mapping[str, str], timeout: float) -> dict[str, str]:
        """Wait until every (dag_id -> run_id) is finished; return their states."""
        states: dict[str, str] = {}

        def finished() -> bool:
            if self.procs:
                self.procs.check_alive()
            for dag_id, run_id in runs.items():
                if states.get(dag_id) in ("success", "failed"):
                    continue
                state = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
                if state != states.get(dag_id):
                    say(f"    {dag_id}: {state}")
                states[dag_id] = state
            return all(s in ("success", "failed") for s in states.values())

        wait_until("the DAG runs to finish", finished, timeout=timeout, interval=2)
        return states


# -- what ran ------------------------------------------------------------------------------------------


def load_dags(dags_folder: Path) -> dict[str, Any]:
    """The DAGs in the folder by id, in file order; fails on any import error (needs the site env set)."""
    from airflow.dag_processing.dagbag import DagBag

    # DagBag logs each file it fills from; the demo's own output says which DAGs it found.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise RuntimeError(
            "DAG import errors:\n" + "\n".join(f"{p}: {e}" for p, e in bag.import_errors.items())
        )
    order = sorted(bag.dag_ids, key=lambda d: (Path(bag.dags[d].fileloc).name, d))
    return {dag_id: bag.dags[dag_id] for dag_id in order}


@dataclass
class TaskRow:
    dag_id: str
    task_id: str
    operator: str
    state: str
    tries: int
    duration: float | None
    vendor: str = ""
    run_id: str = ""
    run_state: str = ""
    task_runs: int | None = None
    deferred: bool | None = None


@dataclass
class DagResult:
    dag_id: str
    run_id: str
    state: str
    duration: float | None
    tasks: list[TaskRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "success" and not any(
            t.state in ("failed", "upstream_failed") for t in self.tasks
        )


def vendor_run_of(xcoms: Mapping[str, Any]) -> dict[str, Any] | None:
    """The vendor run a task pushed: the sensors' and get operators' return value, or key `run`."""
    for key in ("run", "return_value"):
        value = xcoms.get(key)
        if isinstance(value, dict) and "vendor" in value and "run_id" in value:
            return value
    return None


def describe_task(row: TaskRow, xcoms: Mapping[str, Any]) -> TaskRow:
    run = vendor_run_of(xcoms)
    if run is not None:
        row.run_id = str(run["run_id"])
        row.run_state = str(run.get("raw_state") or run.get("state") or "")
        row.task_runs = len(run.get("task_runs") or [])
    elif "run_id" in xcoms:
        row.run_id = str(xcoms["run_id"])
    if row.task_runs is None and isinstance(xcoms.get("task_runs"), list):
        row.task_runs = len(xcoms["task_runs"])
    row.vendor = next((v for prefix, v in VENDOR_PREFIXES if row.operator.startswith(prefix)), "")
    if not row.vendor and run is not None:
        row.vendor = str(run["vendor"])
    return row


def collect_results(dag_runs: Mapping[str, str | None]) -> list[DagResult]:
    """Read each DAG's run (the given run id, or its latest), task instances and XComs from the DB."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    results: list[DagResult] = []
    with create_session() as session:
        for dag_id, wanted in dag_runs.items():
            query = select(DagRun).where(DagRun.dag_id == dag_id)
            query = query.where(DagRun.run_id == wanted) if wanted else query.order_by(DagRun.id.desc())
            dag_run = session.scalars(query.limit(1)).first()
            if dag_run is None:
                results.append(DagResult(dag_id, wanted or "-", "missing", None))
                continue
            duration = (
                (dag_run.end_date - dag_run.start_date).total_seconds()
                if dag_run.end_date and dag_run.start_date
                else None
            )
            result = DagResult(dag_id, dag_run.run_id, str(dag_run.state), duration)
            xcoms: dict[str, dict[str, Any]] = {}
            for task_id, key, value in session.execute(
                select(XComModel.task_id, XComModel.key, XComModel.value).where(
                    XComModel.dag_id == dag_id, XComModel.run_id == dag_run.run_id
                )
            ):
                xcoms.setdefault(task_id, {})[key] = XComModel.deserialize_value(_Row(value))
            tis = session.scalars(
                select(TaskInstance)
                .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dag_run.run_id)
                .order_by(TaskInstance.start_date, TaskInstance.task_id)
            )
            for ti in tis:
                row = TaskRow(
                    dag_id=dag_id,
                    task_id=ti.task_id,
                    operator=ti.operator or "",
                    state=str(ti.state),
                    tries=ti.try_number,
                    duration=ti.duration,
                )
                result.tasks.append(describe_task(row, xcoms.get(ti.task_id, {})))
            results.append(result)
    return results


@dataclass
class _Row:
    """XComModel.deserialize_value reads `.value` from a DB result row."""

    value: Any


def mark_deferrals(site: AirflowSite, results: Sequence[DagResult]) -> None:
    """Which tasks handed over to the triggerer: their task log says so and a trigger log exists."""
    for result in results:
        for row in result.tasks:
            task_dir = (
                site.logs / f"dag_id={row.dag_id}" / f"run_id={result.run_id}" / f"task_id={row.task_id}"
            )
            logs = [p for p in task_dir.glob("attempt=*.log*") if p.is_file()] if task_dir.is_dir() else []
            row.deferred = any(".log.trigger." in p.name for p in logs) or any(
                DEFERRED_MESSAGE in p.read_text(errors="replace") for p in logs if ".trigger." not in p.name
            )


def blocked_loop_warnings(log_path: Path) -> list[str]:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if BLOCKED_LOOP_MESSAGE in line]


# -- the summary table ------------------------------------------------------------------------------------


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def render_summary(results: Sequence[DagResult], *, live: bool) -> str:
    headers = [
        "DAG",
        "task",
        "vendor",
        "run id",
        "run state",
        "task runs",
        "Airflow state",
        "tries",
        "duration",
    ]
    if live:
        headers.append("deferred")
    rows: list[list[str]] = []
    for result in results:
        for t in result.tasks:
            row = [
                t.dag_id,
                t.task_id,
                t.vendor or "-",
                t.run_id or "-",
                t.run_state or "-",
                "-" if t.task_runs is None else str(t.task_runs),
                t.state,
                str(t.tries),
                _fmt_seconds(t.duration),
            ]
            if live:
                row.append("yes" if t.deferred else "no")
            rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]
    out.append("")
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        out.append(
            f"{mark} {result.dag_id}: run {result.run_id} {result.state} in {_fmt_seconds(result.duration)}"
        )
    return "\n".join(out)


# -- the two modes ------------------------------------------------------------------------------------------


def run_dags_test(
    procs: ProcessSet, site: AirflowSite, dag_ids: Sequence[str], timeout: float
) -> dict[str, str | None]:
    """`airflow dags test` per DAG, one after the other (they share one SQLite file)."""
    runs: dict[str, str | None] = {}
    for dag_id in dag_ids:
        started = time.monotonic()
        done = procs.run(f"dags-test-{dag_id}", [AIRFLOW, "dags", "test", dag_id], site.env, timeout=timeout)
        elapsed = time.monotonic() - started
        if done.popen.returncode == 0:
            say(f"    {dag_id}: done in {elapsed:.1f} s")
        else:
            say(f"    {dag_id}: exit status {done.popen.returncode} after {elapsed:.1f} s; {done.log_path}:")
            say(tail(done.log_path, 15))
        runs[dag_id] = None
    return runs


def run_live(
    procs: ProcessSet, site: AirflowSite, dag_ids: Sequence[str], timeout: float
) -> dict[str, str | None]:
    components = ("api-server", "scheduler", "dag-processor", "triggerer")
    started = time.monotonic()
    start_components(procs, site, components)
    assert site.api_url is not None
    api = ApiClient(site.api_url, procs)
    try:
        api.wait_ready(components)
        say(f"==> Airflow is up at {site.api_url} ({time.monotonic() - started:.1f} s); waiting for the DAGs")
        api.wait_for_dags(dag_ids)
        runs = {dag_id: api.trigger(dag_id) for dag_id in dag_ids}
        say(f"==> triggered {len(runs)} DAG runs; waiting for them")
        api.wait_for_runs(runs, timeout=timeout)
    finally:
        api.close()
    return dict(runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--live", action="store_true", help="run a real scheduler, triggerer, dag-processor and api-server"
    )
    parser.add_argument(
        "--dag", action="append", dest="dags", metavar="DAG_ID", help="only this DAG (repeatable)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per DAG (default 300)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the throwaway Airflow home (kept anyway on failure)"
    )
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="cloudflows-demo-"))
    ok, status = False, 1
    started = time.monotonic()
    with exit_on_signals(), ProcessSet(home / "logs" / "processes") as procs:
        try:
            ok = _demo(procs, home, args)
        except (RuntimeError, TimeoutError) as exc:
            say(f"error: {exc}")
        except KeyboardInterrupt:
            say("interrupted")
            status = 130
        except SystemExit as exc:  # SIGTERM / SIGHUP, see exit_on_signals
            say("stopped by a signal")
            status = exc.code if isinstance(exc.code, int) else 1
        finally:
            say("==> stopping everything the demo started")
            with ignoring_signals():
                procs.stop_all()
    say(f"==> {'all DAGs succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    if ok and not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    else:
        say(f"    Airflow home and logs kept in {home}")
    return 0 if ok else status


def _demo(procs: ProcessSet, home: Path, args: argparse.Namespace) -> bool:
    mode = (
        "live Airflow (api-server, scheduler, dag-processor, triggerer)" if args.live else "airflow dags test"
    )
    say(f"==> cloudflows demo: every example DAG against the emulator, with {mode}")
    say(
        f"    apache-airflow {version('apache-airflow')}, airflow-provider-cloudflows "
        f"{version('airflow-provider-cloudflows')}, Python {platform.python_version()}"
    )
    emulator_url = start_emulator(procs, os.environ, home)
    say(f"==> emulator of ICE, DataWorks, Cloud Infinite and WeData at {emulator_url}")
    site = airflow_site(home, emulator_url, api_port=free_port() if args.live else None)
    # This process reads the DAGs and, at the end, the metadata DB, as any other Airflow process.
    os.environ.clear()
    os.environ.update(site.env)
    migrate(procs, site)
    dags = load_dags(EXAMPLE_DAGS)
    unknown = sorted(set(args.dags or ()) - set(dags))
    if unknown:
        raise RuntimeError(f"no such DAG in {EXAMPLE_DAGS}: {', '.join(unknown)}")
    dag_ids = args.dags or list(dags)
    if preloaded := preload_runs_named_by_params(emulator_url, {d: dags[d] for d in dag_ids}):
        say(f"==> preloaded in the emulator: {', '.join(preloaded)}")
    say(f"==> AIRFLOW_HOME={home} (SQLite); DAGs: {', '.join(dag_ids)}")
    runner = run_live if args.live else run_dags_test
    runs = runner(procs, site, dag_ids, args.timeout)
    results = collect_results(runs)
    if args.live:
        mark_deferrals(site, results)
    say("")
    say(render_summary(results, live=args.live))
    say("")
    ok = bool(results) and all(r.ok for r in results)
    if args.live:
        blocked = blocked_loop_warnings(procs.log_dir / "triggerer.log")
        if blocked:
            say(
                f"FAIL the triggerer's event loop was blocked {len(blocked)} times:\n"
                + "\n".join(blocked[:5])
            )
            ok = False
        else:
            say("ok   the triggerer never reported a blocked event loop")
    reports = sorted((home / "reports").glob("*")) if (home / "reports").is_dir() else []
    for report in reports:
        if report.suffix == ".md":
            say(f"\n==> report written by the cross-cloud DAG ({report.name}):\n")
            say(report.read_text(encoding="utf-8"))
    return ok


if __name__ == "__main__":
    sys.exit(main())
