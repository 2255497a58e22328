"""Parsing of the documented WeData payloads and the state table."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
from wedata_support import EXECUTION_ID, PROJECT_ID

from airflow_provider_cloudflows.errors import InvalidResponseError, NotFoundError
from airflow_provider_cloudflows.models.wedata import (
    WEDATA_STATES,
    ExecutionActionBrief,
    KillTriggerWorkflowRunsResponse,
    ListTriggerWorkflowRunsResponse,
    parse,
    to_workflow_run,
    wedata_time,
)
from airflow_provider_cloudflows.runs import RunState, StateTable


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def test_seed_run_field_for_field(seed_response):
    run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    assert run.vendor == "Tencent Cloud WeData"
    assert run.run_id == EXECUTION_ID
    assert run.workflow_id == "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c"
    assert run.name == "orders_daily"
    assert run.state is RunState.FAILED
    assert run.raw_state == "FAILED"
    assert run.created_at == ms(1764819600341)
    assert run.started_at == ms(1764819600500)
    assert run.finished_at == ms(1764819720000)
    assert run.error_code == "TASK_FAILED"
    assert run.error_message is None
    brief = run.detail["TriggerWorkflowRun"]
    assert brief["ProjectId"] == PROJECT_ID
    assert brief["TriggerType"] == "ManualTrigger"
    assert brief["SupportRerun"] is True
    assert brief["ExecutionCostTime"] == "120"
    assert "SelectedTaskIds" not in brief  # nulls are dropped from the detail
    assert run.detail["BizStateEnumInfos"] == [{"Count": 4, "LabelKey": "PENDING", "LabelValue": "等待资源"}]
    assert run.detail["RequestId"] == seed_response["RequestId"]


def test_seed_task_runs_field_for_field(seed_response):
    run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    ok, failed, skipped = run.task_runs
    assert ok.task_run_id == "20251204114000341-task-1"
    assert ok.name == "extract_orders"
    assert ok.task_type == "SparkSql"
    assert ok.job_id == "job-8841"
    assert ok.state is RunState.SUCCEEDED and ok.raw_state == "SUCCESS"
    assert ok.started_at == ms(1764819602000)
    assert ok.finished_at == ms(1764819660000)
    assert ok.error_code is None and ok.error_message is None
    assert ok.detail["TaskTypeId"] == 32
    assert ok.detail["LeftCoordinate"] == 120.5
    assert failed.state is RunState.FAILED
    assert failed.error_code == "E1001"
    assert failed.error_message == "SQL syntax error near 'FORM'"
    assert failed.job_id == "job-8842"
    assert skipped.raw_state == "SKIP" and skipped.state is RunState.SUCCEEDED
    assert skipped.started_at is None
    assert run.task_run_summary() == "2/3 task runs succeeded, 1 failed"


def test_run_json_round_trip_is_xcom_safe(seed_response):
    run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    dumped = run.model_dump(mode="json")
    assert type(run).model_validate(dumped) == run


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("SUCCESS", RunState.SUCCEEDED),
        ("SKIPED", RunState.SUCCEEDED),
        ("SKIP", RunState.SUCCEEDED),
        ("SKIPPED", RunState.SUCCEEDED),
        ("FAILED", RunState.FAILED),
        ("PENDING", RunState.QUEUED),
        ("RUNNING", RunState.RUNNING),
    ],
)
def test_every_documented_state(seed_response, raw, state):
    seed_response["Data"]["TriggerWorkflowRun"]["ExecutionState"] = raw
    run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    assert run.state is state
    assert run.raw_state == raw
    assert run.state.is_terminal is (raw not in ("PENDING", "RUNNING"))


def test_unknown_state_is_not_terminal_and_warned_once(seed_response, caplog):
    StateTable._warned.discard(("Tencent Cloud WeData", "KILLED"))
    seed_response["Data"]["TriggerWorkflowRun"]["ExecutionState"] = "KILLED"
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    assert run.state is RunState.UNKNOWN and not run.state.is_terminal
    assert run.raw_state == "KILLED"
    warnings = [r for r in caplog.records if "KILLED" in r.getMessage()]
    assert len(warnings) == 1


def test_missing_state_is_unknown(seed_response):
    del seed_response["Data"]["TriggerWorkflowRun"]["ExecutionState"]
    run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    assert run.state is RunState.UNKNOWN and run.raw_state is None


def test_state_table_covers_exactly_the_documented_states():
    assert set(WEDATA_STATES.table) == {
        "SUCCESS",
        "SKIPED",
        "SKIP",
        "SKIPPED",
        "FAILED",
        "PENDING",
        "RUNNING",
    }


@pytest.mark.parametrize("data", [None, {}, {"TriggerWorkflowRun": None, "TriggerTaskRuns": []}])
def test_no_run_in_response_is_not_found_naming_run_and_project(data):
    with pytest.raises(NotFoundError) as exc:
        to_workflow_run({"Data": data, "RequestId": "r"}, execution_id="exec-9", project_id="proj-7")
    assert "exec-9" in str(exc.value) and "proj-7" in str(exc.value)


@pytest.mark.parametrize(
    "payload",
    [
        {"Data": {"TriggerWorkflowRun": {"ExecutionState": "RUNNING"}, "TriggerTaskRuns": {"not": "a list"}}},
        {"Data": {"TriggerWorkflowRun": ["not", "an", "object"]}},
        {"Data": "nope"},
        ["not", "an", "object"],
    ],
)
def test_wrong_shapes_are_invalid_response_errors(payload):
    with pytest.raises(InvalidResponseError) as exc:
        to_workflow_run(payload, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    assert "GetTriggerWorkflowRun" in str(exc.value)
    assert exc.value.retryable


def test_numbers_where_strings_are_documented_still_parse(seed_response):
    seed_response["Data"]["TriggerWorkflowRun"]["ExecutionCostTime"] = 120
    seed_response["Data"]["TriggerWorkflowRun"]["CreateTime"] = 1764819600341
    run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    assert run.detail["TriggerWorkflowRun"]["ExecutionCostTime"] == "120"
    assert run.created_at == ms(1764819600341)


def test_new_vendor_fields_are_kept(seed_response):
    seed_response["Data"]["TriggerWorkflowRun"]["BrandNewField"] = {"x": 1}
    run = to_workflow_run(seed_response, execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    assert run.detail["TriggerWorkflowRun"]["BrandNewField"] == {"x": 1}


def test_times():
    assert wedata_time("1764819600341") == ms(1764819600341)
    assert wedata_time("1764819600") == ms(1764819600000)  # epoch seconds, tolerated
    assert wedata_time(None) is None and wedata_time("") is None and wedata_time("0") is None
    assert wedata_time("2025-12-04 11:40:00") == datetime(
        2025, 12, 4, 11, 40, tzinfo=timezone(timedelta(hours=8))
    )
    assert wedata_time("2025-12-04T03:40:00Z") == datetime(2025, 12, 4, 3, 40, tzinfo=UTC)
    assert wedata_time("garbage") is None


def test_kill_and_list_shapes():
    kill = parse(
        KillTriggerWorkflowRunsResponse,
        {"Data": [{"ItemId": "e1", "ItemName": "wf", "OpStatus": True, "ExecutionActionId": "a1"}]},
        action="KillTriggerWorkflowRuns",
    )
    assert kill.Data == [
        ExecutionActionBrief(ItemId="e1", ItemName="wf", OpStatus=True, ExecutionActionId="a1")
    ]
    page = parse(
        ListTriggerWorkflowRunsResponse,
        {"Data": {"TotalCount": 3, "TotalPageNumber": 2, "PageNumber": 1, "PageSize": 2, "Items": [{}, {}]}},
        action="ListTriggerWorkflowRuns",
    )
    assert page.Data.TotalPageNumber == 2 and len(page.Data.Items) == 2
