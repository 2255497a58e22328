"""The documented CI XML payloads parse field for field; every raw state maps; bad shapes are typed errors."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
from ci_support import DOC_LIST, DOC_LIST_ONE, DOC_SINGLE, DOC_SINGLE_ONE_TASK, DOC_TRIGGER, STATE_CASES

from airflow_provider_cloudflows.errors import InvalidResponseError, NotFoundError
from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
from airflow_provider_cloudflows.models.cloud_infinite import (
    CI_STATES,
    instance_id_from_trigger,
    run_from_describe,
    runs_from_list,
)
from airflow_provider_cloudflows.runs import RunState, StateTable

CST = timezone(timedelta(hours=8))


def response(xml: str):
    return CloudInfiniteHook.protocol.parse_xml(xml.encode())["Response"]


def test_documented_single_execution_field_for_field():
    run = run_from_describe(response(DOC_SINGLE), bucket="examplebucket-1250000000", run_id="x", action="Get")
    assert run.vendor == "Tencent Cloud Infinite"
    assert run.run_id == "37145b2919714156bd97f91dc03fa2b4"
    assert run.workflow_id == "we65e4d260e1042debdfb7e4560a19d3d"
    assert run.name is None  # <WorkflowName></WorkflowName>
    assert run.state is RunState.SUCCEEDED and run.raw_state == "Success"
    assert run.created_at == datetime(2019, 7, 7, 12, 12, 12, tzinfo=CST)
    assert run.created_at == datetime(2019, 7, 7, 4, 12, 12, tzinfo=UTC)
    assert run.finished_at is None  # every <EndTime> is empty
    assert run.error_code is None and run.error_message is None
    assert [(t.name, t.task_type, t.raw_state, t.state) for t in run.task_runs] == [
        ("Start", "Start", "Success", RunState.SUCCEEDED),
        ("Snapshot_1581665960536", "Snapshot", "Success", RunState.SUCCEEDED),
        ("Animation_1581665960538", "Animation", "Failed", RunState.FAILED),
    ]
    for task in run.task_runs:
        assert task.job_id == task.task_run_id == "f9ddcf74ebfd4f0caa0bb78692432d69"
        assert task.started_at == datetime(2019, 7, 7, 12, 12, 12, tzinfo=CST)
        assert task.finished_at is None
        assert task.error_code is None
    assert run.task_runs[2].detail == {
        "Type": "Animation",
        "CreateTime": "2019-07-07T12:12:12+0800",
        "EndTime": None,
        "State": "Failed",
        "JobId": "f9ddcf74ebfd4f0caa0bb78692432d69",
        "Name": "Animation_1581665960538",
    }
    detail = run.detail
    assert (
        detail["Object"] == "https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/mars_white_test.mp4"
    )
    assert detail["BucketId"] == "examplebucket-1250000000"
    assert detail["Topology"]["Dependencies"]["Start"] == "Snapshot_1581665960536,Animation_1581665960538"
    assert detail["Topology"]["Nodes"]["Animation_1581665960538"]["Operation"]["Output"]["Object"] == (
        "bcd/${RunId}/bcd.gif"
    )
    assert len(detail["Tasks"]) == 3
    # JSON-safe: survives a JSON round trip unchanged (XCom, trigger events).
    assert type(run).model_validate_json(run.model_dump_json()) == run


def test_newer_doc_shape_with_exactly_one_task():
    run = run_from_describe(response(DOC_SINGLE_ONE_TASK), bucket=None, run_id="x", action="Get")
    assert run.run_id == "i166ee19017b011eda8a5525400c540df"
    assert run.workflow_id == "web6ac56c1ef54dbfa44d7f4103203be9"
    assert run.name == "workflow-1"
    assert run.state is RunState.RUNNING and run.raw_state == "Running"
    assert run.created_at == datetime(2022, 8, 9, 14, 54, 17, tzinfo=CST)
    assert run.detail["Object"] == "wk-test/game.mp4"
    assert "BucketId" not in run.detail
    (task,) = run.task_runs
    assert task.name == "Transcode_1581665960537"
    assert task.task_type == "Transcode"
    assert task.job_id == "j168668b217b011ed8efb27bb229e2d11"
    assert task.state is RunState.RUNNING
    assert task.started_at == datetime(2022, 8, 9, 14, 54, 18, tzinfo=CST)
    assert task.detail["TemplateName"] == "MP4-265-SD"
    assert isinstance(run.detail["Tasks"], list) and len(run.detail["Tasks"]) == 1


def test_documented_list_field_for_field():
    runs, token = runs_from_list(response(DOC_LIST), bucket="examplebucket-1250000000", action="List")
    assert token == "e65e4d260e1042debdfb7e4560a19d3d"
    assert [r.run_id for r in runs] == [
        "37145b2919714156bd97f91dc03fa2b4",
        "47145b2929714156bd97f91dc03fa2b5",
    ]
    for run in runs:
        assert run.workflow_id == "we65e4d260e1042debdfb7e4560a19d3d"
        assert run.state is RunState.SUCCEEDED and run.raw_state == "Success"
        assert run.created_at == datetime(2019, 7, 7, 12, 12, 12, tzinfo=CST)
        assert run.task_runs == []
    assert runs[1].detail == {
        "RunId": "47145b2929714156bd97f91dc03fa2b5",
        "WorkflowId": "we65e4d260e1042debdfb7e4560a19d3d",
        "State": "Success",
        "CreateTime": "2019-07-07T12:12:12+0800",
        "Object": "https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/_test.mp4",
        "BucketId": "examplebucket-1250000000",
    }


def test_list_with_exactly_one_item():
    parsed = response(DOC_LIST_ONE)
    assert isinstance(parsed["WorkflowExecutionList"], list)
    runs, token = runs_from_list(parsed, bucket=None, action="List")
    (run,) = runs
    assert token == "115716"
    assert run.run_id == "i166ee19017b011eda8a5525400c540df"
    assert run.detail["Object"] == "wk-test/game.mp4"
    assert run.created_at == datetime(2022, 8, 9, 6, 54, 17, tzinfo=UTC)


def test_empty_list_and_empty_token():
    runs, token = runs_from_list(
        response("<Response><NextToken></NextToken></Response>"), bucket=None, action="L"
    )
    assert runs == [] and token is None
    runs, token = runs_from_list(
        response("<Response><WorkflowExecutionList/><NextToken/></Response>"), bucket=None, action="L"
    )
    assert runs == [] and token is None


def test_callback_time_format_and_terminal_finish_time():
    xml = DOC_SINGLE_ONE_TASK.replace("<State>Running</State>", "<State>Success</State>").replace(
        "<EndTime></EndTime>", "<EndTime>2022-08-09 14:54:39+0800</EndTime>"
    )
    run = run_from_describe(response(xml), bucket=None, run_id="x", action="Get")
    assert run.state is RunState.SUCCEEDED
    assert run.task_runs[0].finished_at == datetime(2022, 8, 9, 14, 54, 39, tzinfo=CST)
    assert run.finished_at == run.task_runs[0].finished_at


def test_failed_task_error_fields_surface_on_the_run():
    xml = DOC_SINGLE_ONE_TASK.replace("<State>Running</State>", "<State>Failed</State>").replace(
        "<TemplateId>",
        "<Code>InvalidInput</Code><Message>the input has no video stream</Message><TemplateId>",
    )
    run = run_from_describe(response(xml), bucket=None, run_id="x", action="Get")
    assert run.state is RunState.FAILED
    assert run.task_runs[0].error_code == "InvalidInput"
    assert (run.error_code, run.error_message) == ("InvalidInput", "the input has no video stream")


@pytest.mark.parametrize(("raw", "state"), STATE_CASES)
def test_every_state(raw, state):
    assert CI_STATES(raw) is state
    run = run_from_describe(
        response(
            DOC_SINGLE.replace(
                "<State>Success</State>\n    <CreateTime>", f"<State>{raw}</State>\n    <CreateTime>"
            )
        ),
        bucket=None,
        run_id="x",
        action="Get",
    )
    assert run.state is state and run.raw_state == raw
    assert run.state.is_terminal == (state in {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})


def test_pause_is_not_terminal():
    assert not CI_STATES("Pause").is_terminal


def test_unknown_state_warns_once(caplog):
    StateTable._warned.discard(("Tencent Cloud Infinite", "Hibernating"))
    with caplog.at_level(logging.WARNING):
        assert CI_STATES("Hibernating") is RunState.UNKNOWN
        assert CI_STATES("Hibernating") is RunState.UNKNOWN
    warnings = [r for r in caplog.records if "Hibernating" in r.getMessage()]
    assert len(warnings) == 1
    assert CI_STATES(None) is RunState.UNKNOWN


def test_trigger_response():
    assert instance_id_from_trigger(response(DOC_TRIGGER), action="TriggerWorkflow") == (
        "i6fc78ca77d6011eba0ac5254008618d9"
    )
    with pytest.raises(InvalidResponseError, match="InstanceId"):
        instance_id_from_trigger(response("<Response><RequestId>r</RequestId></Response>"), action="T")


def test_missing_run_id_is_an_invalid_response():
    with pytest.raises(InvalidResponseError, match="RunId") as err:
        run_from_describe(
            response("<Response><WorkflowExecution><State>Success</State></WorkflowExecution></Response>"),
            bucket=None,
            run_id="abc",
            action="DescribeMediaWorkflowExecution",
        )
    assert err.value.run_id == "abc" and err.value.vendor == "Tencent Cloud Infinite"


def test_no_execution_in_a_200_is_not_found():
    with pytest.raises(NotFoundError) as err:
        run_from_describe(
            response("<Response><RequestId>r</RequestId></Response>"), bucket=None, run_id="abc", action="G"
        )
    assert err.value.run_id == "abc"
