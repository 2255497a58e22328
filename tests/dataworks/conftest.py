"""DataWorks fixtures (the payloads and helpers live in dataworks_support.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from dataworks_support import SEED_GET_WORKFLOW_INSTANCE, connection_installer


@pytest.fixture
def seed_instance() -> dict[str, Any]:
    return copy.deepcopy(SEED_GET_WORKFLOW_INSTANCE)


@pytest.fixture
def dataworks_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Installs AIRFLOW_CONN_ALIBABACLOUD_DEFAULT (call again to change it or add another id)."""
    return connection_installer(monkeypatch)
