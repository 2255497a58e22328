"""ICE GetWorkflowTask / StartWorkflow / ListWorkflowTasks payloads -> models -> WorkflowRun."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime

import pytest
from ice_payloads import ACTIVITY_RESULTS, SEED

from airflow_provider_cloudflows.errors import InvalidResponseError
from airflow_provider_cloudflows.models.ice import (
    ICE_STATES,
    VENDOR,
    GetWorkflowTaskResponse,
    ListWorkflowTasksResponse,
    StartWorkflowResponse,
    activity_task_runs,
    decode_json_text,
    parse,
    to_workflow_run,
)
from airflow_provider_cloudflows.runs import RunState, StateTable


def seed(**task_changes: object) -> dict:
    body = copy.deepcopy(SEED)
    body["WorkflowTask"].update(task_changes)
    return body


def run_of(body: dict):
    response = parse(GetWorkflowTaskResponse, body, action="GetWorkflowTask")
    return to_workflow_run(response.WorkflowTask, request_id=response.RequestId)


def test_documented_response_parses_field_for_field() -> None:
    response = parse(GetWorkflowTaskResponse, SEED, action="GetWorkflowTask")
    task = response.WorkflowTask
    assert response.RequestId == "******0C-7870-15FE-B96F-8880BB******"
    assert task.TaskId == "******4215e042b3966ca5441e******"
    assert task.Status == "Succeed"
    assert task.CreateTime == "2023-01-04T02:05:17Z"
    assert task.FinishTime == "2023-01-04T02:06:19Z"
    assert task.Workflow is not None
    assert task.Workflow.WorkflowId == "******63dca94c609de02ac0d1******"
    assert task.Workflow.Name == "Super-resolution transcoding workflow"
    assert task.Workflow.Status == "Active"
    assert task.Workflow.Type == "Common"
    assert task.Workflow.CreateTime == "2022-11-27T10:02:12Z"
    assert task.Workflow.ModifiedTime == "2022-11-29T02:06:19Z"
    # The JSON-in-string fields stay strings on the model and decode on demand.
    assert task.TaskInput == SEED["WorkflowTask"]["TaskInput"]
    assert task.task_input == {"Type": "Media", "Media": "******30706071edbfe290b488******"}
    assert task.user_data == {"NotifyAddress": "https://example.com/callback"}
    assert task.activity_results == ACTIVITY_RESULTS


def test_documented_response_to_workflow_run() -> None:
    run = run_of(SEED)
    assert run.vendor == VENDOR
    assert run.run_id == "******4215e042b3966ca5441e******"
    assert run.workflow_id == "******63dca94c609de02ac0d1******"
    assert run.name == "Super-resolution transcoding workflow"
    assert run.state is RunState.SUCCEEDED
    assert run.raw_state == "Succeed"
    assert run.created_at == datetime(2023, 1, 4, 2, 5, 17, tzinfo=UTC)
    assert run.finished_at == datetime(2023, 1, 4, 2, 6, 19, tzinfo=UTC)
    assert run.started_at is None
    # detail: the task exactly as sent, plus the decoded JSON fields; all JSON-safe.
    assert run.detail["RequestId"] == SEED["RequestId"]
    assert run.detail["WorkflowTask"] == SEED["WorkflowTask"]
    assert run.detail["decoded"] == {
        "TaskInput": {"Type": "Media", "Media": "******30706071edbfe290b488******"},
        "UserData": {"NotifyAddress": "https://example.com/callback"},
        "ActivityResults": ACTIVITY_RESULTS,
    }
    json.dumps(run.model_dump(mode="json"))


def test_activity_results_become_task_runs_with_states_and_job_ids() -> None:
    transcode, snapshot = run_of(SEED).task_runs
    assert transcode.name == "Transcode"
    assert transcode.task_run_id == "ce87026be902****"
    assert transcode.state is RunState.SUCCEEDED and transcode.raw_state == "Succeed"
    assert transcode.job_id == "0f5da****4e5897f147"  # nested in Result
    assert transcode.task_type == "Transcode"
    assert transcode.started_at == datetime(2023, 1, 4, 2, 5, 20, tzinfo=UTC)
    assert transcode.finished_at == datetime(2023, 1, 4, 2, 6, 10, tzinfo=UTC)
    assert transcode.detail == ACTIVITY_RESULTS["Transcode"]
    assert snapshot.state is RunState.FAILED
    assert snapshot.error_code == "InvalidParameter.Input"
    assert snapshot.error_message == "the input media has no video stream"


def test_failed_task_takes_its_error_from_the_failed_node() -> None:
    run = run_of(seed(Status="Failed"))
    assert run.state is RunState.FAILED
    assert (run.error_code, run.error_message) == (
        "InvalidParameter.Input",
        "the input media has no video stream",
    )


def test_task_level_error_fields_win_when_ice_sends_them() -> None:
    run = run_of(seed(Status="Failed", ErrorCode="WorkflowFailed", ErrorMessage="node failed"))
    assert (run.error_code, run.error_message) == ("WorkflowFailed", "node failed")


def test_invalid_json_in_strings_is_kept_raw() -> None:
    run = run_of(seed(TaskInput="{not json", UserData="plain text callback id", ActivityResults="oops["))
    assert run.detail["decoded"] == {
        "TaskInput": "{not json",
        "UserData": "plain text callback id",
        "ActivityResults": "oops[",
    }
    assert run.detail["WorkflowTask"]["TaskInput"] == "{not json"
    assert run.task_runs == []


def test_missing_and_empty_json_fields() -> None:
    body = seed(UserData="", ActivityResults="")
    del body["WorkflowTask"]["TaskInput"]
    run = run_of(body)
    assert run.detail["decoded"] == {"TaskInput": None, "UserData": None, "ActivityResults": None}
    assert run.task_runs == []


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Succeed", RunState.SUCCEEDED),
        ("Failed", RunState.FAILED),
        ("Canceled", RunState.CANCELLED),
        ("Init", RunState.QUEUED),
        ("Processing", RunState.RUNNING),
    ],
)
def test_every_documented_state(raw: str, state: RunState) -> None:
    run = run_of(seed(Status=raw))
    assert run.state is state and run.raw_state == raw
    assert run.state.is_terminal == (raw in {"Succeed", "Failed", "Canceled"})


def test_unknown_state_is_unknown_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    StateTable._warned.discard((VENDOR, "Suspended"))
    with caplog.at_level(logging.WARNING):
        first = run_of(seed(Status="Suspended"))
        second = run_of(seed(Status="Suspended"))
    assert first.state is RunState.UNKNOWN and second.state is RunState.UNKNOWN
    warnings = [r for r in caplog.records if "Suspended" in r.getMessage()]
    assert len(warnings) == 1
    assert not first.state.is_terminal


def test_state_table_is_exactly_the_documented_enum() -> None:
    assert set(ICE_STATES.table) == {"Init", "Processing", "Succeed", "Failed", "Canceled"}


def test_activity_results_as_list_of_node_objects() -> None:
    nodes = [
        {"Name": "Transcode", "status": "Processing", "jobId": "j-1", "Type": "Transcode"},
        {"ActivityName": "Cover", "State": "Init"},
        {"NodeName": "Mystery"},
    ]
    runs = activity_task_runs(json.dumps(nodes))
    assert [(r.name, r.state, r.raw_state, r.job_id) for r in runs] == [
        ("Transcode", RunState.RUNNING, "Processing", "j-1"),
        ("Cover", RunState.QUEUED, "Init", None),
        ("Mystery", RunState.UNKNOWN, None, None),
    ]
    assert runs[0].task_type == "Transcode"


def test_activity_results_wrapped_list_and_odd_values() -> None:
    wrapped = activity_task_runs('{"Activities": [{"Name": "a", "Status": "Succeed"}]}')
    assert [(r.name, r.state) for r in wrapped] == [("a", RunState.SUCCEEDED)]
    odd = activity_task_runs({"a": "not a node", "b": {"Status": "Canceled"}, "c": '{"Status":"Failed"}'})
    assert [(r.name, r.state) for r in odd] == [
        ("a", RunState.UNKNOWN),
        ("b", RunState.CANCELLED),
        ("c", RunState.FAILED),
    ]
    assert odd[0].detail == {"value": "not a node"}
    assert activity_task_runs(42) == []
    assert activity_task_runs(None) == []


def test_node_times_in_epoch_ms_are_read() -> None:
    (node,) = activity_task_runs([{"Name": "n", "StartTime": 1735689600000, "Status": "Succeed"}])
    assert node.started_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_json_fields_sent_as_objects_are_accepted() -> None:
    run = run_of(seed(TaskInput={"Type": "OSS", "Media": "oss://b/k.mp4"}, ActivityResults=ACTIVITY_RESULTS))
    assert run.detail["decoded"]["TaskInput"] == {"Type": "OSS", "Media": "oss://b/k.mp4"}
    assert len(run.task_runs) == 2


def test_decode_json_text() -> None:
    assert decode_json_text('{"a": 1}') == {"a": 1}
    assert decode_json_text("[1]") == [1]
    assert decode_json_text("nope") == "nope"
    assert decode_json_text("  ") is None
    assert decode_json_text(None) is None
    assert decode_json_text({"a": 1}) == {"a": 1}


def test_extra_fields_do_not_break_parsing() -> None:
    run = run_of(seed(NewField={"x": 1}))
    assert run.detail["WorkflowTask"]["NewField"] == {"x": 1}


@pytest.mark.parametrize(
    "body",
    [
        {"RequestId": "r"},
        {"WorkflowTask": {"Status": "Succeed"}},
        {"WorkflowTask": "nope"},
        [],
    ],
)
def test_unreadable_shapes_raise_invalid_response(body: object) -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse(GetWorkflowTaskResponse, body, action="GetWorkflowTask", run_id="t-1")
    assert info.value.action == "GetWorkflowTask" and info.value.run_id == "t-1"
    assert info.value.request_id == (body.get("RequestId") if isinstance(body, dict) else None)
    assert "GetWorkflowTask" in str(info.value)


def test_start_and_list_responses() -> None:
    assert (
        parse(StartWorkflowResponse, {"RequestId": "r", "TaskId": "t"}, action="StartWorkflow").TaskId == "t"
    )
    page = parse(
        ListWorkflowTasksResponse,
        {
            "RequestId": "r",
            "TaskList": [SEED["WorkflowTask"]],
            "NextToken": "n",
            "MaxResults": 10,
            "TotalCount": 11,
        },
        action="ListWorkflowTasks",
    )
    assert (page.NextToken, page.MaxResults, page.TotalCount) == ("n", 10, 11)
    assert page.TaskList[0].TaskId == SEED["WorkflowTask"]["TaskId"]
    with pytest.raises(InvalidResponseError):
        parse(StartWorkflowResponse, {"RequestId": "r"}, action="StartWorkflow")
