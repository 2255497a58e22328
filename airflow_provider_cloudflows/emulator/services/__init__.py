"""The emulated vendor services.

Each vendor module (ice, dataworks, wedata, cloud_infinite) defines one or more concrete
subclasses of a protocol base; `default_services()` finds them, so adding a vendor is only
adding its module.
"""

from __future__ import annotations

import importlib
import inspect

from airflow_provider_cloudflows.emulator.services.base import Service

VENDOR_MODULES = ("ice", "dataworks", "wedata", "cloud_infinite", "sts")


def services_in(module_name: str) -> list[type[Service]]:
    """Concrete services defined in one module (its `SERVICES` tuple when it has one)."""
    module = importlib.import_module(module_name)
    declared = getattr(module, "SERVICES", None)
    if declared is not None:
        return list(declared)
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Service) and obj.__module__ == module.__name__ and obj.is_concrete()
    ]


def default_services() -> list[type[Service]]:
    found: list[type[Service]] = []
    for name in VENDOR_MODULES:
        qualified = f"{__name__}.{name}"
        try:
            found.extend(services_in(qualified))
        except ModuleNotFoundError as exc:
            # A vendor module not written yet; any other missing import is a real error.
            if exc.name != qualified:
                raise
    return found
