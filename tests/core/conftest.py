from __future__ import annotations

import pytest
from fake_vendor import BACKEND, FAKE_CONN

from airflow_provider_cloudflows.hooks.retry import RetryPolicy


@pytest.fixture
def fake(monkeypatch):
    """A fresh fake backend and a connection pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_FAKE_DEFAULT", FAKE_CONN)
    BACKEND.runs.clear()
    BACKEND.polls.clear()
    BACKEND.faults.clear()
    BACKEND.requests.clear()
    BACKEND.started.clear()
    BACKEND.stopped.clear()
    return BACKEND


@pytest.fixture
def fast_retries():
    return RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01)
