"""The waiting trigger stops a run only when a user ended a task that started it.

Airflow 3.3 calls `on_kill` on a deferred task's trigger when a user marks the task failed or
success or clears it, never on a triggerer restart or a timeout. These tests drive the trigger as
the triggerer would, against the emulator, and read the emulator's request log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_cloudflows.emulator.services.wedata import DEMO_PROJECT_ID, run_spec
from airflow_provider_cloudflows.operators.cloud_infinite import CloudInfiniteTriggerWorkflowOperator
from airflow_provider_cloudflows.operators.ice import IceStartWorkflowOperator
from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

SLOW = {"emulator_step_seconds": "60"}


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    return cloudflows_emulator


def context(task_id: str = "start") -> dict[str, Any]:
    ti = mock.MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = "dag", task_id, "manual__1", -1, 1
    return {"ti": ti}


def kills(emulator) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor="wedata", action="KillTriggerWorkflowRuns")


def deferred_trigger(**kwargs: Any) -> WorkflowRunTrigger:
    """The trigger a deferrable start operator hands the triggerer, rebuilt from its kwargs."""
    op = WeDataStartWorkflowRunOperator(
        task_id="start",
        project_id=DEMO_PROJECT_ID,
        workflow_id="wf-1",
        workflow_params=SLOW,
        deferrable=True,
        poll_interval=0.05,
        **kwargs,
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context())
    _, trigger_kwargs = deferred.value.trigger.serialize()
    return WorkflowRunTrigger(**trigger_kwargs)


async def run_then(trigger: WorkflowRunTrigger, end: str) -> None:
    """Let the trigger poll, then end it as the triggerer does: a user's kill, or a plain cancel."""
    task = asyncio.ensure_future(trigger.run().__anext__())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    if end == "kill":
        await trigger.on_kill()
    await trigger.cleanup()


def test_a_user_killing_a_deferred_start_stops_that_run_and_no_other(emulator):
    other = WeDataStartWorkflowRunOperator(
        task_id="other",
        project_id=DEMO_PROJECT_ID,
        workflow_id="wf-1",
        workflow_params=SLOW,
        wait_for_completion=False,
    ).execute(context("other"))
    trigger = deferred_trigger()
    asyncio.run(run_then(trigger, "kill"))
    (kill,) = kills(emulator)
    assert kill["run_id"] == trigger.run_id != other
    assert emulator.control.get_run("wedata", trigger.run_id)["state"] == "FAILED"
    assert emulator.control.get_run("wedata", other)["state"] != "FAILED"


def test_a_triggerer_restart_or_a_timeout_stops_nothing(emulator):
    # Both cancel the trigger without on_kill; cleanup runs on every exit and must not stop.
    trigger = deferred_trigger()
    asyncio.run(run_then(trigger, "restart"))
    assert kills(emulator) == []


def test_with_cancel_on_kill_off_the_trigger_has_nothing_to_stop(emulator):
    trigger = deferred_trigger(cancel_on_kill=False)
    assert trigger.stop is None
    asyncio.run(run_then(trigger, "kill"))
    assert kills(emulator) == []


def test_a_sensors_trigger_never_stops_the_run_it_waits_on(emulator):
    emulator.control.script_runs(
        [run_spec("d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54", advance="time", step_seconds=60)]
    )
    sensor = WeDataWorkflowRunSensor(
        task_id="wait",
        execution_id="d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54",
        project_id=DEMO_PROJECT_ID,
        deferrable=True,
        poke_interval=0.05,
    )
    trigger = sensor.build_trigger(deadline=None)
    assert trigger.serialize()[1]["stop"] is None
    asyncio.run(run_then(trigger, "kill"))
    assert kills(emulator) == []


def test_a_stop_that_fails_is_one_warning_and_raises_nothing(emulator, monkeypatch, logged):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        emulator.tencentcloud_connection_json(retry_max_attempts=2, retry_base_delay=0.01),
    )
    trigger = deferred_trigger()
    logged.watch(logging.getLogger(f"{type(trigger).__module__}.{type(trigger).__qualname__}"))
    emulator.control.set_faults(1.0, kinds=["http503"], vendors=["wedata"])
    try:
        asyncio.run(trigger.on_kill())
    finally:
        emulator.control.clear_faults()
    assert f"Could not stop workflow run {trigger.run_id}" in logged.text()
    assert len(kills(emulator)) == 2


@pytest.mark.parametrize("option", ["cancel_on_kill", "cancel_on_timeout", "repair_on_retry"])
def test_ice_and_cloud_infinite_refuse_what_their_apis_cannot_do(option):
    with pytest.raises(ValueError, match=rf"{option}=True cannot be honoured: Alibaba Cloud ICE has no API"):
        IceStartWorkflowOperator(
            task_id="t", workflow_id="w", task_input={"Type": "Media", "Media": "m"}, **{option: True}
        )
    with pytest.raises(ValueError, match="Tencent Cloud Infinite has no API"):
        CloudInfiniteTriggerWorkflowOperator(task_id="t", workflow_id="w", object_key="k", **{option: True})
    # Left unset (or False), the operators build; their trigger carries nothing to stop.
    op = IceStartWorkflowOperator(task_id="t", workflow_id="w", task_input={"Type": "Media", "Media": "m"})
    assert op.cancel_on_kill is False and op.stop_spec(["task-1"]) is None
