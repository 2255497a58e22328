"""The local emulator of the four vendor APIs, started for the demo with the runs its DAGs wait for."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cloudflows_demo.processes import ProcessSet, free_port


def demo_emulator_config() -> Any:
    """The default emulator configuration plus every vendor service's `demo_runs()`."""
    from airflow_provider_cloudflows.emulator.demo import with_demo_runs

    return with_demo_runs()


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


def preload_periodic_instances(emulator_url: str, *, project_id: int, workflow_id: int) -> list[str]:
    """Script the DataWorks periodic instances the following-runs DAG looks for by business date.

    One per business date around today (the DAG's `{{ ds }}` is the UTC date of its logical
    date, which may differ from Beijing's), each advancing one step per poll so the sensor
    finds it unfinished and defers.
    """
    from datetime import UTC, datetime, timedelta

    from airflow_provider_cloudflows.emulator.control import EmulatorControl
    from airflow_provider_cloudflows.emulator.services.dataworks import bizdate_ms, instance_spec

    today = datetime.now(UTC).date()
    days = {3000 + offset: today + timedelta(days=offset) for offset in (-1, 0, 1)}
    specs = [
        instance_spec(
            instance_id,
            ["NotRun", "WaitResource", "Running", "Success"],
            [
                ("extract", ["NotRun", "NotRun", "Running", "Success"]),
                ("load", ["NotRun", "NotRun", "NotRun", "Success"]),
            ],
            name="orders_nightly",
            project_id=project_id,
            workflow_id=workflow_id,
            bizdate=bizdate_ms(day),
            instance_type="Normal",
        )
        for instance_id, day in days.items()
    ]
    with EmulatorControl(emulator_url) as control:
        control.script_runs(specs)
    return [f"dataworks {instance_id} (business date {day})" for instance_id, day in days.items()]


def preload_task_instances(emulator_url: str, *, project_id: str, task_id: str) -> list[str]:
    """Script the WeData task instances of 02:00 Beijing time the following-runs DAG waits for.

    One per day around today (as for the DataWorks instances), each advancing one state per poll.
    """
    from datetime import UTC, datetime, timedelta

    from airflow_provider_cloudflows.emulator.control import EmulatorControl
    from airflow_provider_cloudflows.emulator.services.wedata import DEMO_WORKFLOW_ID
    from airflow_provider_cloudflows.emulator.services.wedata_task_instance import task_instance_spec

    today = datetime.now(UTC).date()
    times = [f"{today + timedelta(days=offset)} 02:00:00" for offset in (-1, 0, 1)]
    specs = [
        task_instance_spec(task_id, when, project_id=project_id, workflow_id=DEMO_WORKFLOW_ID, advance="poll")
        for when in times
    ]
    with EmulatorControl(emulator_url) as control:
        control.script_runs(specs)
    return [f"wedata task instance {spec['run_id']}" for spec in specs]


def preload_runs_named_by_params(emulator_url: str, dags: Mapping[str, Any]) -> list[str]:
    """Preload the runs DAGs wait for without starting them (named by the DAGs' params)."""
    preloaded: list[str] = []
    for dag in dags.values():
        if "ci_run_id" in dag.params and "ice_task_id" in dag.params:
            preloaded += preload_cross_cloud_runs(
                emulator_url, ci_run_id=dag.params["ci_run_id"], ice_task_id=dag.params["ice_task_id"]
            )
        if "dataworks_periodic_workflow_id" in dag.params:
            preloaded += preload_periodic_instances(
                emulator_url,
                project_id=dag.params["dataworks_project_id"],
                workflow_id=dag.params["dataworks_periodic_workflow_id"],
            )
        if "wedata_scheduled_task_id" in dag.params:
            preloaded += preload_task_instances(
                emulator_url,
                project_id=dag.params["wedata_project_id"],
                task_id=dag.params["wedata_scheduled_task_id"],
            )
    return preloaded


def finish_watched_run(emulator_url: str, *, project_id: str, workflow_id: str, in_seconds: float = 5) -> str:
    """A WeData run of the watched workflow that finishes in success `in_seconds` from now."""
    import time
    import uuid

    from airflow_provider_cloudflows.emulator.control import EmulatorControl
    from airflow_provider_cloudflows.emulator.services.wedata import run_spec

    execution_id = str(uuid.uuid4())
    spec = run_spec(
        execution_id,
        project_id=project_id,
        workflow_id=workflow_id,
        workflow_name="orders_hourly",
        trigger_type="Scheduler",
        advance="time",
    )
    with EmulatorControl(emulator_url) as control:
        control.script_runs([{**spec, "finishes_at": time.time() + in_seconds}])
    return execution_id
