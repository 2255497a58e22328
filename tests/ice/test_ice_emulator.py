"""IceHook, sensor, operators and trigger against the local emulator (real HTTP, real signatures)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from ice_payloads import finished

from airflow_provider_cloudflows.emulator.services.ice import (
    DEMO_FAILED_TASK_ID,
    DEMO_SLOW_TASK_ID,
    DEMO_SUCCEED_TASK_ID,
    NOT_FOUND_CODE,
    VENDOR,
    demo_runs,
    task_spec,
)
from airflow_provider_cloudflows.errors import AuthError, InvalidRequestError, NotFoundError
from airflow_provider_cloudflows.hooks.ice import IceHook
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.operators.ice import IceGetWorkflowTaskOperator, IceStartWorkflowOperator
from airflow_provider_cloudflows.runs import RunState
from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

FAST = RetryPolicy(max_attempts=3, base_delay=0.01)
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MEDIA = {"Type": "Media", "Media": "m-0001"}


def hook(**kwargs: Any) -> IceHook:
    h = IceHook(retry_policy=FAST, **kwargs)
    h.sleeps = []
    h.sleep = h.sleeps.append
    return h


def requests(emulator, action: str | None = None) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor=VENDOR, action=action)


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


# -- GetWorkflowTask ---------------------------------------------------------------------------------


def test_get_run_reads_the_documented_shape(emulator) -> None:
    emulator.control.script_runs([finished("t-ok", user_data='{"NotifyAddress":"https://x/cb"}')])
    run = hook().get_run("t-ok")
    task = run.detail["WorkflowTask"]
    assert set(task) == {
        "TaskId",
        "Status",
        "TaskInput",
        "UserData",
        "CreateTime",
        "FinishTime",
        "ActivityResults",
        "Workflow",
    }
    assert set(task["Workflow"]) == {"WorkflowId", "Name", "Status", "Type", "CreateTime", "ModifiedTime"}
    for text_field in ("TaskInput", "UserData", "ActivityResults"):
        assert isinstance(task[text_field], str)
    assert ISO_UTC.match(task["CreateTime"]) and ISO_UTC.match(task["FinishTime"])
    assert run.detail["decoded"]["UserData"] == {"NotifyAddress": "https://x/cb"}
    assert run.detail["decoded"]["TaskInput"]["Type"] == "Media"
    assert run.state is RunState.SUCCEEDED and run.finished_at is not None
    assert [(t.name, t.state, t.raw_state) for t in run.task_runs] == [
        ("Transcode", RunState.SUCCEEDED, "Succeed"),
        ("Snapshot", RunState.SUCCEEDED, "Succeed"),
    ]
    assert all(t.job_id and t.task_run_id for t in run.task_runs)
    assert run.detail["RequestId"]


def test_failed_task_names_its_failed_node(emulator) -> None:
    emulator.control.script_runs([finished("t-bad", outcome="Failed")])
    run = hook().get_run("t-bad")
    assert run.state is RunState.FAILED
    assert run.error_code == "InvalidParameter.Input"
    (failed,) = run.failed_task_runs()
    assert failed.name == "Snapshot" and failed.raw_state == "Failed"


def test_a_task_progresses_through_every_state(emulator) -> None:
    emulator.control.script_runs([task_spec("t-walk", outcome="Canceled")])
    h = hook()
    seen = [h.get_run("t-walk").raw_state for _ in range(5)]
    assert seen == ["Init", "Processing", "Processing", "Canceled", "Canceled"]
    assert h.get_run("t-walk").state is RunState.CANCELLED


def test_sync_and_async_reads_are_identical(emulator) -> None:
    emulator.control.script_runs([finished("t-same", outcome="Failed")])
    sync_run = hook().get_run("t-same")
    async_run = asyncio.run(hook().aget_run("t-same"))
    assert async_run.model_dump(exclude={"detail"}) == sync_run.model_dump(exclude={"detail"})
    assert async_run.detail["WorkflowTask"] == sync_run.detail["WorkflowTask"]
    assert async_run.detail["decoded"] == sync_run.detail["decoded"]


def test_unknown_task_is_not_found_naming_it(emulator) -> None:
    h = hook()
    with pytest.raises(NotFoundError) as info:
        h.get_run("no-such-task")
    err = info.value
    assert err.code == NOT_FOUND_CODE and err.http_status == 404 and err.run_id == "no-such-task"
    assert "no-such-task" in str(err) and "last year" in str(err)
    assert len(requests(emulator)) == 1 and h.sleeps == []


def test_tasks_older_than_a_year_cannot_be_queried(emulator) -> None:
    old = time.time() - 400 * 24 * 3600
    emulator.control.script_runs([finished("t-old", created_at=old), finished("t-recent")])
    assert hook().get_run("t-recent").raw_state == "Succeed"
    with pytest.raises(NotFoundError, match="last year"):
        hook().get_run("t-old")


def test_bad_secret_is_an_auth_error_with_signature_does_not_match(emulator, monkeypatch) -> None:
    conn = json.loads(emulator.alibabacloud_connection_json())
    conn["password"] = "wrong-secret"
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", json.dumps(conn))
    emulator.control.script_runs([finished("t-1")])
    h = hook()
    with pytest.raises(AuthError) as info:
        h.get_run("t-1")
    assert info.value.code == "SignatureDoesNotMatch" and info.value.http_status == 400
    assert "wrong-secret" not in str(info.value)
    assert [r["error_code"] for r in requests(emulator)] == ["SignatureDoesNotMatch"]
    assert h.sleeps == []


def test_throttling_then_success_counts_two_requests(emulator) -> None:
    emulator.control.script_runs([finished("t-1")])
    # Fault draws follow random.Random(seed): pick a seed whose first draw faults and second does not.
    import random

    seed = next(s for s in range(1000) if (r := random.Random(s)).random() < 0.5 and r.random() >= 0.5)
    emulator.control.set_faults(0.5, seed=seed, kinds=["throttle"], retry_after_ms=700)
    h = hook()
    assert h.get_run("t-1").raw_state == "Succeed"
    log = requests(emulator, "GetWorkflowTask")
    assert [(r["fault"], r["status"]) for r in log] == [("throttle", 400), (None, 200)]
    assert h.sleeps == [0.7]  # x-acs-retry-after honoured (milliseconds)


# -- StartWorkflow and ListWorkflowTasks -------------------------------------------------------------


def test_start_run_creates_a_task_that_progresses_by_time(emulator) -> None:
    h = hook()
    task_id = h.start_run("wf-1", MEDIA, {"emulator_step_seconds": 0.05, "callback": "x"})
    assert re.fullmatch(r"[0-9a-f]{32}", task_id)
    first = h.get_run(task_id)
    assert first.raw_state in ("Init", "Processing") and first.workflow_id == "wf-1"
    assert first.detail["decoded"]["TaskInput"] == MEDIA
    time.sleep(0.3)
    done = h.get_run(task_id)
    assert done.state is RunState.SUCCEEDED and done.finished_at is not None
    (start,) = requests(emulator, "StartWorkflow")
    assert start["status"] == 200 and start["run_id"] == task_id


def test_start_run_failing_outcome(emulator) -> None:
    h = hook()
    task_id = h.start_run("wf-1", MEDIA, {"emulator_step_seconds": 0.02, "emulator_outcome": "Failed"})
    time.sleep(0.15)
    run = h.get_run(task_id)
    assert run.state is RunState.FAILED and run.failed_task_runs()[0].name == "Snapshot"


def test_start_run_with_invalid_input_is_refused(emulator) -> None:
    with pytest.raises(InvalidRequestError) as info:
        hook().start_run("wf-1", {"Type": "Tape", "Media": "x"})
    assert info.value.code == "InvalidParameter"
    with pytest.raises(InvalidRequestError) as info:
        hook().start_run("wf-1", "{not json")
    assert info.value.code == "InvalidParameter"


def test_list_runs_follows_next_token(emulator) -> None:
    base = time.time() - 3600
    specs = [finished(f"t-{i:02d}", created_at=base + i) for i in range(23)]
    specs.append(finished("t-other", workflow_id="wf-other", created_at=base + 100))
    specs.append(finished("t-ancient", created_at=time.time() - 100 * 24 * 3600))
    emulator.control.script_runs(specs)
    runs = list(hook().list_runs(max_results=10, workflow_id=specs[0]["fields"]["WorkflowId"]))
    assert [r.run_id for r in runs] == [f"t-{i:02d}" for i in reversed(range(23))]  # newest first
    log = requests(emulator, "ListWorkflowTasks")
    assert len(log) == 3 and all(r["status"] == 200 for r in log)
    assert runs[0].task_runs == []  # list items carry no node results
    assert {r.run_id for r in hook().list_runs()} == {f"t-{i:02d}" for i in range(23)} | {"t-other"}
    assert [r.run_id for r in hook().list_runs(limit=4)] == ["t-other", "t-22", "t-21", "t-20"]


def test_list_runs_by_key_text_and_time(emulator) -> None:
    now = time.time()
    emulator.control.script_runs(
        [
            finished("t-cat", task_input={"Type": "OSS", "Media": "oss://b/cat.mp4"}, created_at=now - 7200),
            finished("t-dog", task_input={"Type": "OSS", "Media": "oss://b/dog.mp4"}, created_at=now - 60),
        ]
    )
    assert [r.run_id for r in hook().list_runs(key_text="cat.mp4")] == ["t-cat"]
    from datetime import UTC, datetime

    recent = hook().list_runs(created_after=datetime.fromtimestamp(now - 600, UTC))
    assert [r.run_id for r in recent] == ["t-dog"]


def test_test_connection_against_the_emulator(emulator) -> None:
    ok, message = IceHook().test_connection()
    assert ok, message
    assert "Alibaba Cloud ICE" in message


# -- sensor, trigger and operators -------------------------------------------------------------------


def test_sensor_pokes_until_success(emulator) -> None:
    emulator.control.script_runs([task_spec("t-sensor")])
    sensor = IceWorkflowTaskSensor(task_id="wait", workflow_task_id="t-sensor", poke_interval=0)
    ctx = context()
    results = [sensor.poke(ctx) for _ in range(4)]
    assert [r.is_done for r in results] == [False, False, False, True]
    assert results[-1].xcom_value["raw_state"] == "Succeed"


def test_sensor_fails_on_a_failed_task(emulator) -> None:
    emulator.control.script_runs([finished("t-bad", outcome="Failed")])
    sensor = IceWorkflowTaskSensor(task_id="wait", workflow_task_id="t-bad")
    with pytest.raises(AirflowFailException, match="Snapshot"):
        sensor.poke(context())


def test_sensor_defers_and_the_trigger_yields_exactly_one_event(emulator) -> None:
    emulator.control.script_runs([task_spec("t-defer")])
    sensor = IceWorkflowTaskSensor(
        task_id="wait", workflow_task_id="t-defer", deferrable=True, poke_interval=0.01, timeout=30
    )
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(context())
    trigger = info.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger)
    _classpath, kwargs = trigger.serialize()
    rebuilt = WorkflowRunTrigger(**kwargs)  # as a triggerer would, after a restart

    async def collect() -> list[Any]:
        return [event async for event in rebuilt.run()]

    events = asyncio.run(asyncio.wait_for(collect(), 30))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "success" and payload["run"]["raw_state"] == "Succeed"
    assert sensor.execute_complete(context(), payload)["run_id"] == "t-defer"


def test_get_operator_against_the_emulator(emulator) -> None:
    emulator.control.script_runs([finished("t-get", outcome="Failed")])
    ctx = context()
    result = IceGetWorkflowTaskOperator(task_id="get", workflow_task_id="t-get").execute(ctx)
    assert result["raw_state"] == "Failed"
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}
    assert [t["name"] for t in pushed["task_runs"]] == ["Transcode", "Snapshot"]
    assert pushed["task_runs"][1]["error_code"] == "InvalidParameter.Input"


def test_start_operator_waits_for_the_new_task(emulator) -> None:
    op = IceStartWorkflowOperator(
        task_id="start",
        workflow_id="wf-9",
        task_input=MEDIA,
        user_data={"emulator_step_seconds": 0.02},
        poll_interval=0.05,
        timeout=30,
    )
    ctx = context()
    task_id = op.execute(ctx)
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}
    assert pushed["run_id"] == task_id and pushed["run"]["raw_state"] == "Succeed"


def test_start_operator_fails_when_the_task_fails(emulator) -> None:
    op = IceStartWorkflowOperator(
        task_id="start",
        workflow_id="wf-9",
        task_input=MEDIA,
        user_data={"emulator_step_seconds": 0.02, "emulator_outcome": "Failed"},
        poll_interval=0.05,
        timeout=30,
    )
    with pytest.raises(AirflowFailException, match="Failed"):
        op.execute(context())


# -- demo runs -----------------------------------------------------------------------------------------


def test_demo_runs(emulator) -> None:
    emulator.control.script_runs(demo_runs())
    h = hook()
    assert [h.get_run(DEMO_SUCCEED_TASK_ID).raw_state for _ in range(4)][-1] == "Succeed"
    assert [h.get_run(DEMO_FAILED_TASK_ID).raw_state for _ in range(4)][-1] == "Failed"
    assert h.get_run(DEMO_SLOW_TASK_ID).raw_state == "Init"  # 5 s per step
