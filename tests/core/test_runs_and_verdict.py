from __future__ import annotations

import logging
from datetime import UTC, datetime
from unittest import mock

import pytest

from airflow_provider_cloudflows.errors import NotFoundError, ThrottledError
from airflow_provider_cloudflows.runs import (
    RunState,
    StateTable,
    TaskRun,
    WorkflowRun,
    epoch_ms_to_datetime,
    parse_datetime,
)
from airflow_provider_cloudflows.verdict import RunWatcher, Verdict, failure_message, judge


def make_run(raw: str, state: RunState, **kw) -> WorkflowRun:
    return WorkflowRun(vendor="Fake", run_id="r1", state=state, raw_state=raw, **kw)


@pytest.mark.parametrize(
    ("state", "terminal"),
    [
        (RunState.QUEUED, False),
        (RunState.RUNNING, False),
        (RunState.PAUSED, False),
        (RunState.UNKNOWN, False),
        (RunState.SUCCEEDED, True),
        (RunState.FAILED, True),
        (RunState.CANCELLED, True),
    ],
)
def test_terminal_states(state, terminal):
    assert state.is_terminal is terminal


def test_unknown_raw_state_warns_once_and_is_not_terminal(caplog):
    table = StateTable("Fake-warn-once", {"OK": RunState.SUCCEEDED})
    with caplog.at_level(logging.WARNING):
        assert table("BRAND_NEW") is RunState.UNKNOWN
        assert table("BRAND_NEW") is RunState.UNKNOWN
    warnings = [r for r in caplog.records if "BRAND_NEW" in r.getMessage()]
    assert len(warnings) == 1
    assert "Fake-warn-once" in warnings[0].getMessage()


def test_json_dump_is_xcom_safe():
    run = make_run(
        "OK",
        RunState.SUCCEEDED,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        task_runs=[TaskRun(name="a", state=RunState.SUCCEEDED, raw_state="OK")],
    )
    dumped = run.model_dump(mode="json")
    assert dumped["state"] == "succeeded"
    assert dumped["created_at"] == "2025-01-01T00:00:00Z"
    assert WorkflowRun.model_validate(dumped) == run


def test_task_run_summary_counts_each_state():
    run = make_run(
        "RUN",
        RunState.RUNNING,
        task_runs=[
            TaskRun(name="a", state=RunState.SUCCEEDED),
            TaskRun(name="b", state=RunState.SUCCEEDED),
            TaskRun(name="c", state=RunState.FAILED),
            TaskRun(name="d", state=RunState.RUNNING),
        ],
    )
    assert run.task_run_summary() == "2/4 task runs succeeded, 1 failed, 1 running"


def test_time_helpers():
    assert epoch_ms_to_datetime(1764819600341) == datetime(2025, 12, 4, 3, 40, 0, 341000, tzinfo=UTC)
    assert epoch_ms_to_datetime("1764819600341") == epoch_ms_to_datetime(1764819600341)
    assert epoch_ms_to_datetime(0) is None and epoch_ms_to_datetime("garbage") is None
    assert parse_datetime("2025-01-01T00:00:00Z") == datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_datetime("2019-07-07T12:12:12+0800").utcoffset().total_seconds() == 8 * 3600
    assert parse_datetime("not a time") is None


@pytest.mark.parametrize(
    ("raw", "state", "kwargs", "expected"),
    [
        ("OK", RunState.SUCCEEDED, {}, Verdict.SUCCEEDED),
        ("SKIP", RunState.SUCCEEDED, {}, Verdict.SUCCEEDED),
        ("SKIP", RunState.SUCCEEDED, {"failure_states": ["SKIP"]}, Verdict.FAILED),
        ("BAD", RunState.FAILED, {}, Verdict.FAILED),
        ("STOP", RunState.CANCELLED, {}, Verdict.FAILED),
        ("RUN", RunState.RUNNING, {}, Verdict.WAITING),
        ("???", RunState.UNKNOWN, {}, Verdict.WAITING),
        ("HOLD", RunState.PAUSED, {}, Verdict.WAITING),
        ("HOLD", RunState.PAUSED, {"fail_on_pause": True}, Verdict.FAILED),
        # An explicit success list: other terminal states fail rather than wait forever.
        ("SKIP", RunState.SUCCEEDED, {"success_states": ["OK"]}, Verdict.FAILED),
        ("RUN", RunState.RUNNING, {"success_states": ["RUN"]}, Verdict.SUCCEEDED),
        ("BAD", RunState.FAILED, {"success_states": ["BAD"]}, Verdict.SUCCEEDED),
    ],
)
def test_judge(raw, state, kwargs, expected):
    assert judge(make_run(raw, state), **kwargs) is expected


def test_failure_message_names_run_state_error_and_failed_tasks():
    run = make_run(
        "BAD",
        RunState.FAILED,
        error_code="E42",
        error_message="disk full",
        task_runs=[
            TaskRun(name="extract", state=RunState.SUCCEEDED, raw_state="OK"),
            TaskRun(name="load", state=RunState.FAILED, raw_state="BAD", error_code="OOM"),
        ],
    )
    message = failure_message(run, "fake run")
    assert "Fake fake run r1" in message
    assert "'BAD'" in message and "E42" in message and "disk full" in message
    assert "load (BAD: OOM)" in message
    assert "extract" not in message.split("failed task runs:")[1].split(";")[0]


@pytest.mark.parametrize(
    ("raw", "state", "kwargs", "gloss"),
    [
        ("SKIP", RunState.SUCCEEDED, {"failure_states": ["SKIP"]}, "(a failure by failure_states)"),
        ("DONE", RunState.SUCCEEDED, {"success_states": ["OK"]}, "(succeeded, not in success_states)"),
        ("HOLD", RunState.PAUSED, {"fail_on_pause": True}, "(paused, a failure by fail_on_pause)"),
        ("BAD", RunState.FAILED, {}, "(failed)"),
    ],
)
def test_failure_message_follows_the_overrides(raw, state, kwargs, gloss):
    run = make_run(raw, state)
    assert judge(run, **kwargs) is Verdict.FAILED
    message = RunWatcher("fake run", **kwargs).failure_message(run)
    assert message.startswith(f"Fake fake run r1 ended in state {raw!r} {gloss}")
    assert "(succeeded)" not in message


def lines(log: mock.MagicMock) -> list[tuple[str, str]]:
    return [(name, args[0] % args[1:]) for name, args, _ in log.method_calls]


def test_watcher_logs_progress_once_per_change_and_judges_like_judge():
    log = mock.MagicMock()
    watcher = RunWatcher("fake run", failure_states=["SKIP"])
    reads = [
        ("RUN", RunState.RUNNING),
        ("RUN", RunState.RUNNING),
        ("HOLD", RunState.PAUSED),
        ("SKIP", RunState.SUCCEEDED),
    ]
    verdicts = [watcher.watch(make_run(raw, state), log) for raw, state in reads]
    assert verdicts == [Verdict.WAITING, Verdict.WAITING, Verdict.WAITING, Verdict.FAILED]
    assert lines(log) == [
        ("info", "fake run r1 is RUN (no task runs reported)"),
        ("info", "fake run r1 is HOLD (no task runs reported)"),
    ]
    assert watcher.failure_message(make_run("SKIP", RunState.SUCCEEDED)).startswith("Fake fake run r1 ended")


def test_watcher_as_sensors_use_it_names_the_vendor_and_warns_on_pause():
    log = mock.MagicMock()
    watcher = RunWatcher("fake run", names_vendor=True, warns_on_pause=True)
    watcher.watch(make_run("RUN", RunState.RUNNING), log)
    watcher.watch(make_run("HOLD", RunState.PAUSED), log)
    assert lines(log) == [
        ("info", "Fake fake run r1 is RUN (no task runs reported)"),
        (
            "warning",
            "Fake fake run r1 is paused; it will not progress until resumed in the console "
            "(set fail_on_pause=True to fail instead)",
        ),
    ]
    assert RunWatcher(fail_on_pause=True).watch(make_run("HOLD", RunState.PAUSED), log) is Verdict.FAILED


def test_watcher_polls_again_only_after_errors_retrying_can_fix():
    log = mock.MagicMock()
    watcher = RunWatcher("fake run")
    throttled = ThrottledError("slow down", vendor="Fake")
    assert watcher.polls_again(throttled, "r1", log) is True
    assert lines(log) == [("warning", f"Polling fake run r1 failed, will poll again: {throttled}")]
    assert watcher.polls_again(NotFoundError("no such run", vendor="Fake"), "r1", log) is False
    assert len(log.method_calls) == 1
