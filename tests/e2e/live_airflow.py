"""Helpers for the end-to-end tests: a real local Airflow 3 started with the `scripts/demo --live` helpers."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudflows_demo.postgres import Postgres
from cloudflows_demo.processes import ProcessSet
from cloudflows_demo.rest import ApiClient
from cloudflows_demo.site import EXAMPLE_DAGS, AirflowSite

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# DAGs only the end-to-end tests run, parsed next to the example DAGs.
E2E_DAGS = Path(__file__).parent / "dags"
CROSS_CLOUD = "example_cross_cloud"


@dataclass
class LiveAirflow:
    site: AirflowSite
    api: ApiClient
    procs: ProcessSet
    emulator_url: str
    # The metadata DB of the site (tests may read it directly with `database.connect()`).
    database: Postgres | None = None

    @property
    def url(self) -> str:
        assert self.site.api_url is not None
        return self.site.api_url

    def log_of(self, component: str) -> Path:
        return self.procs.log_dir / f"{component}.log"

    def trigger_log_lines(self, dag_id: str, run_id: str, task_id: str, marker: str) -> list[str]:
        """The lines with `marker` that a task's triggers logged, wherever the triggerer wrote them.

        A trigger's log lines and its "finished" message reach the triggerer's supervisor on
        separate channels: lines read after it closed the trigger's log file go to the triggerer's
        own log instead, with the task's run id and task id as fields.
        """
        files = [p for p in self.site.task_logs(dag_id, run_id, task_id) if ".log.trigger." in p.name]
        own = self.log_of("triggerer")
        lines = [line for p in files for line in p.read_text(errors="replace").splitlines()]
        lines += [
            line
            for line in (own.read_text(errors="replace").splitlines() if own.exists() else [])
            if run_id in line and task_id in line
        ]
        return [line for line in lines if marker in line]


def dags_folder(home: Path) -> Path:
    """A DAGs folder of links to the example DAGs and the end-to-end tests' own DAGs."""
    folder = home / "dags"
    folder.mkdir(exist_ok=True)
    for dag_file in [*EXAMPLE_DAGS.glob("*.py"), *E2E_DAGS.glob("*.py")]:
        (folder / dag_file.name).symlink_to(dag_file)
    return folder


def load_example_dag(name: str) -> Any:
    """An example DAG file as a module (for its constants)."""
    spec = importlib.util.spec_from_file_location(f"cloudflows_{name}", EXAMPLE_DAGS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class FinishedRun:
    dag_id: str
    run_id: str
    state: str
    task_instances: dict[str, dict[str, Any]]
