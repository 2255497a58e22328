"""Rerunning failed DataWorks task instances, and stopping started instances, against the emulator.

Real HTTP and real ACS3 signatures: the emulator's request log shows what was sent, so each test
counts the requests that start or stop something.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    TaskDeferred,
)

from airflow_provider_cloudflows.emulator.services.dataworks import (
    DEMO_PROJECT_ID,
    DEMO_WORKFLOW_ID,
    VENDOR,
    default_bizdate,
    instance_spec,
)
from airflow_provider_cloudflows.errors import VendorApiError
from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.operators.dataworks import (
    DataWorksCreateWorkflowInstancesOperator,
    DataWorksRerunWorkflowInstanceOperator,
)
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
FAILED = (["Failure"], [("extract", ["Success"]), ("transform", ["Failure"]), ("load", ["NotRun"])])


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    return cloudflows_emulator


def script_failed(emulator, instance_id: int, **kwargs: Any) -> None:
    """A ManualWorkflow instance that has failed in its second task; scripted per poll."""
    states, tasks = FAILED
    spec = instance_spec(
        instance_id, states, tasks, name=f"wf-{instance_id}", bizdate=default_bizdate(1_735_700_000)
    )
    spec.update(kwargs)
    emulator.control.script_runs([spec])


def actions(emulator, action: str) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor=VENDOR, action=action)


def context(try_number: int = 1, task_id: str = "repair") -> dict[str, Any]:
    ti = mock.MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = (
        "dag",
        task_id,
        "manual__1",
        -1,
        try_number,
    )
    return {"ti": ti, "dag_run": mock.MagicMock(start_date=None)}


def pushed(ctx: dict[str, Any]) -> dict[str, Any]:
    return {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}


def new_hook() -> DataWorksHook:
    hook = DataWorksHook(retry_policy=FAST)
    hook.sleep = lambda _s: None
    return hook


def fast(op: Any) -> Any:
    op.__dict__["hook"] = new_hook()
    return op


def first_request_only_seed(rate: float = 0.01, following: int = 30) -> int:
    """A fault seed whose first draw faults and the next `following` draws do not."""
    for seed in range(100_000):
        r = random.Random(seed)
        if r.random() < rate and all(r.random() >= rate for _ in range(following)):
            return seed
    raise AssertionError("no seed")


def rerun_op(instance_id: int = 7001, **kwargs: Any) -> DataWorksRerunWorkflowInstanceOperator:
    kwargs = {"poll_interval": 0.01, "timeout": 30, **kwargs}
    return fast(DataWorksRerunWorkflowInstanceOperator(task_id="repair", instance_id=instance_id, **kwargs))


def create_op(**kwargs: Any) -> DataWorksCreateWorkflowInstancesOperator:
    params = {"emulator_step_seconds": 0.05, **kwargs.pop("extra_params", {})}
    kwargs = {"poll_interval": 0.05, "timeout": 30, **kwargs}
    return fast(
        DataWorksCreateWorkflowInstancesOperator(
            task_id="create",
            project_id=DEMO_PROJECT_ID,
            workflow_id=DEMO_WORKFLOW_ID,
            workflow_parameters=params,
            **kwargs,
        )
    )


# -- the hook -------------------------------------------------------------------------------------


def test_rerun_runs_the_failed_task_and_its_downstream_again(emulator):
    script_failed(emulator, 7001)
    hook = new_hook()
    hook.rerun_failed(project_id=DEMO_PROJECT_ID, workflow_id=DEMO_WORKFLOW_ID, instance_ids=[7001])
    (request,) = actions(emulator, "RerunWorkflowInstances")
    assert request["status"] == 200 and request["run_id"] == "7001"
    assert [r["status"] for r in actions(emulator, "GetRerunWorkflowInstancesResult")] == [200, 200]
    states = [hook.get_run(7001).raw_state for _ in range(3)]
    assert states == ["Running", "Running", "Success"]
    run = hook.get_run(7001)
    numbers = {t.name: (t.raw_state, t.detail["RunNumber"]) for t in run.task_runs}
    # extract had succeeded: not rerun; transform failed and load is downstream of it: both rerun.
    assert numbers == {"extract": ("Success", 1), "transform": ("Success", 2), "load": ("Success", 2)}
    assert hook.rerun_count(run) == 5


def test_a_rerun_dataworks_refuses_is_a_precise_error(emulator):
    emulator.control.script_runs(
        [
            instance_spec(
                7002,
                ["Running", "Success"],
                [("a", ["Running", "Success"])],
                name="x",
                bizdate=default_bizdate(1e9),
            )
        ]
    )
    hook = new_hook()
    with pytest.raises(VendorApiError, match="7002 are still running") as err:
        hook.rerun_failed(project_id=DEMO_PROJECT_ID, workflow_id=DEMO_WORKFLOW_ID, instance_ids=[7002])
    assert err.value.code == "RerunFailure"


# -- the rerun operator ---------------------------------------------------------------------------


def test_rerun_operator_reruns_and_waits_in_the_worker(emulator):
    script_failed(emulator, 7001)
    ctx = context()
    assert rerun_op().execute(ctx) == 7001
    values = pushed(ctx)
    assert values["run_id"] == 7001 and values["run"]["raw_state"] == "Success"
    assert "defaultProjectId=10001" in values["console_url"]
    assert len(actions(emulator, "RerunWorkflowInstances")) == 1


def test_rerun_operator_defers_with_a_trigger_that_stops_only_this_instance(emulator):
    script_failed(emulator, 7001)
    ctx = context()
    op = rerun_op(deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    trigger = deferred.value.trigger
    assert trigger.stop == {"run_ids": [7001], "params": {"comment": "stopped by Airflow task repair"}}
    # Rebuilt from its kwargs, as a triggerer does: the same trigger, JSON-safe.
    classpath, kwargs = trigger.serialize()
    assert WorkflowRunTrigger(**kwargs).serialize() == (classpath, kwargs)

    async def event_of(t: WorkflowRunTrigger) -> dict[str, Any]:
        (event,) = [e async for e in t.run()]
        return event.payload

    event = asyncio.run(event_of(trigger))
    assert op.execute_complete(ctx, event, **deferred.value.kwargs) == 7001
    assert pushed(ctx)["run"]["raw_state"] == "Success"


def test_rerun_operator_waits_for_a_running_instance_without_a_rerun(emulator):
    # An earlier try of this task reran it: the instance is going again, so nothing is resent.
    emulator.control.script_runs(
        [
            instance_spec(
                7003,
                ["Running", "Success"],
                [("a", ["Running", "Success"])],
                name="x",
                bizdate=default_bizdate(1e9),
            )
        ]
    )
    assert rerun_op(7003).execute(context(try_number=2)) == 7003
    assert actions(emulator, "RerunWorkflowInstances") == []


def test_rerun_operator_fails_when_the_rerun_fails_again(emulator):
    script_failed(emulator, 7001, rerun_outcome="Failure")
    with pytest.raises(AirflowFailException, match=r"'Failure'.*transform"):
        rerun_op().execute(context())


def test_a_rerun_whose_answer_is_lost_is_looked_for_not_resent(emulator):
    script_failed(emulator, 7001)
    op = rerun_op()
    real_rerun = op.hook._rerun

    def rerun_with_lost_answer(form, ids):
        emulator.control.set_faults(
            0.01, seed=first_request_only_seed(), kinds=["truncated"], vendors=[VENDOR]
        )
        try:
            return real_rerun(form, ids)
        finally:
            emulator.control.clear_faults()

    op.hook._rerun = rerun_with_lost_answer
    assert op.execute(context()) == 7001
    (request,) = actions(emulator, "RerunWorkflowInstances")
    assert request["fault"] == "truncated"


# -- repair_on_retry ------------------------------------------------------------------------------


def test_a_retry_with_repair_on_retry_reruns_the_failed_instance_instead_of_creating_one(emulator):
    failing = {"emulator_outcome": "Failure"}
    with pytest.raises(AirflowException, match="repair_on_retry") as first_try:
        create_op(extra_params=failing, repair_on_retry=True).execute(context(task_id="create"))
    # Not AirflowFailException: Airflow must retry the task for the retry to repair the run.
    assert not isinstance(first_try.value, AirflowFailException)
    assert len(actions(emulator, "CreateWorkflowInstances")) == 1
    ctx = context(try_number=2, task_id="create")
    ids = create_op(extra_params=failing, repair_on_retry=True).execute(ctx)
    assert len(actions(emulator, "CreateWorkflowInstances")) == 1
    (rerun,) = actions(emulator, "RerunWorkflowInstances")
    assert rerun["run_id"] == str(ids[0]) and pushed(ctx)["run"]["raw_state"] == "Success"


def test_without_repair_on_retry_a_retry_creates_a_new_instance(emulator):
    failing = {"emulator_outcome": "Failure"}
    with pytest.raises(AirflowFailException):
        create_op(extra_params=failing).execute(context(task_id="create"))
    with pytest.raises(AirflowFailException):
        create_op(extra_params=failing).execute(context(try_number=2, task_id="create"))
    assert len(actions(emulator, "CreateWorkflowInstances")) == 2
    assert actions(emulator, "RerunWorkflowInstances") == []


# -- stop on kill, cancel_on_timeout --------------------------------------------------------------


def test_on_kill_stops_the_created_instances_unless_cancel_on_kill_is_off(emulator):
    slow = {"emulator_step_seconds": 60}
    op = create_op(wait_for_completion=False, extra_params=slow)
    ids = op.execute(context(task_id="create"))
    op.on_kill()
    (stop,) = actions(emulator, "StopWorkflowInstances")
    assert stop["run_id"] == str(ids[0])
    keep = create_op(wait_for_completion=False, extra_params=slow, cancel_on_kill=False)
    keep.execute(context(task_id="other"))
    keep.on_kill()
    assert len(actions(emulator, "StopWorkflowInstances")) == 1


def test_the_worker_wait_timing_out_stops_the_instance_only_with_cancel_on_timeout(emulator):
    slow = {"emulator_step_seconds": 60}
    with pytest.raises(AirflowFailException, match="did not finish"):
        create_op(extra_params=slow, timeout=0.2).execute(context(task_id="a"))
    assert actions(emulator, "StopWorkflowInstances") == []
    with pytest.raises(AirflowFailException, match="did not finish"):
        create_op(extra_params=slow, timeout=0.2, cancel_on_timeout=True).execute(context(task_id="b"))
    (stop,) = actions(emulator, "StopWorkflowInstances")
    assert new_hook().get_run(int(stop["run_id"])).raw_state == "Failure"


def test_execution_timeout_stops_the_instance_only_with_cancel_on_timeout(emulator):
    # Airflow raises AirflowTaskTimeout inside execute, then calls on_kill: not a user's kill.
    slow = {"emulator_step_seconds": 60}
    for task_id, cancel in (("a", False), ("b", True)):
        op = create_op(extra_params=slow, cancel_on_timeout=cancel)
        with (
            mock.patch.object(op, "_poll_until_done", side_effect=AirflowTaskTimeout()),
            pytest.raises(AirflowTaskTimeout),
        ):
            op.execute(context(task_id=task_id))
        op.on_kill()
        assert len(actions(emulator, "StopWorkflowInstances")) == int(cancel)


def test_a_deferred_timeout_stops_the_instance_only_with_cancel_on_timeout(emulator):
    slow = {"emulator_step_seconds": 60}
    for task_id, cancel in (("a", False), ("b", True)):
        op = create_op(extra_params=slow, deferrable=True, timeout=0.5, cancel_on_timeout=cancel)
        ctx = context(task_id=task_id)
        with pytest.raises(TaskDeferred) as deferred:
            op.execute(ctx)

        async def event_of(t: WorkflowRunTrigger) -> dict[str, Any]:
            (event,) = [e async for e in t.run()]
            return event.payload

        event = asyncio.run(event_of(deferred.value.trigger))
        assert event["status"] == "timeout"
        with pytest.raises(AirflowFailException):
            create_op(extra_params=slow, cancel_on_timeout=cancel).execute_complete(
                ctx, event, **deferred.value.kwargs
            )
        assert len(actions(emulator, "StopWorkflowInstances")) == int(cancel)
