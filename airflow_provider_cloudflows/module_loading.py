"""Import a class by dotted path (triggers rebuild their hook this way in the triggerer)."""

from __future__ import annotations

from importlib import import_module
from typing import Any


def import_class(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise ImportError(f"{path!r} is not a dotted path")
    return getattr(import_module(module_name), attr)
