"""pytest fixtures for testing your own DAGs and hooks against the local emulator.

Installed with the package (entry point `cloudflows_emulator`), so the fixtures are available
in any test once airflow-provider-cloudflows[emulator] is installed:

    def test_my_dag_waits_for_wedata(cloudflows_emulator, monkeypatch):
        cloudflows_emulator.control.script_run(
            "wedata", "run-1", ["PENDING", "RUNNING", "SUCCESS"], fields={"ProjectId": "p1"}
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
            cloudflows_emulator.tencentcloud_connection_json(region="ap-guangzhou"),
        )
        ...  # run the sensor / dag.test(); it polls the emulator
        assert cloudflows_emulator.control.requests(vendor="wedata")

`cloudflows_emulator_server` (session scope) starts one emulator on a free port for the test
session; `cloudflows_emulator` (function scope) resets it before each test (runs, request
log, faults, nonces, credentials) and gives:

    .url                      e.g. "http://127.0.0.1:53411" (use as the connection's `endpoint`)
    .control                  EmulatorControl: script_run, requests, set_faults, reset, ...
    .alibaba_access_key_id / .alibaba_access_key_secret     demo Alibaba credentials
    .tencent_secret_id / .tencent_secret_key                demo Tencent credentials
    .alibabacloud_connection_json(...), .tencentcloud_connection_json(...)  AIRFLOW_CONN_* values

Set `CLOUDFLOWS_EMULATOR_URL` to reuse an emulator that is already running instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_cloudflows.emulator.control_client import EmulatorControl

EXTERNAL_URL_ENV = "CLOUDFLOWS_EMULATOR_URL"


@dataclass
class EmulatorFixture:
    url: str
    control: EmulatorControl
    alibaba_access_key_id: str
    alibaba_access_key_secret: str = field(repr=False)
    tencent_secret_id: str
    tencent_secret_key: str = field(repr=False)

    def _connection_json(self, conn_type: str, login: str, password: str, extra: dict[str, Any]) -> str:
        return json.dumps({"conn_type": conn_type, "login": login, "password": password, "extra": extra})

    def alibabacloud_connection_json(self, region: str = "cn-shanghai", **extra: Any) -> str:
        """An AIRFLOW_CONN_* JSON value for an `alibabacloud` connection aimed at the emulator."""
        return self._connection_json(
            "alibabacloud",
            self.alibaba_access_key_id,
            self.alibaba_access_key_secret,
            {"region": region, "endpoint": self.url, **extra},
        )

    def tencentcloud_connection_json(self, region: str = "ap-guangzhou", **extra: Any) -> str:
        """An AIRFLOW_CONN_* JSON value for a `tencentcloud` connection aimed at the emulator."""
        return self._connection_json(
            "tencentcloud",
            self.tencent_secret_id,
            self.tencent_secret_key,
            {"region": region, "endpoint": self.url, **extra},
        )


@pytest.fixture(scope="session")
def cloudflows_emulator_server() -> Iterator[Any]:
    """One emulator for the whole session (an EmulatorServer, or the external one)."""
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        from airflow_provider_cloudflows.emulator.control_client import EmulatorControl

        control = EmulatorControl(external)
        control.health()
        yield _External(external.rstrip("/"), control)
        control.close()
        return
    from airflow_provider_cloudflows.emulator.server import EmulatorServer

    with EmulatorServer() as server:
        yield server


@dataclass
class _External:
    url: str
    control: EmulatorControl


@pytest.fixture
def cloudflows_emulator(cloudflows_emulator_server: Any) -> EmulatorFixture:
    """The session emulator, reset to its configured start for this test."""
    from airflow_provider_cloudflows.emulator import config

    cloudflows_emulator_server.control.reset()
    return EmulatorFixture(
        url=cloudflows_emulator_server.url,
        control=cloudflows_emulator_server.control,
        alibaba_access_key_id=config.ALIBABA_DEMO_ACCESS_KEY_ID,
        alibaba_access_key_secret=config.ALIBABA_DEMO_ACCESS_KEY_SECRET,
        tencent_secret_id=config.TENCENT_DEMO_SECRET_ID,
        tencent_secret_key=config.TENCENT_DEMO_SECRET_KEY,
    )
