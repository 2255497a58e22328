"""Parsing DataWorks payloads: the documented response field for field, every state, times."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from dataworks_support import SEED_TASK_INSTANCE

from airflow_provider_cloudflows.errors import InvalidResponseError
from airflow_provider_cloudflows.models.dataworks import (
    DATAWORKS_STATES,
    TERMINAL_RAW_STATES,
    GetCreateWorkflowInstancesResultResponse,
    GetWorkflowInstanceResponse,
    ListTaskInstancesResponse,
    StopWorkflowInstancesResponse,
    parse,
    to_workflow_run,
)
from airflow_provider_cloudflows.runs import RunState, StateTable

DOC_TIME = datetime(2024, 3, 12, 10, 23, 25, 403000, tzinfo=UTC)  # 1710239005403 ms


def test_documented_get_workflow_instance_parses_field_for_field(seed_instance):
    response = parse(GetWorkflowInstanceResponse, seed_instance, action="GetWorkflowInstance")
    assert response.RequestId == "22C97E95-F023-56B5-8852-B1A77A17XXXX"
    wi = response.WorkflowInstance
    assert (wi.Id, wi.WorkflowId, wi.WorkflowTaskInstanceId, wi.UnifiedWorkflowInstanceId) == (
        1234,
        1234,
        1234,
        1234,
    )
    assert (wi.Name, wi.Type, wi.Status, wi.EnvType) == ("WorkInstance1", "Normal", "Success", "Prod")
    assert (wi.BizDate, wi.StartedTime, wi.FinishedTime, wi.CreateTime, wi.ModifyTime) == (1710239005403,) * 5
    assert (wi.ProjectId, wi.Owner, wi.CreateUser, wi.ModifyUser) == (100, "1000", "1000", "1000")
    assert wi.WorkflowParameters == "key1=value1 key2=value2"
    assert [(t.Key, t.Value) for t in wi.Tags] == [("key1", "value1")]
    # Nothing documented is left to `extra`: every field has its typed attribute.
    assert not wi.model_extra

    run = to_workflow_run(wi)
    assert run.vendor == "Alibaba Cloud DataWorks"
    assert (run.run_id, run.workflow_id, run.name) == ("1234", "1234", "WorkInstance1")
    assert (run.state, run.raw_state) == (RunState.SUCCEEDED, "Success")
    assert run.created_at == run.started_at == run.finished_at == DOC_TIME
    assert run.started_at.tzinfo is not None
    assert run.task_runs == []
    assert run.detail == seed_instance["WorkflowInstance"]


def test_documented_task_instance_parses_and_normalizes(seed_instance):
    payload = {
        "RequestId": "req-1",
        "PagingInfo": {
            "PageNumber": 1,
            "PageSize": 10,
            "TotalCount": 1,
            "TaskInstances": [SEED_TASK_INSTANCE],
        },
    }
    page = parse(ListTaskInstancesResponse, payload, action="ListTaskInstances").PagingInfo
    (task,) = page.TaskInstances
    assert (task.Id, task.TaskId, task.TaskName, task.TaskType, task.Status) == (
        1234,
        1234,
        "SQL node",
        "ODPS_SQL",
        "Success",
    )
    assert (task.Bizdate, task.WorkflowInstanceId, task.ProjectEnv, task.RunNumber) == (
        1710239005403,
        1234,
        "Prod",
        1,
    )
    # Nested objects the hook does not model are kept, not dropped.
    assert task.model_extra["Runtime"] == {"Gateway": "cn-shanghai.1.2", "ProcessId": "T3_123"}

    instance = parse(
        GetWorkflowInstanceResponse, seed_instance, action="GetWorkflowInstance"
    ).WorkflowInstance
    run = to_workflow_run(instance, page.TaskInstances)
    (task_run,) = run.task_runs
    assert (task_run.task_run_id, task_run.name, task_run.task_type) == ("1234", "SQL node", "ODPS_SQL")
    assert (task_run.state, task_run.raw_state) == (RunState.SUCCEEDED, "Success")
    assert task_run.started_at == task_run.finished_at == DOC_TIME
    assert task_run.detail == SEED_TASK_INSTANCE


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Success", RunState.SUCCEEDED),
        ("Failure", RunState.FAILED),
        ("NotRun", RunState.QUEUED),
        ("WaitTime", RunState.QUEUED),
        ("WaitResource", RunState.QUEUED),
        ("CheckingCondition", RunState.QUEUED),
        ("WaitTrigger", RunState.QUEUED),
        ("Running", RunState.RUNNING),
        ("Checking", RunState.RUNNING),
    ],
)
def test_every_state_maps(seed_instance, raw, state):
    seed_instance["WorkflowInstance"]["Status"] = raw
    instance = parse(
        GetWorkflowInstanceResponse, seed_instance, action="GetWorkflowInstance"
    ).WorkflowInstance
    task = {**SEED_TASK_INSTANCE, "Status": raw}
    tasks = parse(
        ListTaskInstancesResponse, {"PagingInfo": {"TaskInstances": [task]}}, action="ListTaskInstances"
    ).PagingInfo.TaskInstances
    run = to_workflow_run(instance, tasks)
    assert run.state is state and run.raw_state == raw
    assert run.task_runs[0].state is state
    assert run.state.is_terminal == (raw in TERMINAL_RAW_STATES)


def test_unknown_state_is_unknown_with_one_warning(seed_instance, caplog):
    StateTable._warned.discard(("Alibaba Cloud DataWorks", "Frozen"))
    seed_instance["WorkflowInstance"]["Status"] = "Frozen"
    instance = parse(
        GetWorkflowInstanceResponse, seed_instance, action="GetWorkflowInstance"
    ).WorkflowInstance
    with caplog.at_level(logging.WARNING):
        runs = [to_workflow_run(instance) for _ in range(3)]
    assert {r.state for r in runs} == {RunState.UNKNOWN}
    assert not runs[0].state.is_terminal
    warnings = [r for r in caplog.records if "Frozen" in r.getMessage()]
    assert len(warnings) == 1


def test_terminal_states_are_success_and_failure():
    assert TERMINAL_RAW_STATES == ("Failure", "Success")
    assert DATAWORKS_STATES("") is RunState.UNKNOWN


def test_zero_and_missing_times_are_unset(seed_instance):
    wi = seed_instance["WorkflowInstance"]
    wi["FinishedTime"] = 0
    del wi["StartedTime"]
    run = to_workflow_run(
        parse(GetWorkflowInstanceResponse, seed_instance, action="GetWorkflowInstance").WorkflowInstance
    )
    assert run.finished_at is None and run.started_at is None


def test_new_fields_do_not_break_parsing(seed_instance):
    seed_instance["WorkflowInstance"]["BrandNewField"] = {"x": 1}
    seed_instance["AlsoNew"] = True
    run = to_workflow_run(
        parse(GetWorkflowInstanceResponse, seed_instance, action="GetWorkflowInstance").WorkflowInstance
    )
    assert run.detail["BrandNewField"] == {"x": 1}


@pytest.mark.parametrize(
    "payload",
    [
        {"RequestId": "r-9"},
        {"RequestId": "r-9", "WorkflowInstance": {"Name": "no id"}},
        {"RequestId": "r-9", "WorkflowInstance": {"Id": "not-a-number"}},
        ["not", "an", "object"],
    ],
)
def test_unreadable_shape_is_invalid_response_error(payload):
    with pytest.raises(InvalidResponseError) as err:
        parse(GetWorkflowInstanceResponse, payload, action="GetWorkflowInstance", run_id="42")
    assert err.value.action == "GetWorkflowInstance" and err.value.run_id == "42"
    assert "WorkflowInstance" in str(err.value)
    if isinstance(payload, dict):
        assert err.value.request_id == "r-9"


def test_create_result_and_stop_payloads_parse():
    result = parse(
        GetCreateWorkflowInstancesResultResponse,
        {
            "RequestId": "r",
            "Result": {
                "Status": "Created",
                "WorkflowInstanceIds": [1234, 1235],
                "WorkflowTaskInstanceIds": [7, 8],
                "UnifiedWorkflowInstanceIds": [9],
            },
        },
        action="GetCreateWorkflowInstancesResult",
    ).Result
    assert (result.Status, result.WorkflowInstanceIds, result.FailureMessage) == (
        "Created",
        [1234, 1235],
        None,
    )
    stop = parse(
        StopWorkflowInstancesResponse,
        {
            "RequestId": "r",
            "SuccessInfo": {"1234": {"Success": True}, "1235": {"Success": False, "Message": "done"}},
        },
        action="StopWorkflowInstances",
    )
    assert stop.SuccessInfo["1234"].Success is True
    assert stop.SuccessInfo["1235"].Message == "done"
