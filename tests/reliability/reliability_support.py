"""What the reliability tests need to know about each vendor, in one table.

Each `VendorCase` knows how to script a run in the emulator with a given final state, which
verdict that state must give, how to build the vendor's sensor for it, and how to point an
Airflow connection at the emulator with fast retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_cloudflows.emulator.services import cloud_infinite as ci_emu
from airflow_provider_cloudflows.emulator.services import ice as ice_emu
from airflow_provider_cloudflows.emulator.services import wedata as wedata_emu
from airflow_provider_cloudflows.emulator.services.dataworks import (
    DEMO_PROJECT_ID as DW_PROJECT_ID,
)
from airflow_provider_cloudflows.emulator.services.dataworks import (
    default_bizdate,
    instance_spec,
)

# Fast retries for every test here: the connection extras RetryPolicy.from_extras reads.
FAST_RETRY_EXTRAS = {"retry_max_attempts": 6, "retry_base_delay": 0.005, "retry_max_delay": 0.04}

SUCCESS = "success"
FAILURE = "failure"


def _hex(seed: str, length: int = 32) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class VendorCase:
    """One vendor as the reliability tests drive it."""

    name: str  # the emulator's vendor key
    family: str  # connection type / credential family
    sensor_path: str  # module:Class of the vendor sensor
    # Final raw state -> the verdict the sensor/trigger must reach.
    outcomes: dict[str, str]
    spec: Callable[[str, str], dict[str, Any]]  # (run id, final raw state) -> ScriptedRunSpec JSON
    run_id: Callable[[int], str]
    sensor_kwargs: Callable[[str], dict[str, Any]]  # run id -> the vendor-named sensor arguments
    connection_extras: dict[str, Any] = field(default_factory=dict)
    run_params: dict[str, Any] = field(default_factory=dict)  # for hook.get_run

    @property
    def conn_env(self) -> str:
        return f"AIRFLOW_CONN_{self.family.upper()}_DEFAULT"

    def hook_class(self) -> type:
        sensor = self.sensor_class()
        return sensor.hook_class

    def sensor_class(self) -> type:
        import importlib

        module, _, name = self.sensor_path.partition(":")
        return getattr(importlib.import_module(module), name)

    def sensor(self, run_id: str, **kwargs: Any) -> Any:
        return self.sensor_class()(
            task_id=f"wait_{abs(hash(run_id)) % 10**8}", **self.sensor_kwargs(run_id), **kwargs
        )

    def connection_json(
        self, emulator: Any, *, login: str | None = None, password: str | None = None, **extra: Any
    ) -> str:
        if self.family == "alibabacloud":
            login = login or emulator.alibaba_access_key_id
            password = password or emulator.alibaba_access_key_secret
            region = "cn-shanghai"
        else:
            login = login or emulator.tencent_secret_id
            password = password or emulator.tencent_secret_key
            region = self.connection_extras.get("region", "ap-guangzhou")
        extras = {
            "region": region,
            "endpoint": emulator.url,
            **FAST_RETRY_EXTRAS,
            **self.connection_extras,
            **extra,
        }
        return json.dumps({"conn_type": self.family, "login": login, "password": password, "extra": extras})

    def mixed_specs(self, count: int, prefix: str = "soak") -> list[tuple[str, str, dict[str, Any]]]:
        """`count` runs cycling through every final state: (run id, expected verdict, spec)."""
        finals = list(self.outcomes)
        out = []
        for i in range(count):
            run_id = self.run_id(i if prefix == "soak" else 10_000 + i)
            final = finals[i % len(finals)]
            out.append((run_id, self.outcomes[final], self.spec(run_id, final)))
        return out


# -- ICE -------------------------------------------------------------------------------------------


def _ice_spec(run_id: str, final: str) -> dict[str, Any]:
    return ice_emu.task_spec(run_id, outcome=final, advance="poll")


ICE = VendorCase(
    name="ice",
    family="alibabacloud",
    sensor_path="airflow_provider_cloudflows.sensors.ice:IceWorkflowTaskSensor",
    outcomes={"Succeed": SUCCESS, "Failed": FAILURE, "Canceled": FAILURE},
    spec=_ice_spec,
    run_id=lambda i: _hex(f"ice-{i}"),
    sensor_kwargs=lambda run_id: {"workflow_task_id": run_id},
)


# -- DataWorks -------------------------------------------------------------------------------------

_DW_TASKS_OK = [
    ("extract", ["NotRun", "Running", "Success"]),
    ("load", ["NotRun", "NotRun", "Running", "Success"]),
]
_DW_TASKS_BAD = [
    ("extract", ["NotRun", "Running", "Success"]),
    ("load", ["NotRun", "NotRun", "Running", "Failure"]),
]


def _dataworks_spec(run_id: str, final: str) -> dict[str, Any]:
    import time

    tasks = _DW_TASKS_OK if final == "Success" else _DW_TASKS_BAD
    return instance_spec(
        int(run_id),
        ["NotRun", "WaitResource", "Running", final],
        tasks,
        name=f"soak_{run_id}",
        bizdate=default_bizdate(time.time()),
        project_id=DW_PROJECT_ID,
    )


DATAWORKS = VendorCase(
    name="dataworks",
    family="alibabacloud",
    sensor_path="airflow_provider_cloudflows.sensors.dataworks:DataWorksWorkflowInstanceSensor",
    # DataWorks has no cancelled state: a stopped instance ends in Failure.
    outcomes={"Success": SUCCESS, "Failure": FAILURE},
    spec=_dataworks_spec,
    run_id=lambda i: str(700_000_000 + i),
    sensor_kwargs=lambda run_id: {"instance_id": run_id},
)


# -- WeData ----------------------------------------------------------------------------------------


def _wedata_spec(run_id: str, final: str) -> dict[str, Any]:
    return wedata_emu.run_spec(run_id, final, advance="poll")


WEDATA = VendorCase(
    name="wedata",
    family="tencentcloud",
    sensor_path="airflow_provider_cloudflows.sensors.wedata:WeDataWorkflowRunSensor",
    # A skipped run is final and, by default, not an error (failure_states=["SKIPED"] changes that).
    outcomes={"SUCCESS": SUCCESS, "FAILED": FAILURE, "SKIPED": SUCCESS},
    spec=_wedata_spec,
    run_id=lambda i: (
        f"{_hex(f'wd-{i}', 8)}-{_hex(f'wd2-{i}', 4)}-4{_hex(f'wd3-{i}', 3)}-8{_hex(f'wd4-{i}', 3)}-{_hex(f'wd5-{i}', 12)}"
    ),
    sensor_kwargs=lambda run_id: {"execution_id": run_id, "project_id": wedata_emu.DEMO_PROJECT_ID},
    run_params={"project_id": wedata_emu.DEMO_PROJECT_ID},
)


# -- Cloud Infinite --------------------------------------------------------------------------------


def _ci_spec(run_id: str, final: str) -> dict[str, Any]:
    return ci_emu.execution_spec(run_id, object_key=f"input/{run_id}.mp4", outcome=final, advance="poll")


CLOUD_INFINITE = VendorCase(
    name="cloud_infinite",
    family="tencentcloud",
    sensor_path="airflow_provider_cloudflows.sensors.cloud_infinite:CloudInfiniteWorkflowExecutionSensor",
    outcomes={"Success": SUCCESS, "Failed": FAILURE, "Cancel": FAILURE},
    spec=_ci_spec,
    run_id=lambda i: "i" + _hex(f"ci-{i}"),
    sensor_kwargs=lambda run_id: {"run_id": run_id},
    connection_extras={"region": ci_emu.DEMO_REGION, "bucket": ci_emu.DEMO_BUCKET},
)


VENDORS: tuple[VendorCase, ...] = (ICE, DATAWORKS, WEDATA, CLOUD_INFINITE)
VENDOR_IDS = [v.name for v in VENDORS]


# -- driving triggers ------------------------------------------------------------------------------


async def collect_events(trigger: Any, limit: float) -> list[dict[str, Any]]:
    """Every event a trigger yields until its generator ends (a trigger must yield exactly one)."""

    async def drain() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(drain(), limit)


async def run_triggers(
    triggers: Iterable[Any], limit: float, concurrency: int | None = None
) -> list[list[dict[str, Any]]]:
    """Run many triggers at once on this event loop, as a triggerer does (at most `concurrency`)."""
    gate = asyncio.Semaphore(concurrency or 10**6)

    async def one(trigger: Any) -> list[dict[str, Any]]:
        async with gate:
            return await collect_events(trigger, limit)

    return list(await asyncio.gather(*(one(t) for t in triggers)))


def verdict_of_event(events: list[dict[str, Any]]) -> str:
    assert len(events) == 1, f"a trigger must yield exactly one event, got {events!r}"
    return events[0]["status"]
