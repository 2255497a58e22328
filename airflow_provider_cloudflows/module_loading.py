"""Import a class by dotted path (triggers rebuild their hook this way in the triggerer)."""

from __future__ import annotations

from importlib import import_module
from typing import Any


def import_class(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise ImportError(f"{path!r} is not a dotted path")
    return getattr(import_module(module_name), attr)


class LazyHookClass:
    """Class attribute `hook_class` resolved from the owner's `hook_class_path` on first use.

    A subclass may still assign a class to `hook_class` directly, which replaces this descriptor.
    """

    def __get__(self, instance: object, owner: type) -> Any:
        path = owner.hook_class_path
        cache = owner.__dict__.get("_resolved_hook_class")
        if cache is None or cache[0] != path:
            cache = (path, import_class(path))
            owner._resolved_hook_class = cache  # type: ignore[attr-defined]
        return cache[1]
