"""Cloud Infinite test fixtures."""

from __future__ import annotations

import pytest
from ci_support import REGION

from airflow_provider_cloudflows.emulator.services.cloud_infinite import DEMO_BUCKET


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    """The emulator, with the default `tencentcloud` connection aimed at it (region and bucket set)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        cloudflows_emulator.tencentcloud_connection_json(region=REGION, bucket=DEMO_BUCKET),
    )
    return cloudflows_emulator
