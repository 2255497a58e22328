"""The demo behind `scripts/demo`: every example DAG, in a real Airflow 3.3, against the emulator.

Default mode runs `airflow dags test <dag_id>` for each DAG (deferrable tasks run their trigger
inline). `--live` starts a real local Airflow instead - api-server, scheduler, dag-processor and
triggerer on 127.0.0.1 with the LocalExecutor and a throwaway PostgreSQL (initdb in a temporary
directory, a free port of 127.0.0.1, removed at the end) - triggers every DAG through the REST API
and waits for them, so deferrable sensors really defer to the triggerer process. The default mode
stays on SQLite.

Either way the Airflow home is a throwaway directory, the emulator listens on a free port of
127.0.0.1 with the public demo credentials, and a summary table is built from the metadata DB
and the XComs. Every process started here runs in its own process group and is killed on exit,
on Ctrl-C, on SIGTERM/SIGHUP and on failure; the exit status is non-zero when anything failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cloudflows_demo.emulator import finish_watched_run, preload_runs_named_by_params, start_emulator
from cloudflows_demo.postgres import Postgres, temporary_postgres
from cloudflows_demo.processes import ProcessSet, exit_on_signals, free_port, ignoring_signals, tail
from cloudflows_demo.report import blocked_loop_warnings, collect_results, mark_deferrals, render_summary, say
from cloudflows_demo.rest import ApiClient, wait_until
from cloudflows_demo.site import (
    AIRFLOW,
    EXAMPLE_DAGS,
    AirflowSite,
    airflow_site,
    load_dags,
    migrate,
    start_components,
)


def is_event_driven(dag: Any) -> bool:
    """Scheduled on an asset whose watcher fires when a cloud run ends: only a live triggerer runs it."""
    return "watched_workflow_id" in dag.params


def run_dags_test(
    procs: ProcessSet,
    site: AirflowSite,
    dag_ids: Sequence[str],
    timeout: float,
    event_driven: Mapping[str, Any] | None = None,
) -> dict[str, str | None]:
    """`airflow dags test` per DAG, one after the other (they share one SQLite file)."""
    runs: dict[str, str | None] = {}
    for dag_id in event_driven or {}:
        say(f"    {dag_id}: skipped, its asset watcher needs the live triggerer (scripts/demo --live)")
    for dag_id in [d for d in dag_ids if d not in (event_driven or {})]:
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
    procs: ProcessSet,
    site: AirflowSite,
    dag_ids: Sequence[str],
    timeout: float,
    event_driven: Mapping[str, Any] | None = None,
) -> dict[str, str | None]:
    """Start the four components, trigger every DAG through the REST API and wait for the runs.

    An event-driven DAG is not triggered: a WeData run of its watched workflow is made to finish
    in the emulator, and the DAG run its asset watcher starts is waited for.
    """
    components = ("api-server", "scheduler", "dag-processor", "triggerer")
    started = time.monotonic()
    start_components(procs, site, components)
    assert site.api_url is not None
    api = ApiClient(site.api_url, procs)
    try:
        api.wait_ready(components)
        say(f"==> Airflow is up at {site.api_url} ({time.monotonic() - started:.1f} s); waiting for the DAGs")
        api.wait_for_dags(dag_ids)
        event_driven = event_driven or {}
        runs = {dag_id: api.trigger(dag_id) for dag_id in dag_ids if dag_id not in event_driven}
        for dag_id, dag in event_driven.items():
            runs[dag_id] = _asset_triggered_run(procs, site, api, dag_id, dag, timeout)
        say(f"==> {len(runs)} DAG runs; waiting for them")
        api.wait_for_runs(runs, timeout=timeout)
    finally:
        api.close()
    return dict(runs)


def _asset_triggered_run(
    procs: ProcessSet, site: AirflowSite, api: ApiClient, dag_id: str, dag: Any, timeout: float
) -> str:
    """Make a run of the DAG's watched WeData workflow finish; return the DAG run it starts."""
    api.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})
    triggerer_log = procs.log_dir / "triggerer.log"
    wait_until(
        f"the triggerer to start the asset watcher of {dag_id}",
        lambda: "Watching workflow" in triggerer_log.read_text(errors="replace"),
        timeout=timeout,
        interval=1,
    )
    # The emulator every connection of the site points at.
    emulator_url = json.loads(site.env["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"])["extra"]["endpoint"]
    execution_id = finish_watched_run(
        emulator_url, project_id=dag.params["project_id"], workflow_id=dag.params["watched_workflow_id"]
    )
    say(f"==> {dag_id}: WeData run {execution_id} of the watched workflow finishes in 5 s")

    def started() -> str | None:
        dag_runs = api.get(f"/api/v2/dags/{dag_id}/dagRuns", limit=10)["dag_runs"]
        return dag_runs[0]["dag_run_id"] if dag_runs else None

    run_id = str(
        wait_until(f"the asset watcher to start a run of {dag_id}", started, timeout=timeout, interval=1)
    )
    say(f"    {dag_id}: the asset event started DAG run {run_id}")
    return run_id


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
    with exit_on_signals(), contextlib.ExitStack() as stack:
        try:
            # Entered first, so it is stopped last: after every Airflow process that uses it.
            database = (
                stack.enter_context(temporary_postgres(home / "logs" / "postgres")) if args.live else None
            )
            procs = stack.enter_context(ProcessSet(home / "logs" / "processes"))
            ok = _demo(procs, home, args, database)
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
                stack.close()
    say(f"==> {'all DAGs succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    if ok and not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    else:
        say(f"    Airflow home and logs kept in {home}")
    return 0 if ok else status


def _demo(procs: ProcessSet, home: Path, args: argparse.Namespace, database: Postgres | None) -> bool:
    """The demo itself; `main` turns its failures and signals into the exit status and cleans up."""
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
    site = airflow_site(
        home,
        emulator_url,
        api_port=free_port() if args.live else None,
        database_url=database.sqlalchemy_url if database is not None else None,
    )
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
    db = f"PostgreSQL on 127.0.0.1:{database.port}" if database is not None else "SQLite"
    say(f"==> AIRFLOW_HOME={home} ({db}); DAGs: {', '.join(dag_ids)}")
    runner = run_live if args.live else run_dags_test
    event_driven = {d: dags[d] for d in dag_ids if is_event_driven(dags[d])}
    if event_driven and not args.live and len(event_driven) == len(dag_ids):
        raise RuntimeError(f"{', '.join(event_driven)}: asset-watcher DAGs run only with --live")
    runs = runner(procs, site, dag_ids, args.timeout, event_driven)
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
