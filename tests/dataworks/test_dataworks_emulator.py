"""DataWorksHook, sensor, operators and trigger against the local emulator (real HTTP, real signatures)."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_cloudflows.emulator.services.dataworks import (
    VENDOR,
    default_bizdate,
    demo_runs,
    instance_spec,
)
from airflow_provider_cloudflows.errors import AuthError, NotFoundError, VendorApiError
from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.links.dataworks import DataWorksWorkflowInstanceLink
from airflow_provider_cloudflows.operators.dataworks import (
    DataWorksCreateWorkflowInstancesOperator,
    DataWorksGetWorkflowInstanceOperator,
)
from airflow_provider_cloudflows.runs import RunState
from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

FAST = RetryPolicy(max_attempts=3, base_delay=0.01)
FINISHED_FAILURE = ["Failure"]
FAILED_TASKS = [("extract", ["Success"]), ("transform", ["Failure"]), ("load", ["NotRun"])]


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    return cloudflows_emulator


def script(
    emulator, instance_id: int, states: list[str], tasks: list[tuple[str, list[str]]], **kwargs: Any
) -> None:
    spec = instance_spec(
        instance_id, states, tasks, name=f"wf-{instance_id}", bizdate=default_bizdate(1_735_700_000), **kwargs
    )
    emulator.control.script_runs([spec])


def hook(**kwargs: Any) -> DataWorksHook:
    h = DataWorksHook(retry_policy=FAST, **kwargs)
    h.sleeps = []
    h.sleep = h.sleeps.append
    return h


def actions(emulator, action: str | None = None) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor=VENDOR, action=action)


def context() -> dict[str, Any]:
    ti = mock.MagicMock()
    ti.dag_id, ti.task_id, ti.run_id = "dag", "task", "manual__1"
    return {"ti": ti}


def pushed(ctx: dict[str, Any]) -> dict[str, Any]:
    return {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}


# -- hook -----------------------------------------------------------------------------------------


async def _aget(h: DataWorksHook, instance_id: int):
    return await h.aget_run(instance_id)


def test_sync_and_async_read_the_same_instance_identically(emulator):
    script(emulator, 4242, FINISHED_FAILURE, FAILED_TASKS)
    h = hook()
    sync_run = h.get_run(4242)
    async_run = asyncio.run(_aget(h, 4242))
    assert sync_run == async_run
    assert (sync_run.run_id, sync_run.state, sync_run.raw_state) == ("4242", RunState.FAILED, "Failure")
    assert [(t.name, t.raw_state) for t in sync_run.task_runs] == [
        ("extract", "Success"),
        ("transform", "Failure"),
        ("load", "NotRun"),
    ]
    assert sync_run.finished_at is not None and sync_run.finished_at.tzinfo is not None


def test_instance_progresses_and_task_instances_follow(emulator):
    emulator.control.script_runs(demo_runs())
    h = hook()
    seen = [h.get_run("1001").raw_state for _ in range(7)]
    assert seen == ["NotRun", "WaitResource", "Running", "Running", "Running", "Success", "Success"]
    final = h.get_run(1001)
    assert final.state is RunState.SUCCEEDED and {t.raw_state for t in final.task_runs} == {"Success"}


def test_task_instances_paged_over_several_pages(emulator):
    tasks = [(f"node_{i:02d}", ["Success"]) for i in range(1, 12)]
    script(emulator, 5151, ["Success"], tasks)
    run = hook(task_page_size=4).get_run(5151)
    assert [t.name for t in run.task_runs] == [name for name, _ in tasks]
    assert len({t.task_run_id for t in run.task_runs}) == 11
    assert len(actions(emulator, "ListTaskInstances")) == 3  # 4 + 4 + 3


def test_unknown_instance_is_not_found_naming_it(emulator):
    with pytest.raises(NotFoundError) as err:
        hook().get_run(987654)
    assert err.value.run_id == "987654" and "987654" in str(err.value)
    assert err.value.code == "Invalid.WorkflowInstance.NotFound" and err.value.http_status == 404


def test_wrong_secret_is_auth_error_with_vendor_code(emulator, monkeypatch):
    conn = json.loads(emulator.alibabacloud_connection_json())
    conn["password"] = "wrong-secret"
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", json.dumps(conn))
    script(emulator, 4242, FINISHED_FAILURE, FAILED_TASKS)
    h = hook()
    with pytest.raises(AuthError) as err:
        h.get_run(4242)
    assert err.value.code == "SignatureDoesNotMatch"
    assert len(actions(emulator)) == 1 and h.sleeps == []  # never retried


def _seed_throttling_first_request_only(rate: float) -> int:
    """A fault seed whose first draw faults and whose next two do not (draws are documented)."""
    for seed in range(1000):
        r = random.Random(seed)
        if r.random() < rate and r.random() >= rate and r.random() >= rate:
            return seed
    raise AssertionError("no seed found")


def test_throttling_waits_the_retry_after_then_succeeds(emulator):
    script(emulator, 4242, FINISHED_FAILURE, FAILED_TASKS)
    emulator.control.set_faults(
        0.5, seed=_seed_throttling_first_request_only(0.5), kinds=["throttle"], retry_after_ms=1200
    )
    h = hook()
    run = h.get_run(4242, with_task_runs=False)
    assert run.raw_state == "Failure"
    assert h.sleeps == [1.2]  # the vendor's x-acs-retry-after, honoured
    log = actions(emulator, "GetWorkflowInstance")
    assert [(r["fault"], r["status"]) for r in log] == [("throttle", 400), (None, 200)]


def test_get_task_instance(emulator):
    script(emulator, 4242, FINISHED_FAILURE, FAILED_TASKS)
    h = hook()
    run = h.get_run(4242)
    transform = run.task_runs[1]
    assert h.get_task_instance(transform.task_run_id) == transform


# -- sensor ---------------------------------------------------------------------------------------


def test_sensor_failure_lists_failed_task_instances_by_name(emulator):
    script(emulator, 4242, FINISHED_FAILURE, FAILED_TASKS)
    sensor = DataWorksWorkflowInstanceSensor(task_id="wait", instance_id=4242)
    with pytest.raises(AirflowFailException) as err:
        sensor.poke(context())
    message = str(err.value)
    assert "workflow instance 4242" in message and "'Failure'" in message
    assert "failed task runs: transform (Failure)" in message
    assert "extract" not in message.split("failed task runs:")[1].split(";")[0]


def test_sensor_reads_task_instances_only_once_finished(emulator):
    emulator.control.script_runs(demo_runs())
    sensor = DataWorksWorkflowInstanceSensor(task_id="wait", instance_id=1001)
    ctx = context()
    results = [sensor.poke(ctx) for _ in range(6)]
    assert [r.is_done for r in results] == [False] * 5 + [True]
    assert len(actions(emulator, "ListTaskInstances")) == 1
    xcom = results[-1].xcom_value
    assert xcom["raw_state"] == "Success" and [t["name"] for t in xcom["task_runs"]] == [
        "extract",
        "transform",
        "load",
    ]
    assert pushed(ctx)["console_url"].endswith("defaultProjectId=10001&workflowInstanceId=1001")


def test_sensor_with_task_runs_true_reads_them_every_poke(emulator):
    emulator.control.script_runs(demo_runs())
    sensor = DataWorksWorkflowInstanceSensor(task_id="wait", instance_id=1001, with_task_runs=True)
    for _ in range(3):
        sensor.poke(context())
    assert len(actions(emulator, "ListTaskInstances")) == 3


def test_templated_id_round_trips_as_int_through_deferral_and_trigger(emulator):
    emulator.control.script_runs(demo_runs())
    sensor = DataWorksWorkflowInstanceSensor(
        task_id="wait", instance_id="{{ params.instance }}", deferrable=True, poke_interval=0.05, timeout=30
    )
    sensor.render_template_fields({"params": {"instance": 1001}})
    assert sensor.instance_id == "1001"  # rendered as text
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger) and deferred.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))  # what the triggerer stores and reads back
    assert kwargs["run_id"] == 1001 and kwargs["run_params"] == {"with_task_runs": ["Failure", "Success"]}
    rebuilt = WorkflowRunTrigger(**kwargs)

    async def events() -> list[Any]:
        return [e async for e in rebuilt.run()]

    (event,) = asyncio.run(events())
    assert event.payload["status"] == "success" and event.payload["run_id"] == 1001
    assert event.payload["run"]["run_id"] == "1001" and len(event.payload["run"]["task_runs"]) == 3
    assert sensor.execute_complete(context(), event.payload)["raw_state"] == "Success"


def test_trigger_reports_failure_with_task_names(emulator):
    script(
        emulator,
        4242,
        ["Running", "Failure"],
        [("extract", ["Running", "Success"]), ("load", ["Running", "Failure"])],
    )
    trigger = DataWorksWorkflowInstanceSensor(
        task_id="w", instance_id=4242, poke_interval=0.01
    ).build_trigger(deadline=None)

    async def events() -> list[Any]:
        return [e async for e in trigger.run()]

    (event,) = asyncio.run(events())
    assert (
        event.payload["status"] == "failure"
        and "failed task runs: load (Failure)" in event.payload["message"]
    )


def test_bad_templated_id_fails_clearly(emulator):
    sensor = DataWorksWorkflowInstanceSensor(task_id="wait", instance_id="None", deferrable=True)
    with pytest.raises(Exception, match="positive integer, got 'None'"):
        sensor.execute(context())
    assert actions(emulator) == []


# -- operators ------------------------------------------------------------------------------------


def test_get_operator_pushes_instance_task_instances_and_link(emulator):
    script(emulator, 4242, FINISHED_FAILURE, FAILED_TASKS)
    op = DataWorksGetWorkflowInstanceOperator(task_id="read", instance_id="4242")
    ctx = context()
    result = op.execute(ctx)
    assert result["run_id"] == "4242" and result["raw_state"] == "Failure"
    xcom = pushed(ctx)
    assert [t["name"] for t in xcom["task_runs"]] == ["extract", "transform", "load"]
    assert xcom["console_url"] == (
        "https://dataworks.data.aliyun.com/cn-shanghai/ops?defaultProjectId=10001&workflowInstanceId=4242"
    )
    key = mock.Mock(dag_id="d", task_id="read", run_id="r", map_index=-1, try_number=1)
    with mock.patch("airflow_provider_cloudflows.links.base.XCom") as link_xcom:
        # Airflow 2 reads it with get_value; Airflow 3 (at the end of a task) lists the key.
        link_xcom.get_value.return_value = xcom["console_url"]
        link_xcom.get_all.return_value = [xcom["console_url"]]
        assert DataWorksWorkflowInstanceLink().get_link(op, ti_key=key) == xcom["console_url"]
    assert link_xcom.mock_calls and all(c.kwargs["key"] == "console_url" for c in link_xcom.mock_calls)


def create_op(**kwargs: Any) -> DataWorksCreateWorkflowInstancesOperator:
    params = {"emulator_step_seconds": 0.05, **kwargs.pop("extra_params", {})}
    op = DataWorksCreateWorkflowInstancesOperator(
        task_id="create",
        project_id=10001,
        workflow_id=kwargs.pop("workflow_id", 20001),
        name="test-run",
        workflow_parameters=params,
        poll_interval=0.05,
        timeout=30,
        **kwargs,
    )
    op.hook.sleep = lambda s: None  # creation polls need no real pause against the emulator
    return op


def test_create_operator_waits_for_the_instance(emulator):
    op = create_op(wait_for_completion=True)
    ctx = context()
    ids = op.execute(ctx)
    assert len(ids) == 1 and isinstance(ids[0], int)
    xcom = pushed(ctx)
    assert xcom["instance_ids"] == ids and xcom["run_id"] == ids[0]
    assert xcom["console_url"].endswith(f"defaultProjectId=10001&workflowInstanceId={ids[0]}")
    assert xcom["run"]["raw_state"] == "Success" and len(xcom["task_runs"]) == 3
    creation = [r["action"] for r in actions(emulator) if r["action"] != "GetWorkflowInstance"]
    assert creation[:4] == ["CreateWorkflowInstances"] + ["GetCreateWorkflowInstancesResult"] * 3


def test_create_operator_fails_naming_the_failed_task_instance(emulator):
    op = create_op(wait_for_completion=True, extra_params={"emulator_outcome": "Failure"})
    with pytest.raises(AirflowFailException, match=r"failed task runs: transform \(Failure\)"):
        op.execute(context())


def test_create_failure_is_reported_with_dataworks_message(emulator):
    with pytest.raises(VendorApiError, match="does not exist in project 10001") as err:
        create_op(workflow_id=404).execute(context())
    assert err.value.code == "CreateFailure"


def test_create_operator_deferrable_waits_for_every_instance(emulator):
    op = create_op(
        instance_type="SupplementData",
        periods={"BizDates": [{"StartBizDate": "2025-01-01", "EndBizDate": "2025-01-02"}]},
        deferrable=True,
    )
    ctx = context()
    with pytest.raises(TaskDeferred) as first:
        op.execute(ctx)
    ids = pushed(ctx)["instance_ids"]
    assert len(ids) == 2 and first.value.trigger.run_id == ids[0]

    async def event_of(trigger: WorkflowRunTrigger) -> dict[str, Any]:
        (event,) = [e async for e in trigger.run()]
        return event.payload

    with pytest.raises(TaskDeferred) as second:
        op.execute_complete(ctx, asyncio.run(event_of(first.value.trigger)), **first.value.kwargs)
    assert second.value.trigger.run_id == ids[1] and second.value.kwargs["index"] == 1
    result = op.execute_complete(ctx, asyncio.run(event_of(second.value.trigger)), **second.value.kwargs)
    assert result == ids


def test_on_kill_stops_the_created_instances(emulator):
    op = create_op(wait_for_completion=False, extra_params={"emulator_step_seconds": 60})
    ids = op.execute(context())
    op.on_kill()
    run = hook().get_run(ids[0])
    assert run.raw_state == "Failure"  # DataWorks has no stopped state (UNCONFIRMED: documented)
    stop = actions(emulator, "StopWorkflowInstances")
    assert len(stop) == 1 and stop[0]["status"] == 200
    # A second stop is refused per id, and reported rather than raised.
    result = hook().stop_runs(ids)
    assert result.stopped == [] and "has finished" in result.failed[ids[0]]


def test_create_operator_template_fields_render(emulator):
    op = DataWorksCreateWorkflowInstancesOperator(
        task_id="create", project_id="{{ params.p }}", workflow_id="{{ params.w }}", name="n-{{ params.w }}"
    )
    op.render_template_fields({"params": {"p": 10001, "w": 20001}})
    assert (op.project_id, op.workflow_id, op.name) == ("10001", "20001", "n-20001")
