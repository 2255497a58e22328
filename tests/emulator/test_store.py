"""Scripted runs, fault draws, the request log, nonces and time formats (no server)."""

from __future__ import annotations

import pytest

from airflow_provider_cloudflows.emulator import config as democfg
from airflow_provider_cloudflows.emulator.clock import (
    ci_time,
    epoch_ms,
    epoch_ms_str,
    iso8601_utc,
    parse_ci_time,
    parse_iso8601_utc,
)
from airflow_provider_cloudflows.emulator.config import FAULT_KINDS, EmulatorConfig
from airflow_provider_cloudflows.emulator.faults import FaultInjector
from airflow_provider_cloudflows.emulator.requestlog import RequestLog
from airflow_provider_cloudflows.emulator.state import EmulatorState, NonceCache
from airflow_provider_cloudflows.emulator.store import RunNotFound, RunStore, ScriptedTaskRun


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> RunStore:
    return RunStore(seed=3, monotonic=clock, wall=clock)


def test_poll_script_advances_one_step_per_observation_and_sticks(store: RunStore) -> None:
    store.create("wedata", "r1", ["PENDING", "RUNNING", "SUCCESS"])
    seen = [store.observe("wedata", "r1").state for _ in range(5)]
    assert seen == ["PENDING", "RUNNING", "SUCCESS", "SUCCESS", "SUCCESS"]


def test_peek_does_not_count_as_a_poll(store: RunStore) -> None:
    store.create("wedata", "r1", ["PENDING", "RUNNING"])
    assert [store.peek("wedata", "r1").state for _ in range(3)] == ["PENDING"] * 3
    assert store.observe("wedata", "r1").state == "PENDING"
    assert store.peek("wedata", "r1").state == "RUNNING"


def test_time_script_follows_elapsed_time_not_polls(store: RunStore, clock: FakeClock) -> None:
    store.create("ice", "t1", ["Init", "Processing", "Succeed"], advance="time", step_seconds=10)
    assert [store.observe("ice", "t1").state for _ in range(4)] == ["Init"] * 4
    clock.now += 9.9
    assert store.observe("ice", "t1").state == "Init"
    clock.now += 0.2
    assert store.observe("ice", "t1").state == "Processing"
    clock.now += 1000
    snap = store.observe("ice", "t1")
    assert (snap.state, snap.finished, snap.step) == ("Succeed", True, 2)


def test_task_runs_advance_in_lockstep_clamped_to_their_own_script(store: RunStore) -> None:
    store.create(
        "dataworks",
        "42",
        ["NotRun", "Running", "Running", "Failure"],
        task_runs=[
            ScriptedTaskRun("extract", ["NotRun", "Success"], task_id="1"),
            ScriptedTaskRun(
                "load", ["NotRun", "NotRun", "Running", "Failure"], error_code="E1", error_message="bad row"
            ),
        ],
        error_code="WF_FAILED",
        error_message="load failed",
    )
    steps = [store.observe("dataworks", "42") for _ in range(4)]
    assert [[t.state for t in s.task_runs] for s in steps] == [
        ["NotRun", "NotRun"],
        ["Success", "NotRun"],
        ["Success", "Running"],
        ["Success", "Failure"],
    ]
    # Errors show only once the run (or task) has reached its last state.
    assert [s.error_code for s in steps] == [None, None, None, "WF_FAILED"]
    assert [s.task_runs[1].error_code for s in steps] == [None, None, None, "E1"]
    assert steps[1].task_runs[0].finished and steps[1].task_runs[0].task_id == "1"


def test_stop_jumps_to_a_terminal_state_and_freezes(store: RunStore) -> None:
    store.create(
        "wedata",
        "r1",
        ["PENDING", "RUNNING", "RUNNING", "SUCCESS"],
        task_runs=[
            ScriptedTaskRun("a", ["WAITING", "SUCCESS"]),
            ScriptedTaskRun("b", ["WAITING", "RUNNING", "SUCCESS"]),
        ],
    )
    store.observe("wedata", "r1")  # the next poll would see step 1
    snap = store.stop("wedata", "r1", "FAILED", task_state="KILLED", error_message="stopped by user")
    assert snap.state == "FAILED" and snap.stopped and snap.finished
    assert [t.state for t in snap.task_runs] == ["SUCCESS", "KILLED"]
    assert snap.error_message == "stopped by user"
    for _ in range(3):
        assert store.observe("wedata", "r1").state == "FAILED"


def test_get_list_delete_and_reset(store: RunStore, clock: FakeClock) -> None:
    with pytest.raises(RunNotFound) as info:
        store.get("ice", "missing")
    assert info.value.run_id == "missing" and info.value.vendor == "ice"
    store.create("ice", "a", ["Init"], fields={"WorkflowId": "w1"})
    clock.now += 1
    store.create("ice", "b", ["Init"], fields={"WorkflowId": "w2"})
    clock.now += 1
    store.create("ice", "c", ["Init"], fields={"WorkflowId": "w1"})
    store.create("wedata", "a", ["PENDING"])
    assert [r.run_id for r in store.list("ice")] == ["a", "b", "c"]
    assert [r.run_id for r in store.list("ice", WorkflowId="w1")] == ["a", "c"]
    assert [r.run_id for r in store.list("ice", where=lambda r: r.run_id != "a")] == ["b", "c"]
    store.delete("ice", "b")
    assert not store.exists("ice", "b") and store.exists("wedata", "a")
    store.reset()
    assert len(store) == 0


def test_generated_ids_are_reproducible_per_seed(clock: FakeClock) -> None:
    one, two, other = RunStore(seed=5), RunStore(seed=5), RunStore(seed=6)
    first = [one.random_hex(), one.random_uuid(), one.next_int_id()]
    assert first == [two.random_hex(), two.random_uuid(), two.next_int_id()]
    assert other.random_hex() != first[0]
    assert len(first[0]) == 32 and first[1].count("-") == 4 and first[2] == 100_000_001
    one.reset()
    assert one.random_hex() == first[0]


def test_bad_scripts_are_refused(store: RunStore) -> None:
    with pytest.raises(ValueError):
        store.create("ice", "x", [])
    with pytest.raises(ValueError):
        store.create("ice", "x", ["Init"], advance="sometimes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- faults


def _sequence(injector: FaultInjector, n: int, vendor: str = "ice") -> list[str | None]:
    return [injector.draw(vendor) for _ in range(n)]


def test_fault_draws_are_deterministic_per_seed() -> None:
    a = _sequence(FaultInjector(rate=0.3, seed=11), 400)
    b = _sequence(FaultInjector(rate=0.3, seed=11), 400)
    c = _sequence(FaultInjector(rate=0.3, seed=12), 400)
    assert a == b
    assert a != c
    hits = [k for k in a if k]
    assert 80 <= len(hits) <= 160  # about 30 %
    assert set(hits) == set(FAULT_KINDS)  # a single draw also spreads over every kind


def test_fault_vendor_filter_still_consumes_one_draw_per_request() -> None:
    everyone = FaultInjector(rate=0.5, seed=4)
    only_ice = FaultInjector(rate=0.5, seed=4, vendors=["ice"])
    vendors = ["ice", "wedata"] * 100
    all_faults = [everyone.draw(v) for v in vendors]
    ice_faults = [only_ice.draw(v) for v in vendors]
    # Same draw per arrival: ice requests get exactly the faults they would get unfiltered.
    assert ice_faults == [f if v == "ice" else None for f, v in zip(all_faults, vendors, strict=True)]
    assert only_ice.draws == 200 and only_ice.injected == sum(1 for f in ice_faults if f)


def test_fault_kinds_and_rate_bounds() -> None:
    assert set(_sequence(FaultInjector(rate=1.0, seed=1, kinds=["slow"]), 20)) == {"slow"}
    assert set(_sequence(FaultInjector(rate=0.0, seed=1), 50)) == {None}
    assert FaultInjector(rate=1.0).draw(None) is None  # unroutable requests are never faulted
    with pytest.raises(ValueError):
        FaultInjector(rate=0.5, kinds=["meteor"])
    with pytest.raises(ValueError):
        FaultInjector(rate=1.5)


# --------------------------------------------------------------------------- log, nonces, state


def test_request_log_is_bounded_filtered_and_ordered() -> None:
    log = RequestLog(maxlen=5)
    records = [log.start("GET", "/") for _ in range(8)]
    for i, record in enumerate(records):
        record.vendor = "ice" if i % 2 else "wedata"
        record.action = "Get"
    records[-2], records[-1] = records[-1], records[-2]  # finishing order differs from arrival order
    for record in records:
        log.finish(record)
    kept = log.records()
    assert len(kept) == 5 and [r.seq for r in kept] == sorted(r.seq for r in kept)
    assert [r.seq for r in log.records(since=6, vendor="ice")] == [8]
    log.clear(restart_seq=True)
    assert len(log) == 0 and log.start("GET", "/").seq == 1


def test_nonce_cache_forgets_nonces_older_than_the_window() -> None:
    clock = FakeClock()
    nonces = NonceCache(ttl_seconds=60, clock=clock)
    nonces.add("a")
    clock.now += 30
    nonces.add("b")
    assert "a" in nonces and len(nonces) == 2
    clock.now += 31
    nonces.add("c")
    assert "a" not in nonces and {"b", "c"} == set(nonces)


def test_state_reset_restores_the_configured_start() -> None:
    config = EmulatorConfig.model_validate(
        {"runs": [{"vendor": "ice", "run_id": "pre", "states": ["Init", "Succeed"]}], "faults": {"rate": 0.5}}
    )
    state = EmulatorState(config)
    state.store.observe("ice", "pre")
    state.store.create("ice", "extra", ["Init"])
    state.set_faults(None)
    state.set_credentials("alibabacloud", {}, replace=True)
    state.log.finish(state.log.start("GET", "/"))
    state.nonces.add("n")
    state.reset()
    assert state.store.peek("ice", "pre").state == "Init"
    assert not state.store.exists("ice", "extra")
    assert state.faults.rate == 0.5
    assert state.credentials["alibabacloud"] and len(state.log) == 0 and len(state.nonces) == 0


def test_credential_reprs_hide_secrets() -> None:
    config = EmulatorConfig()
    state = EmulatorState(config)
    shown = repr(config) + repr(state.credentials) + str(config.alibabacloud)
    for secret in (
        democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET,
        democfg.ALIBABA_DEMO_STS_SECURITY_TOKEN,
        democfg.TENCENT_DEMO_SECRET_KEY,
        democfg.TENCENT_DEMO_STS_TOKEN,
    ):
        assert secret not in shown
    assert democfg.ALIBABA_DEMO_ACCESS_KEY_ID in shown


# --------------------------------------------------------------------------- time formats


def test_time_formats() -> None:
    epoch = 1562472732.5  # 2019-07-07T04:12:12.5Z
    assert iso8601_utc(epoch) == "2019-07-07T04:12:12Z"
    assert epoch_ms(epoch) == 1562472732500
    assert epoch_ms_str(epoch) == "1562472732500"
    assert ci_time(epoch) == "2019-07-07T12:12:12+0800"
    assert parse_ci_time("2019-07-07T12:12:12+0800") == 1562472732
    assert parse_ci_time("2019-07-07T04:12:12Z") == 1562472732
    assert parse_ci_time("2019-07-07T12:12:12+08:00") == 1562472732
    assert parse_iso8601_utc("2019-07-07T04:12:12Z") == 1562472732


def test_a_run_scripted_to_finish_at_a_time_finishes_then_and_not_before(
    store: RunStore, clock: FakeClock
) -> None:
    store.create("wedata", "r1", ["PENDING", "RUNNING", "SUCCESS"], finishes_at=clock.now + 60)
    seen = [store.observe("wedata", "r1") for _ in range(5)]
    # Polls walk the other states, but the last one waits for its time.
    assert [s.state for s in seen] == ["PENDING", "RUNNING", "RUNNING", "RUNNING", "RUNNING"]
    assert not any(s.finished for s in seen) and seen[-1].finished_at is None
    clock.now += 61
    done = store.observe("wedata", "r1")
    assert done.state == "SUCCESS" and done.finished
    assert done.finished_at == done.finishes_at == 1060.0  # the scripted time, not the read's


def test_a_run_scripted_to_have_finished_in_the_past_is_finished_at_that_time(
    store: RunStore, clock: FakeClock
) -> None:
    store.create(
        "dataworks", "7", ["Running", "Success"], created_at=clock.now - 600, finishes_at=clock.now - 300
    )
    snap = store.peek("dataworks", "7")
    assert snap.state == "Success" and snap.finished and snap.finished_at == clock.now - 300
    stopped = store.create("ice", "t", ["Init", "Processing", "Succeed"], finishes_at=clock.now + 60)
    assert stopped.finishes_at == clock.now + 60
    snap = store.stop("ice", "t", "Canceled")
    assert snap.state == "Canceled" and snap.finished and snap.finished_at == clock.now  # stopped now
