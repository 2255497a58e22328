"""Rerunning the failed tasks of WeData workflow runs, and stopping started runs, against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_cloudflows.emulator.services.wedata import DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, run_spec
from airflow_provider_cloudflows.errors import ServiceUnavailableError
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.wedata import WeDataHook
from airflow_provider_cloudflows.operators.wedata import (
    WeDataRerunWorkflowRunOperator,
    WeDataStartWorkflowRunOperator,
)
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
RUN_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    return cloudflows_emulator


def script_failed(emulator, **kwargs: Any) -> None:
    """A run that has already failed (its script held at the last step)."""
    spec = run_spec(RUN_ID, "FAILED")
    spec["states"] = spec["states"][-1:]
    for task in spec["task_runs"]:
        task["states"] = task["states"][-1:]
    spec.update(kwargs)
    emulator.control.script_runs([spec])


def actions(emulator, action: str) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor="wedata", action=action)


def context(try_number: int = 1, task_id: str = "repair") -> dict[str, Any]:
    ti = mock.MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = (
        "dag",
        task_id,
        "manual__1",
        -1,
        try_number,
    )
    return {"ti": ti}


def pushed(ctx: dict[str, Any]) -> dict[str, Any]:
    return {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}


def fast(op: Any) -> Any:
    hook = WeDataHook(retry_policy=FAST)
    hook.sleep = lambda _s: None
    op.__dict__["hook"] = hook
    return op


def rerun_op(**kwargs: Any) -> WeDataRerunWorkflowRunOperator:
    kwargs = {"poll_interval": 0.01, "timeout": 30, **kwargs}
    return fast(
        WeDataRerunWorkflowRunOperator(
            task_id="repair", execution_id=RUN_ID, project_id=DEMO_PROJECT_ID, **kwargs
        )
    )


def start_op(**kwargs: Any) -> WeDataStartWorkflowRunOperator:
    params = {"emulator_step_seconds": "0.05", **kwargs.pop("workflow_params", {})}
    kwargs = {"poll_interval": 0.05, "timeout": 30, **kwargs}
    return fast(
        WeDataStartWorkflowRunOperator(
            task_id="start", project_id=DEMO_PROJECT_ID, workflow_id="wf-1", workflow_params=params, **kwargs
        )
    )


async def event_of(trigger: WorkflowRunTrigger) -> dict[str, Any]:
    (event,) = [e async for e in trigger.run()]
    return event.payload


def test_rerun_operator_reruns_the_tasks_that_did_not_succeed_and_waits(emulator):
    script_failed(emulator)
    ctx = context()
    assert rerun_op().execute(ctx) == RUN_ID
    (request,) = actions(emulator, "RerunTriggerWorkflowRunAsync")
    assert request["status"] == 200 and request["run_id"] == RUN_ID
    assert [r["status"] for r in actions(emulator, "GetOpsAsyncJob")] == [200, 200]
    values = pushed(ctx)
    assert values["run_id"] == RUN_ID and values["run"]["raw_state"] == "SUCCESS"
    assert f"executionId={RUN_ID}" in values["console_url"]
    tasks = {t["name"]: (t["raw_state"], t["detail"]["RerunTimes"]) for t in values["task_runs"]}
    # extract had succeeded: not rerun; transform failed and load never ran: both rerun.
    assert tasks == {"extract": ("SUCCESS", 0), "transform": ("SUCCESS", 1), "load": ("SUCCESS", 1)}


def test_rerun_operator_defers_and_its_trigger_stops_the_run_of_its_workflow(emulator):
    script_failed(emulator)
    ctx = context()
    op = rerun_op(deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    trigger = deferred.value.trigger
    assert trigger.stop == {
        "run_ids": [RUN_ID],
        "params": {"project_id": DEMO_PROJECT_ID, "workflow_id": DEMO_WORKFLOW_ID},
    }
    assert op.execute_complete(ctx, asyncio.run(event_of(trigger)), **deferred.value.kwargs) == RUN_ID
    assert pushed(ctx)["run"]["raw_state"] == "SUCCESS"


def test_a_rerun_that_fails_again_fails_the_task(emulator):
    script_failed(emulator, rerun_outcome="FAILED")
    with pytest.raises(AirflowFailException, match=r"'FAILED'.*transform"):
        rerun_op().execute(context())


def test_a_rerun_whose_answer_is_lost_is_looked_for_not_resent(emulator):
    script_failed(emulator)
    op = rerun_op()
    real_call = op.hook.call

    def call(req):
        if req.action == "RerunTriggerWorkflowRunAsync":
            real_call(req)  # WeData acts on it; the answer does not arrive
            raise ServiceUnavailableError("HTTP 502 from the gateway", vendor="wedata", action=req.action)
        return real_call(req)

    op.hook.call = call
    assert op.execute(context()) == RUN_ID
    assert len(actions(emulator, "RerunTriggerWorkflowRunAsync")) == 1


def test_a_retry_with_repair_on_retry_reruns_the_failed_run_instead_of_starting_one(emulator):
    failing = {"emulator_outcome": "FAILED"}
    with pytest.raises(AirflowException, match="repair_on_retry") as first_try:
        start_op(workflow_params=failing, repair_on_retry=True).execute(context(task_id="start"))
    assert not isinstance(first_try.value, AirflowFailException)
    (started,) = actions(emulator, "CreateTriggerWorkflowRun")
    ctx = context(try_number=2, task_id="start")
    assert start_op(workflow_params=failing, repair_on_retry=True).execute(ctx) == started["run_id"]
    assert len(actions(emulator, "CreateTriggerWorkflowRun")) == 1
    assert len(actions(emulator, "RerunTriggerWorkflowRunAsync")) == 1
    assert pushed(ctx)["run"]["raw_state"] == "SUCCESS"


def test_on_kill_and_timeouts_stop_only_what_the_options_ask_for(emulator):
    slow = {"emulator_step_seconds": "60"}
    killed = start_op(workflow_params=slow, wait_for_completion=False)
    run_id = killed.execute(context(task_id="a"))
    killed.on_kill()
    (kill,) = actions(emulator, "KillTriggerWorkflowRuns")
    assert kill["run_id"] == run_id
    kept = start_op(workflow_params=slow, wait_for_completion=False, cancel_on_kill=False)
    kept.execute(context(task_id="b"))
    kept.on_kill()
    with pytest.raises(AirflowFailException, match="did not finish"):
        start_op(workflow_params=slow, timeout=0.2).execute(context(task_id="c"))
    assert len(actions(emulator, "KillTriggerWorkflowRuns")) == 1
    with pytest.raises(AirflowFailException, match="did not finish"):
        start_op(workflow_params=slow, timeout=0.2, cancel_on_timeout=True).execute(context(task_id="d"))
    assert len(actions(emulator, "KillTriggerWorkflowRuns")) == 2
