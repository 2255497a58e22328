"""Fixtures shared by the ICE tests."""

from __future__ import annotations

import pytest
from ice_gateway import conn_json


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default `alibabacloud` connection, pointing at ICE in cn-shanghai."""
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", conn_json())


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch: pytest.MonkeyPatch):
    """The emulator, with the default `alibabacloud` connection aimed at it."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    return cloudflows_emulator
