"""Local emulator of the four vendor APIs (ICE, DataWorks, WeData, Cloud Infinite).

Run it with `python -m airflow_provider_cloudflows.emulator`, start it from Python with
`EmulatorServer` (thread) or `run_subprocess` (process), or use the pytest fixture
`cloudflows_emulator`. This package never imports Airflow; heavy imports happen on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_cloudflows.emulator.app import create_app
    from airflow_provider_cloudflows.emulator.config import EmulatorConfig
    from airflow_provider_cloudflows.emulator.control_client import EmulatorControl
    from airflow_provider_cloudflows.emulator.server import EmulatorServer, run_subprocess

_EXPORTS = {
    "EmulatorConfig": "airflow_provider_cloudflows.emulator.config",
    "EmulatorControl": "airflow_provider_cloudflows.emulator.control_client",
    "EmulatorServer": "airflow_provider_cloudflows.emulator.server",
    "run_subprocess": "airflow_provider_cloudflows.emulator.server",
    "create_app": "airflow_provider_cloudflows.emulator.app",
}

__all__ = ["EmulatorConfig", "EmulatorControl", "EmulatorServer", "create_app", "run_subprocess"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
