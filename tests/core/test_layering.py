"""Which part of the task layer may import which: read from the source, nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "airflow_provider_cloudflows"

# module or package -> parts of the package it must not import
FORBIDDEN = {
    "links": ("sensors", "operators", "triggers"),
    "xcom.py": ("sensors", "operators", "triggers", "links"),
    "verdict.py": ("sensors", "operators", "triggers", "links"),
    "sensors": ("operators",),
    "operators": ("sensors",),
    "targets": ("sensors", "operators", "triggers"),
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_part_imports_nothing_it_must_not(part: str) -> None:
    files = [PKG / part] if part.endswith(".py") else sorted((PKG / part).glob("*.py"))
    bad = {
        f"{path.relative_to(PKG)} imports {name}"
        for path in files
        for name in imported_modules(path)
        for other in FORBIDDEN[part]
        if name == f"airflow_provider_cloudflows.{other}"
        or name.startswith(f"airflow_provider_cloudflows.{other}.")
    }
    assert not bad
