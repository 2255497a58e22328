"""The demo runs: what `scripts/demo` and `python -m airflow_provider_cloudflows.emulator --demo-runs`
preload, so the run ids the README and the example DAGs use exist (WeData `d0bf2249-…`, DataWorks
`1001`, ICE `d0c0ffee…0001`, ...). Each service module of emulator/services/ that has demo runs
declares them in its own `demo_runs()`.
"""

from __future__ import annotations

import importlib
from typing import Any

from airflow_provider_cloudflows.emulator.config import EmulatorConfig, ScriptedRunSpec


def demo_runs() -> list[dict[str, Any]]:
    """Every service's `demo_runs()`, in the registry's order (JSON form of ScriptedRunSpec)."""
    from airflow_provider_cloudflows.emulator.services import VENDOR_MODULES

    runs: list[dict[str, Any]] = []
    for name in VENDOR_MODULES:
        qualified = f"airflow_provider_cloudflows.emulator.services.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
            continue
        if service_demo_runs := getattr(module, "demo_runs", None):
            runs.extend(service_demo_runs())
    return runs


def with_demo_runs(config: EmulatorConfig | None = None) -> EmulatorConfig:
    """`config` (default: the default configuration) with the demo runs added after its own runs."""
    config = config or EmulatorConfig()
    demo = [ScriptedRunSpec.model_validate(spec) for spec in demo_runs()]
    return config.model_copy(update={"runs": [*config.runs, *demo]})
