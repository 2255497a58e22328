"""WeData fixtures (helpers live in wedata_support.py so test modules can import them)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from wedata_support import SEED_RESPONSE, install_connection


@pytest.fixture
def seed_response() -> dict[str, Any]:
    return copy.deepcopy(SEED_RESPONSE)


@pytest.fixture
def wedata_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default `tencentcloud` connection with the unit-test credentials."""
    install_connection(monkeypatch)
