"""Lineage fixtures: the emulator behind both connection types, and OpenLineage switched on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lineage_support import NAMESPACE


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch: pytest.MonkeyPatch):
    """The emulator, with the default `alibabacloud` and `tencentcloud` connections aimed at it."""
    from airflow_provider_cloudflows.emulator.services.cloud_infinite import DEMO_BUCKET

    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        cloudflows_emulator.tencentcloud_connection_json(region="ap-chongqing", bucket=DEMO_BUCKET),
    )
    return cloudflows_emulator


@pytest.fixture
def openlineage_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """OpenLineage enabled the way a deployment enables it: a transport and a namespace configured.

    The provider reads its configuration on every call under pytest (it turns its own caching
    off when PYTEST_VERSION is set), so the environment is all there is to set.
    """
    pytest.importorskip("airflow.providers.openlineage", reason="the `openlineage` extra is not installed")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", NAMESPACE)
    yield


@pytest.fixture
def openlineage_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The provider installed, OpenLineage not configured (no transport): the provider's 'disabled'."""
    pytest.importorskip("airflow.providers.openlineage", reason="the `openlineage` extra is not installed")
    for name in ("AIRFLOW__OPENLINEAGE__TRANSPORT", "OPENLINEAGE_URL", "AIRFLOW__OPENLINEAGE__CONFIG_PATH"):
        monkeypatch.delenv(name, raising=False)
    yield
