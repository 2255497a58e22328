"""Many concurrent keep-alive pollers: every one gets answers, over its own reused connection."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_cloudflows.auth import Acs3Auth, CosAuth, Tc3Auth
from airflow_provider_cloudflows.emulator import config as democfg
from airflow_provider_cloudflows.emulator.server import EmulatorServer
from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import Call, action, route
from airflow_provider_cloudflows.emulator.services.cos_xml import CosXmlService
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service

CLIENTS = 500
POLL_SECONDS = 3.0


class PollAlibaba(AlibabaRpcService):
    vendor = "ice"
    version = "2099-01-01"

    @action("Poll", required=("RunId",))
    async def poll(self, call: Call) -> dict[str, Any]:
        return {"State": self.store.observe(self.vendor, call.params["RunId"]).state}


class PollTencent(TencentApi3Service):
    vendor = "wedata"
    version = "2099-03-03"
    tc3_service = "poll"

    @action("Poll", required=("RunId",))
    async def poll(self, call: Call) -> dict[str, Any]:
        return {"State": self.store.observe(self.vendor, call.params["RunId"]).state}


class PollCos(CosXmlService):
    vendor = "cloud_infinite"

    @route("GET", "/poll/{run_id}", action="Poll")
    async def poll(self, call: Call) -> dict[str, Any]:
        return {"State": self.store.observe(self.vendor, call.path_params["run_id"]).state}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(services=[PollAlibaba, PollTencent, PollCos]) as srv:
        yield srv


# One TLS context for all clients: building one per client (CA bundle load) costs more than the polls.
_TLS = ssl.create_default_context()


class Crowd:
    """Synchronises the pollers: all connected and answered twice, then poll until `until`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.start = asyncio.Event()
        self.all_connected = asyncio.Event()
        self.connected = 0
        self.until = 0.0

    def arrived(self) -> None:
        self.connected += 1
        if self.connected == self.size:
            self.until = time.monotonic() + POLL_SECONDS
            self.all_connected.set()


async def _poll(client: httpx.AsyncClient, vendor: str, run_id: str) -> int:
    """One signed poll; the status, negated when the body is not the expected answer."""
    if vendor == "ice":
        response = await client.post(
            f"/?RunId={run_id}",
            headers={"x-acs-action": "Poll", "x-acs-version": "2099-01-01"},
            auth=Acs3Auth(democfg.ALIBABA_DEMO_ACCESS_KEY_ID, democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET),
        )
        ok = response.status_code == 200 and response.json()["State"] in {"Q", "R", "S"}
    elif vendor == "wedata":
        response = await client.post(
            "/",
            content=f'{{"RunId":"{run_id}"}}'.encode(),
            headers={
                "X-TC-Action": "Poll",
                "X-TC-Version": "2099-03-03",
                "X-TC-Region": "ap-guangzhou",
                "content-type": "application/json",
            },
            auth=Tc3Auth(democfg.TENCENT_DEMO_SECRET_ID, democfg.TENCENT_DEMO_SECRET_KEY, "poll"),
        )
        ok = response.status_code == 200 and "State" in response.json()["Response"]
    else:
        response = await client.get(
            f"/poll/{run_id}", auth=CosAuth(democfg.TENCENT_DEMO_SECRET_ID, democfg.TENCENT_DEMO_SECRET_KEY)
        )
        ok = response.status_code == 200 and b"<State>" in response.content
    return response.status_code if ok else -response.status_code


async def _poller(url: str, index: int, crowd: Crowd) -> list[int]:
    vendor = ("ice", "wedata", "cloud_infinite")[index % 3]
    run_id = f"run-{index}"
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120, verify=_TLS) as client:
        await crowd.start.wait()
        statuses = [await _poll(client, vendor, run_id) for _ in range(2)]
        crowd.arrived()
        await crowd.all_connected.wait()
        while time.monotonic() < crowd.until:
            statuses.append(await _poll(client, vendor, run_id))
            await asyncio.sleep(0.05)
    return statuses


@pytest.mark.asyncio
async def test_500_concurrent_keep_alive_pollers_all_get_answers(server: EmulatorServer) -> None:
    server.control.reset()
    server.control.script_runs(
        {
            "vendor": ("ice", "wedata", "cloud_infinite")[i % 3],
            "run_id": f"run-{i}",
            "states": ["Q", "R", "S"],
        }
        for i in range(CLIENTS)
    )
    opened_before = server.control.health()["connections"]["opened_total"]
    crowd = Crowd(CLIENTS)
    tasks = [asyncio.create_task(_poller(server.url, i, crowd)) for i in range(CLIENTS)]
    crowd.start.set()
    await asyncio.wait_for(crowd.all_connected.wait(), timeout=240)
    results = await asyncio.gather(*tasks)

    # Every poller held its keep-alive connection open at the barrier (the server was new).
    assert server.control.health()["connections"]["peak"] >= CLIENTS
    assert all(len(statuses) >= 2 and set(statuses) == {200} for statuses in results)
    total = sum(len(s) for s in results)
    records = server.control.requests()
    assert len(records) == total and {r["status"] for r in records} == {200}
    assert {r["vendor"] for r in records} == {"ice", "wedata", "cloud_infinite"}
    # One connection per poller for all of its polls (the control client may add one).
    opened = server.control.health()["connections"]["opened_total"] - opened_before
    assert CLIENTS <= opened <= CLIENTS + 2
