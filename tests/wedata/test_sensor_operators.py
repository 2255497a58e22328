"""WeData sensor, operators, trigger and link, over a TC3-verifying mock transport (no DB, no network)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any
from unittest import mock

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from wedata_support import EXECUTION_ID, PROJECT_ID, SEED_RESPONSE, SignedMock, api3_body

import airflow_provider_cloudflows.hooks.base as base_module
import airflow_provider_cloudflows.links.base as links_base
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.links.wedata import WeDataWorkflowRunLink
from airflow_provider_cloudflows.operators.wedata import (
    WeDataGetWorkflowRunOperator,
    WeDataStartWorkflowRunOperator,
)
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def run_response(state: str, error: str | None = None, execution_id: str = EXECUTION_ID) -> dict[str, Any]:
    payload = copy.deepcopy(SEED_RESPONSE)
    brief = payload["Data"]["TriggerWorkflowRun"]
    brief.update(ExecutionState=state, ErrorCodeStr=error, ExecutionId=execution_id)
    if state != "FAILED":
        for task in payload["Data"]["TriggerTaskRuns"]:
            task.update(
                ExecutionState="SUCCESS" if state == "SUCCESS" else state, ErrorCode=None, ErrorCodeStr=None
            )
    return payload


class Vendor:
    """Scripted WeData: each GetTriggerWorkflowRun returns the next state; records every call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, states: list[str], error: str | None = None) -> None:
        self.states = list(states)
        self.error = error
        self.polls = 0
        self.mock = SignedMock(self.answer)
        transport = httpx.MockTransport(self.mock)
        monkeypatch.setattr(base_module, "shared_async_transport", lambda _url: transport)
        self.transport = transport

    def answer(self, action: str, body: dict[str, Any]) -> httpx.Response:
        if action == "GetTriggerWorkflowRun":
            state = self.states[min(self.polls, len(self.states) - 1)]
            self.polls += 1
            error = self.error if state == "FAILED" else None
            return api3_body(run_response(state, error, body["WorkflowExecutionId"]))
        if action == "CreateTriggerWorkflowRun":
            return api3_body({"Data": {"WorkflowExecutionId": EXECUTION_ID}, "RequestId": "r"})
        if action == "KillTriggerWorkflowRuns":
            items = [{"ItemId": e, "OpStatus": True} for e in body["WorkflowExecutionIdList"]]
            return api3_body({"Data": items, "RequestId": "r"})
        raise AssertionError(action)

    def attach(self, task: Any) -> Any:
        """Give an operator a hook whose sync requests go to this vendor."""
        hook = task.hook_class(task.conn_id, retry_policy=FAST, **task.hook_params())
        hook.__dict__["transport"] = lambda _url: self.transport
        task.__dict__["hook"] = hook
        return task

    def actions(self) -> list[str]:
        return [c[0] for c in self.mock.calls]


def context() -> dict[str, Any]:
    ti = mock.MagicMock()
    ti.get_first_reschedule_date.return_value = None
    # Airflow 2 looks the task instance up in task_reschedule by these.
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.max_tries, ti.try_number = "d", "wait", "r", -1, 0, 1
    return {"ti": ti}


def pushed(ctx: dict[str, Any]) -> dict[str, Any]:
    return {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}


def sensor(**kwargs: Any) -> WeDataWorkflowRunSensor:
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("poke_interval", 0.01)
    return WeDataWorkflowRunSensor(
        task_id="wait",
        execution_id=EXECUTION_ID,
        project_id=PROJECT_ID,
        timeout=5,
        **kwargs,
    )


# -- sensor -------------------------------------------------------------------------------------


def test_sensor_waits_then_succeeds_with_run_as_xcom(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["PENDING", "RUNNING", "SUCCESS"])
    s = vendor.attach(sensor())
    ctx = context()
    assert s.poke(ctx).is_done is False
    assert s.poke(ctx).is_done is False
    result = s.poke(ctx)
    assert result.is_done is True
    assert result.xcom_value["run_id"] == EXECUTION_ID
    assert result.xcom_value["raw_state"] == "SUCCESS"
    assert [t["name"] for t in result.xcom_value["task_runs"]] == ["extract_orders", "load_orders", "notify"]
    assert "projectId=" in pushed(ctx)["console_url"]


def test_sensor_execute_in_poke_mode_returns_the_run(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["RUNNING", "SUCCESS"])
    assert vendor.attach(sensor()).execute(context())["state"] == "succeeded"


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        ("SUCCESS", "done"),
        ("SKIPED", "done"),
        ("SKIP", "done"),
        ("SKIPPED", "done"),
        ("FAILED", "fail"),
        ("PENDING", "wait"),
        ("RUNNING", "wait"),
        ("SOMETHING_NEW", "wait"),
    ],
)
def test_sensor_every_state(wedata_conn, monkeypatch, raw, outcome):
    vendor = Vendor(monkeypatch, [raw])
    s = vendor.attach(sensor())
    if outcome == "fail":
        with pytest.raises(AirflowFailException):
            s.poke(context())
    else:
        assert s.poke(context()).is_done is (outcome == "done")


def test_sensor_failure_names_run_state_and_error_code(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["FAILED"], error="TASK_FAILED_E1001")
    s = vendor.attach(sensor())
    with pytest.raises(AirflowFailException) as exc:
        s.poke(context())
    message = str(exc.value)
    assert EXECUTION_ID in message
    assert "'FAILED'" in message
    assert "TASK_FAILED_E1001" in message
    assert "load_orders" in message  # the failed task run, with its error code
    assert "E1001" in message


def test_skipped_run_succeeds_by_default_and_fails_when_asked(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["SKIPED"])
    assert vendor.attach(sensor()).poke(context()).is_done is True
    strict = vendor.attach(sensor(failure_states=["SKIPED"]))
    with pytest.raises(AirflowFailException, match=r"'SKIPED' \(a failure by failure_states\)"):
        strict.poke(context())


def test_sensor_reschedule_mode(wedata_conn, monkeypatch, request):
    from importlib.metadata import version

    if int(version("apache-airflow").split(".")[0]) < 3:  # Airflow 2 reads reschedules from the DB
        request.getfixturevalue("airflow_db")
    try:
        from airflow.sdk.exceptions import AirflowRescheduleException
    except ImportError:  # Airflow 2
        from airflow.exceptions import AirflowRescheduleException

    vendor = Vendor(monkeypatch, ["RUNNING"])
    s = vendor.attach(sensor(mode="reschedule", poke_interval=30))
    with pytest.raises(AirflowRescheduleException):
        s.execute(context())


def test_sensor_defers_to_the_shared_trigger(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["RUNNING"])
    s = vendor.attach(sensor(deferrable=True, tencentcloud_conn_id="tencentcloud_default"))
    with pytest.raises(TaskDeferred) as exc:
        s.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger)
    assert exc.value.method_name == "execute_complete"
    path, kwargs = trigger.serialize()
    assert kwargs["hook_class_path"] == "airflow_provider_cloudflows.hooks.wedata.WeDataHook"
    assert kwargs["run_id"] == EXECUTION_ID
    assert kwargs["run_params"] == {"project_id": PROJECT_ID}
    assert kwargs["conn_id"] == "tencentcloud_default"
    assert WorkflowRunTrigger(**kwargs).serialize() == (path, kwargs)


def test_already_finished_run_does_not_defer(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["SUCCESS"])
    assert vendor.attach(sensor(deferrable=True)).execute(context())["raw_state"] == "SUCCESS"


@pytest.mark.asyncio
async def test_trigger_yields_exactly_one_event(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["PENDING", "RUNNING", "SUCCESS"])
    s = sensor(deferrable=True)
    trigger = s.build_trigger(deadline=None)
    trigger.poll_interval = 0.01
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    assert events[0].payload["status"] == "success"
    assert events[0].payload["run"]["raw_state"] == "SUCCESS"
    assert vendor.polls == 3
    assert s.execute_complete(context(), events[0].payload)["run_id"] == EXECUTION_ID


@pytest.mark.asyncio
async def test_trigger_failure_event_fails_the_sensor(wedata_conn, monkeypatch):
    Vendor(monkeypatch, ["RUNNING", "FAILED"], error="TASK_FAILED")
    s = sensor(deferrable=True)
    trigger = s.build_trigger(deadline=None)
    trigger.poll_interval = 0.01
    (event,) = [e async for e in trigger.run()]
    assert event.payload["status"] == "failure"
    with pytest.raises(AirflowFailException, match=r"TASK_FAILED"):
        s.execute_complete(context(), event.payload)


def test_sensor_template_fields_render(wedata_conn):
    s = WeDataWorkflowRunSensor(
        task_id="wait",
        execution_id="{{ params.exec }}",
        project_id="{{ params.project }}",
        tencentcloud_conn_id="{{ params.conn }}",
        deferrable=False,
    )
    assert set(s.template_fields) >= {"execution_id", "project_id", "tencentcloud_conn_id"}
    s.render_template_fields({"params": {"exec": "e-7", "project": "p-9", "conn": "tc_other"}})
    assert (s.execution_id, s.run_id) == ("e-7", "e-7")
    assert s.project_id == "p-9"
    assert (s.tencentcloud_conn_id, s.conn_id) == ("tc_other", "tc_other")
    assert s.run_params() == {"project_id": "p-9"}


# -- operators ------------------------------------------------------------------------------------


def test_get_operator_pushes_run_task_runs_and_console_url(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["FAILED"], error="TASK_FAILED")
    op = vendor.attach(
        WeDataGetWorkflowRunOperator(task_id="get", execution_id=EXECUTION_ID, project_id=PROJECT_ID)
    )
    ctx = context()
    result = op.execute(ctx)
    assert result["run_id"] == EXECUTION_ID and result["error_code"] == "TASK_FAILED"
    xcom = pushed(ctx)
    assert [t["job_id"] for t in xcom["task_runs"]] == ["job-8841", "job-8842", None]
    assert xcom["console_url"].startswith("https://console.cloud.tencent.com/wedata/")
    assert set(op.template_fields) >= {"execution_id", "project_id", "tencentcloud_conn_id"}


def test_start_operator_without_waiting_pushes_execution_id(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["RUNNING"])
    op = vendor.attach(
        WeDataStartWorkflowRunOperator(
            task_id="start",
            project_id=PROJECT_ID,
            workflow_id="wf-1",
            workflow_params={"bizdate": "20250101"},
            task_ids=["t1"],
            wait_for_completion=False,
        )
    )
    ctx = context()
    assert op.execute(ctx) == EXECUTION_ID
    assert pushed(ctx)["run_id"] == EXECUTION_ID
    create = vendor.mock.calls[0][1]
    user_param, mark = create["AdvancedParams"]
    assert user_param == {"ParamKey": "bizdate", "ParamValue": "20250101"}
    # The task instance's mark, by which a retry finds this run.
    assert mark["ParamKey"] == "airflow_task_instance" and mark["ParamValue"].startswith("airflow-")
    assert create["TaskIds"] == ["t1"]
    assert vendor.actions() == ["CreateTriggerWorkflowRun"]


def test_start_operator_waits_and_fails_with_the_error(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["RUNNING", "FAILED"], error="TASK_FAILED")
    op = vendor.attach(
        WeDataStartWorkflowRunOperator(
            task_id="start", project_id=PROJECT_ID, workflow_id="wf-1", poll_interval=0.01
        )
    )
    ctx = context()
    with pytest.raises(AirflowFailException, match=rf"{EXECUTION_ID}.*TASK_FAILED"):
        op.execute(ctx)
    assert pushed(ctx)["run"]["raw_state"] == "FAILED"


def test_start_operator_waits_and_succeeds(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["PENDING", "SUCCESS"])
    op = vendor.attach(
        WeDataStartWorkflowRunOperator(
            task_id="start", project_id=PROJECT_ID, workflow_id="wf-1", poll_interval=0.01
        )
    )
    assert op.execute(context()) == EXECUTION_ID
    assert vendor.actions() == ["CreateTriggerWorkflowRun", "GetTriggerWorkflowRun", "GetTriggerWorkflowRun"]


def test_start_operator_defers(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["RUNNING"])
    op = vendor.attach(
        WeDataStartWorkflowRunOperator(
            task_id="start", project_id=PROJECT_ID, workflow_id="wf-1", deferrable=True
        )
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    assert exc.value.trigger.run_params == {"project_id": PROJECT_ID}
    assert exc.value.kwargs == {"run_id": EXECUTION_ID}


def test_on_kill_stops_the_remote_run(wedata_conn, monkeypatch):
    vendor = Vendor(monkeypatch, ["RUNNING"])
    op = vendor.attach(
        WeDataStartWorkflowRunOperator(
            task_id="start", project_id=PROJECT_ID, workflow_id="wf-1", wait_for_completion=False
        )
    )
    op.on_kill()  # nothing started yet: nothing to stop
    assert vendor.actions() == []
    op.execute(context())
    op.on_kill()
    assert vendor.actions() == ["CreateTriggerWorkflowRun", "KillTriggerWorkflowRuns"]
    assert vendor.mock.calls[1][1] == {
        "ProjectId": PROJECT_ID,
        "WorkflowId": "wf-1",
        "WorkflowExecutionIdList": [EXECUTION_ID],
    }


def test_start_operator_template_fields_render(wedata_conn):
    op = WeDataStartWorkflowRunOperator(
        task_id="start",
        project_id="{{ params.p }}",
        workflow_id="{{ params.w }}",
        workflow_params={"bizdate": "{{ params.d }}"},
        task_ids=["{{ params.t }}"],
    )
    op.render_template_fields({"params": {"p": "p1", "w": "w1", "d": "20250101", "t": "t9"}})
    assert (op.project_id, op.workflow_id) == ("p1", "w1")
    assert op.workflow_params == {"bizdate": "20250101"}
    assert op.task_ids == ["t9"]


# -- link -----------------------------------------------------------------------------------------


def test_link_reads_the_pushed_console_url(monkeypatch):
    seen = {}

    class FakeXCom:
        @staticmethod
        def get_value(*, ti_key: Any, key: str) -> str:
            seen["key"] = key
            return "https://console.cloud.tencent.com/wedata/ops/workflow-run?executionId=e1"

        @staticmethod
        def get_all(*, key: str, **where: Any) -> list[str]:  # Airflow 3, at the end of a task
            seen["key"] = key
            return ["https://console.cloud.tencent.com/wedata/ops/workflow-run?executionId=e1"]

    monkeypatch.setattr(links_base, "XCom", FakeXCom)
    link = WeDataWorkflowRunLink()
    assert link.name == "WeData Run"
    key = mock.MagicMock(map_index=-1)
    assert link.get_link(mock.MagicMock(), ti_key=key).endswith("executionId=e1")
    assert seen["key"] == "console_url"
    assert any(isinstance(x, WeDataWorkflowRunLink) for x in WeDataWorkflowRunSensor.operator_extra_links)
    assert any(
        isinstance(x, WeDataWorkflowRunLink) for x in WeDataStartWorkflowRunOperator.operator_extra_links
    )


def test_trigger_keeps_polling_through_throttling(monkeypatch):
    from wedata_support import api3_error, install_connection

    install_connection(monkeypatch, retry_max_attempts=2, retry_base_delay=0.01)

    answers = iter([api3_error("RequestLimitExceeded")] * 3 + [api3_body(run_response("SUCCESS"))])
    signed = SignedMock(lambda action, body: next(answers))
    transport = httpx.MockTransport(signed)
    monkeypatch.setattr(base_module, "shared_async_transport", lambda _url: transport)
    trigger = sensor(deferrable=True).build_trigger(deadline=None)
    trigger.poll_interval = 0.01

    async def collect() -> list[Any]:
        return [e async for e in trigger.run()]

    (event,) = asyncio.run(collect())
    assert event.payload["status"] == "success"
    assert len(signed.calls) == 4
