"""Helpers for the end-to-end tests: a real local Airflow 3 started with the `scripts/demo --live` helpers."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import demo_runner as demo  # noqa: E402

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CROSS_CLOUD = "example_cross_cloud"


@dataclass
class LiveAirflow:
    site: demo.AirflowSite
    api: demo.ApiClient
    procs: demo.ProcessSet
    emulator_url: str

    @property
    def url(self) -> str:
        assert self.site.api_url is not None
        return self.site.api_url

    def log_of(self, component: str) -> Path:
        return self.procs.log_dir / f"{component}.log"


def load_example_dag(name: str) -> Any:
    """An example DAG file as a module (for its constants)."""
    spec = importlib.util.spec_from_file_location(f"cloudflows_{name}", demo.EXAMPLE_DAGS / f"{name}.py")
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
