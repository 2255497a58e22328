"""Fault soak: 100 scripted runs per vendor, waited on through the trigger and in poke mode, with
the emulator failing 30 % of requests. Every run must end exactly as scripted, and the extra
requests the faults cost must stay within a stated bound of the fault-free count.

The fault seed is fixed, so a failure here reproduces: rerun the same test.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from reliability_support import (
    FAILURE,
    SUCCESS,
    VENDOR_IDS,
    VENDORS,
    VendorCase,
    run_triggers,
    verdict_of_event,
)

SOAK_RUNS = 100
FAULT_RATE = 0.3
FAULT_SEED = 20251124
# A faulted soak may cost at most this many times the requests of the same soak without faults.
REQUEST_BOUND = 2.5
# "slow" answers after SLOW_SECONDS; the hooks here time out after HOOK_TIMEOUT, so a slow answer
# is a client-side timeout (the worst case of a slow gateway), retried like any transient fault.
HOOK_TIMEOUT = 1.0
SLOW_SECONDS = 1.5
# Many triggers share one event loop (as in a triggerer) and the emulator runs in this process:
# poll often enough to finish fast, rarely enough not to saturate one CPU.
POLL_INTERVAL = 0.2
POKE_INTERVAL = 0.05
# Poke-mode sensors run side by side, as on several workers.
POKE_WORKERS = 10
# Every trigger of a soak waits at once on the one event loop, as in a triggerer.
TRIGGER_CONCURRENCY = SOAK_RUNS
SOAK_LIMIT_SECONDS = 110  # the brief: under two minutes per vendor and mode

FIGURES: dict[tuple[str, str], dict[str, Any]] = {}


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch, request):
    vendor: VendorCase = request.param
    monkeypatch.setenv(vendor.conn_env, vendor.connection_json(cloudflows_emulator))
    return vendor, cloudflows_emulator


def _records(emulator: Any, vendor: VendorCase, since: int) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor=vendor.name, since=since)


def _last_seq(emulator: Any) -> int:
    records = emulator.control.requests()
    return records[-1]["seq"] if records else 0


def _trigger_pass(vendor: VendorCase, emulator: Any, specs: list[tuple[str, str, dict]]) -> dict[str, str]:
    emulator.control.script_runs([spec for _, _, spec in specs])
    triggers = []
    for run_id, _, _ in specs:
        sensor = vendor.sensor(run_id, poke_interval=POLL_INTERVAL, timeout=SOAK_LIMIT_SECONDS)
        trigger = sensor.build_trigger(deadline=time.time() + SOAK_LIMIT_SECONDS)
        trigger.hook_params["timeout"] = HOOK_TIMEOUT
        triggers.append(trigger)
    events = asyncio.run(run_triggers(triggers, SOAK_LIMIT_SECONDS + 5, TRIGGER_CONCURRENCY))
    return {run_id: verdict_of_event(ev) for (run_id, _, _), ev in zip(specs, events, strict=True)}


def _poke_pass(vendor: VendorCase, emulator: Any, specs: list[tuple[str, str, dict]]) -> dict[str, str]:
    emulator.control.script_runs([spec for _, _, spec in specs])

    def wait(run_id: str) -> str:
        sensor = vendor.sensor(run_id, poke_interval=POKE_INTERVAL, timeout=SOAK_LIMIT_SECONDS, mode="poke")
        params = sensor.hook_params()
        sensor.hook_params = lambda params=params: {**params, "timeout": HOOK_TIMEOUT}
        context = {"ti": mock.MagicMock()}
        try:
            value = sensor.execute(context)
        except AirflowFailException:
            return FAILURE
        except Exception as err:  # anything else is a wrong outcome, reported by type
            return f"error {type(err).__name__}: {err}"
        finally:
            sensor.hook.close()
        return SUCCESS if value["run_id"] == run_id else f"wrong run {value['run_id']}"

    with ThreadPoolExecutor(POKE_WORKERS, initializer=_worker_thread_init) as pool:
        return dict(zip([r for r, _, _ in specs], pool.map(wait, [r for r, _, _ in specs]), strict=True))


def _worker_thread_init() -> None:
    # Airflow 2 guards BaseOperator.execute with a thread-local that only the main thread starts.
    with contextlib.suppress(ImportError, AttributeError):
        from airflow.models.baseoperator import ExecutorSafeguard

        ExecutorSafeguard._sentinel.callers = {}


def _soak(vendor: VendorCase, emulator: Any, mode: str) -> None:
    run = _trigger_pass if mode == "trigger" else _poke_pass
    specs = vendor.mixed_specs(SOAK_RUNS)
    expected = {run_id: verdict for run_id, verdict, _ in specs}

    start = _last_seq(emulator)
    clean = run(vendor, emulator, specs)
    clean_records = _records(emulator, vendor, start)
    assert clean == expected
    assert not [r for r in clean_records if r["fault"]]

    emulator.control.set_faults(FAULT_RATE, seed=FAULT_SEED, slow_seconds=SLOW_SECONDS, retry_after_ms=20)
    start = _last_seq(emulator)
    began = time.monotonic()
    faulted = run(vendor, emulator, specs)  # scripting again restarts every run
    elapsed = time.monotonic() - began
    emulator.control.clear_faults()
    records = _records(emulator, vendor, start)

    kinds = Counter(r["fault"] for r in records if r["fault"])
    wrong = {run_id: (expected[run_id], got) for run_id, got in faulted.items() if got != expected[run_id]}
    figures = {
        "runs": len(specs),
        "outcomes": dict(Counter(expected.values())),
        "requests_fault_free": len(clean_records),
        "requests_faulted": len(records),
        "ratio": round(len(records) / len(clean_records), 2),
        "faults_injected": sum(kinds.values()),
        "fault_kinds": dict(sorted(kinds.items())),
        "wrong_outcomes": len(wrong),
        "seconds": round(elapsed, 1),
    }
    FIGURES[(vendor.name, mode)] = figures
    print(f"\nSOAK {vendor.name} {mode}: {figures}")

    assert not wrong, f"{len(wrong)} runs ended wrongly (expected, got): {dict(list(wrong.items())[:5])}"
    # Every kind of fault was really exercised, at about the configured rate.
    assert set(kinds) == {
        "http500",
        "http502",
        "http503",
        "throttle",
        "reset",
        "slow",
        "truncated",
        "malformed",
    }
    assert 0.2 <= figures["faults_injected"] / len(records) <= 0.4
    assert len(records) <= REQUEST_BOUND * len(clean_records), figures
    assert elapsed < SOAK_LIMIT_SECONDS


@pytest.mark.slow
@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_trigger_soak(emulator):
    vendor, emu = emulator
    _soak(vendor, emu, "trigger")


@pytest.mark.slow
@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_poke_soak(emulator):
    vendor, emu = emulator
    _soak(vendor, emu, "poke")


@pytest.mark.parametrize("emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_a_poll_whose_every_retry_fails_does_not_fail_the_poking_sensor(emulator):
    """An outage longer than one poll's retry budget: the poke says "not yet", the next one succeeds."""
    vendor, emu = emulator
    run_id, _, spec = vendor.mixed_specs(1)[0]
    emu.control.script_runs([spec])
    sensor = vendor.sensor(run_id, poke_interval=0.01, timeout=30, mode="poke")
    emu.control.set_faults(1.0, seed=FAULT_SEED, kinds=["http502"])
    assert sensor.poke({"ti": mock.MagicMock()}).is_done is False
    records = emu.control.requests(vendor=vendor.name)
    assert len(records) == 6 and {r["fault"] for r in records} == {"http502"}  # retry_max_attempts
    emu.control.clear_faults()
    assert sensor.execute({"ti": mock.MagicMock()})["run_id"] == run_id
