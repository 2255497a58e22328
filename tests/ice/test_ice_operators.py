"""IceWorkflowTaskSensor, IceGetWorkflowTaskOperator, IceStartWorkflowOperator and the console link."""

from __future__ import annotations

import copy
import json
import types
from unittest import mock

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from ice_gateway import Gateway, hook_with
from ice_payloads import SEED

from airflow_provider_cloudflows.hooks.ice import IceHook
from airflow_provider_cloudflows.links.ice import IceWorkflowTaskLink
from airflow_provider_cloudflows.operators.ice import IceGetWorkflowTaskOperator, IceStartWorkflowOperator
from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

pytestmark = pytest.mark.usefixtures("connection")


def task_in(*states: str) -> Gateway:
    """A gateway whose task walks through `states`, one per GetWorkflowTask call."""
    remaining = list(states)

    def respond(_r: httpx.Request, query: dict[str, str]) -> httpx.Response:
        if query.get("WorkflowId"):
            return httpx.Response(200, json={"RequestId": "r", "TaskId": "started-1"})
        status = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        body = copy.deepcopy(SEED)
        body["WorkflowTask"].update(TaskId=query["TaskId"], Status=status)
        return httpx.Response(200, json=body)

    return Gateway(respond)


def with_gateway(task, gateway: Gateway):
    task.__dict__["hook"] = hook_with(gateway)
    return task


def ti() -> mock.MagicMock:
    return mock.MagicMock()


# -- sensor -------------------------------------------------------------------------------------------


def test_sensor_arguments_do_not_clash_with_airflow_task_id() -> None:
    sensor = IceWorkflowTaskSensor(task_id="wait", workflow_task_id="t-1", alibabacloud_conn_id="my_ali")
    assert sensor.task_id == "wait"
    assert sensor.workflow_task_id == "t-1" == sensor.run_id
    assert sensor.alibabacloud_conn_id == "my_ali" == sensor.conn_id
    assert IceWorkflowTaskSensor(task_id="w", workflow_task_id="x").conn_id == "alibabacloud_default"
    assert "workflow_task_id" in sensor.template_fields and "alibabacloud_conn_id" in sensor.template_fields
    assert [type(link) for link in sensor.operator_extra_links] == [IceWorkflowTaskLink]


def test_sensor_templates_render_into_the_polled_id() -> None:
    sensor = IceWorkflowTaskSensor(
        task_id="wait", workflow_task_id="{{ params.task }}", alibabacloud_conn_id="{{ params.conn }}"
    )
    sensor.render_template_fields({"params": {"task": "abc", "conn": "ali_2"}})
    assert (sensor.run_id, sensor.conn_id) == ("abc", "ali_2")


def test_sensor_poke_waits_then_succeeds_with_the_run_as_xcom() -> None:
    sensor = with_gateway(
        IceWorkflowTaskSensor(task_id="w", workflow_task_id="t-1"), task_in("Init", "Succeed")
    )
    context = {"ti": ti()}
    assert sensor.poke(context).is_done is False
    done = sensor.poke(context)
    assert done.is_done and done.xcom_value["run_id"] == "t-1"
    assert done.xcom_value["raw_state"] == "Succeed"
    assert [t["name"] for t in done.xcom_value["task_runs"]] == ["Transcode", "Snapshot"]
    context["ti"].xcom_push.assert_called_once_with(
        key="console_url",
        value="https://ims.console.aliyun.com/settings/workflow/task/list?taskId=t-1&regionId=cn-shanghai",
    )


@pytest.mark.parametrize("state", ["Failed", "Canceled"])
def test_sensor_fails_on_failed_and_canceled_naming_the_task_and_node(state: str) -> None:
    sensor = with_gateway(IceWorkflowTaskSensor(task_id="w", workflow_task_id="t-9"), task_in(state))
    with pytest.raises(AirflowFailException) as info:
        sensor.poke({"ti": ti()})
    message = str(info.value)
    assert "Alibaba Cloud ICE workflow task t-9" in message and repr(state) in message
    assert "Snapshot" in message  # the failed node


def test_sensor_success_states_override() -> None:
    sensor = with_gateway(
        IceWorkflowTaskSensor(task_id="w", workflow_task_id="t", success_states=["Succeed", "Canceled"]),
        task_in("Canceled"),
    )
    assert sensor.poke({"ti": ti()}).is_done


def test_sensor_defers_with_the_shared_trigger() -> None:
    sensor = with_gateway(
        IceWorkflowTaskSensor(
            task_id="w", workflow_task_id="t-1", deferrable=True, poke_interval=2, region="cn-beijing"
        ),
        task_in("Processing"),
    )
    with pytest.raises(TaskDeferred) as info:
        sensor.execute({"ti": ti()})
    trigger = info.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger) and info.value.method_name == "execute_complete"
    _path, kwargs = trigger.serialize()
    assert kwargs["hook_class_path"] == "airflow_provider_cloudflows.hooks.ice.IceHook"
    assert kwargs["run_id"] == "t-1" and kwargs["conn_id"] == "alibabacloud_default"
    assert kwargs["poll_interval"] == 2.0 and kwargs["run_noun"] == "workflow task"
    assert kwargs["hook_params"] == {"region": "cn-beijing"}
    json.dumps(kwargs)


def test_sensor_deferrable_returns_at_once_when_already_finished() -> None:
    sensor = with_gateway(
        IceWorkflowTaskSensor(task_id="w", workflow_task_id="t-1", deferrable=True), task_in("Succeed")
    )
    assert sensor.execute({"ti": ti()})["state"] == "succeeded"


# -- get operator -----------------------------------------------------------------------------------------


def test_get_operator_pushes_task_and_node_results() -> None:
    op = with_gateway(
        IceGetWorkflowTaskOperator(task_id="get", workflow_task_id="t-5"), task_in("Processing")
    )
    context = {"ti": ti()}
    result = op.execute(context)
    assert result["run_id"] == "t-5" and result["raw_state"] == "Processing"
    assert result["detail"]["decoded"]["TaskInput"]["Type"] == "Media"
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in context["ti"].xcom_push.call_args_list}
    assert [t["name"] for t in pushed["task_runs"]] == ["Transcode", "Snapshot"]
    assert pushed["task_runs"][0]["job_id"] == "0f5da****4e5897f147"
    assert pushed["console_url"].endswith("taskId=t-5&regionId=cn-shanghai")
    assert op.template_fields[:3] == ("workflow_task_id", "alibabacloud_conn_id", "region")
    assert {"workflow_id", "created_after", "created_before"} <= set(op.template_fields)


# -- start operator -----------------------------------------------------------------------------------


def test_start_operator_without_waiting_pushes_the_task_id() -> None:
    gateway = task_in("Init")
    op = with_gateway(
        IceStartWorkflowOperator(
            task_id="start",
            workflow_id="wf-1",
            task_input={"Type": "Media", "Media": "m-1"},
            user_data={"k": "v"},
            wait_for_completion=False,
        ),
        gateway,
    )
    context = {"ti": ti()}
    assert op.execute(context) == "started-1"
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in context["ti"].xcom_push.call_args_list}
    assert pushed["run_id"] == "started-1"
    assert pushed["console_url"].startswith("https://ims.console.aliyun.com/")
    (request,) = gateway.requests
    assert request.headers["x-acs-action"] == "StartWorkflow"


def test_start_operator_waits_until_the_task_succeeds() -> None:
    gateway = task_in("Init", "Processing", "Succeed")
    op = with_gateway(
        IceStartWorkflowOperator(
            task_id="start", workflow_id="wf-1", task_input='{"Type":"Media","Media":"m"}', poll_interval=0
        ),
        gateway,
    )
    context = {"ti": ti()}
    assert op.execute(context) == "started-1"
    actions = [r.headers["x-acs-action"] for r in gateway.requests]
    assert actions == ["StartWorkflow", "GetWorkflowTask", "GetWorkflowTask", "GetWorkflowTask"]
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in context["ti"].xcom_push.call_args_list}
    assert pushed["run"]["raw_state"] == "Succeed"


def test_start_operator_deferrable_defers_on_the_new_task() -> None:
    op = with_gateway(
        IceStartWorkflowOperator(
            task_id="start", workflow_id="wf-1", task_input={"Type": "Media", "Media": "m"}, deferrable=True
        ),
        task_in("Init"),
    )
    with pytest.raises(TaskDeferred) as info:
        op.execute({"ti": ti()})
    assert info.value.trigger.serialize()[1]["run_id"] == "started-1"
    assert info.value.kwargs == {"run_id": "started-1"}


def test_start_operator_templated_fields() -> None:
    op = IceStartWorkflowOperator(
        task_id="start",
        workflow_id="{{ params.wf }}",
        task_input={"Type": "Media", "Media": "{{ params.media }}"},
        user_data='{"run": "{{ params.run }}"}',
    )
    op.render_template_fields({"params": {"wf": "wf-7", "media": "m-7", "run": "r-7"}})
    assert op.workflow_id == "wf-7"
    assert op.task_input == {"Type": "Media", "Media": "m-7"}
    assert op.user_data == '{"run": "r-7"}'


def test_on_kill_says_ice_cannot_stop_the_task() -> None:
    gateway = task_in("Processing")
    op = with_gateway(
        IceStartWorkflowOperator(
            task_id="start", workflow_id="wf", task_input={"Type": "Media", "Media": "m"}
        ),
        gateway,
    )
    op.started_run_id = "t-77"
    with mock.patch.object(IceStartWorkflowOperator, "log", new_callable=mock.PropertyMock) as log:
        op.on_kill()
    (call,) = log.return_value.warning.call_args_list
    text = call.args[0] % call.args[1:]
    assert "no API to stop" in text and "t-77" in text and "keeps running" in text
    assert gateway.requests == []  # nothing sent


# -- link ----------------------------------------------------------------------------------------------


def test_link_reads_the_pushed_console_url() -> None:
    link = IceWorkflowTaskLink()
    assert link.name == "ICE Workflow Task"
    url = IceHook(region="cn-hangzhou").console_url_for("t-1")
    key = types.SimpleNamespace(dag_id="d", task_id="read", run_id="r", map_index=-1, try_number=1)
    with mock.patch("airflow_provider_cloudflows.links.base.XCom") as xcom:
        # Airflow 2 reads it with get_value; Airflow 3 (at the end of a task) lists the key.
        xcom.get_value.return_value = url
        xcom.get_all.return_value = [url]
        assert link.get_link(mock.MagicMock(), ti_key=key) == url
    assert {call[0] for call in xcom.mock_calls} & {"get_value", "get_all"}
    for call in xcom.mock_calls:
        assert call.kwargs.get("key") == "console_url"
