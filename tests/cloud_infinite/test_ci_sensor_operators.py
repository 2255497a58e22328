"""CI sensor, operators, trigger and link against the local emulator (no metadata DB)."""

from __future__ import annotations

import asyncio
import time
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, TaskDeferred

import airflow_provider_cloudflows.links.base as links_base
from airflow_provider_cloudflows.emulator.services.base import held_at
from airflow_provider_cloudflows.emulator.services.cloud_infinite import (
    DEMO_BUCKET,
    DEMO_WORKFLOW_ID,
    execution_spec,
)
from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
from airflow_provider_cloudflows.links.cloud_infinite import CloudInfiniteWorkflowExecutionLink
from airflow_provider_cloudflows.operators.cloud_infinite import (
    CloudInfiniteGetWorkflowExecutionOperator,
    CloudInfiniteListWorkflowExecutionsOperator,
    CloudInfiniteTriggerWorkflowOperator,
)
from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

VENDOR = "cloud_infinite"
RUN = "i" + "d" * 32
KEY = "in/upload.mp4"


def finished(run_id: str = RUN, outcome: str = "Success", **kwargs):
    return held_at(execution_spec(run_id, outcome=outcome, **kwargs))


def running(run_id: str = RUN, **kwargs):
    return execution_spec(run_id, advance="time", step_seconds=3600, **kwargs)


def context():
    ti = mock.MagicMock()
    ti.get_first_reschedule_date.return_value = None
    return {"ti": ti}


def pushed(ctx) -> dict:
    return {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}


# -- sensor by RunId -------------------------------------------------------------------------


def test_sensor_succeeds_with_the_run_and_its_nodes(emulator):
    emulator.control.script_runs([finished(object_key=KEY)])
    ctx = context()
    sensor = CloudInfiniteWorkflowExecutionSensor(task_id="s", run_id=RUN, poke_interval=0.01)
    result = sensor.poke(ctx)
    assert result.is_done
    assert result.xcom_value["run_id"] == RUN and result.xcom_value["raw_state"] == "Success"
    assert [t["job_id"] for t in result.xcom_value["task_runs"]] == [f"j{'d' * 32}{i}" for i in range(3)]
    assert pushed(ctx)["console_url"].startswith("https://console.cloud.tencent.com/ci/bucket?bucket=")


def test_sensor_fails_naming_the_failed_node(emulator):
    emulator.control.script_runs([finished(object_key=KEY, outcome="Failed")])
    sensor = CloudInfiniteWorkflowExecutionSensor(task_id="s", run_id=RUN)
    with pytest.raises(AirflowFailException, match="Transcode_1581665960537") as err:
        sensor.poke(context())
    assert "InvalidInput" in str(err.value) and RUN in str(err.value)


def test_sensor_cancelled_fails(emulator):
    emulator.control.script_runs([finished(object_key=KEY, outcome="Cancel")])
    with pytest.raises(AirflowFailException, match="Cancel"):
        CloudInfiniteWorkflowExecutionSensor(task_id="s", run_id=RUN).poke(context())


def test_paused_execution_waits_with_a_warning_or_fails_on_request(emulator, logged):
    emulator.control.script_runs([finished(object_key=KEY, outcome="Pause")])
    sensor = CloudInfiniteWorkflowExecutionSensor(task_id="s", run_id=RUN)
    logged.watch(sensor.log)
    assert not sensor.poke(context()).is_done
    assert f"{RUN} is paused" in logged.text()
    with pytest.raises(AirflowFailException, match="Pause"):
        CloudInfiniteWorkflowExecutionSensor(task_id="s", run_id=RUN, fail_on_pause=True).poke(context())


def test_sensor_defers_to_the_shared_trigger_and_the_trigger_yields_one_event(emulator):
    emulator.control.script_runs([execution_spec(RUN, object_key=KEY, advance="poll")])
    sensor = CloudInfiniteWorkflowExecutionSensor(
        task_id="s", run_id=RUN, bucket=DEMO_BUCKET, deferrable=True, poke_interval=0.05, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger) and deferred.value.method_name == "execute_complete"
    _path, kwargs = trigger.serialize()
    assert kwargs["run_id"] == RUN and kwargs["run_params"] == {"bucket": DEMO_BUCKET}
    assert kwargs["hook_class_path"] == "airflow_provider_cloudflows.hooks.cloud_infinite.CloudInfiniteHook"

    async def events():
        return [e async for e in WorkflowRunTrigger(**kwargs).run()]

    (event,) = asyncio.run(asyncio.wait_for(events(), 30))
    assert event.payload["status"] == "success" and event.payload["run"]["raw_state"] == "Success"
    assert sensor.execute_complete(context(), event.payload)["run_id"] == RUN


def test_sensor_arguments_are_validated():
    with pytest.raises(ValueError):
        CloudInfiniteWorkflowExecutionSensor(task_id="s")
    with pytest.raises(ValueError):
        CloudInfiniteWorkflowExecutionSensor(
            task_id="s", run_id=RUN, workflow_id=DEMO_WORKFLOW_ID, object_key=KEY
        )
    with pytest.raises(ValueError):
        CloudInfiniteWorkflowExecutionSensor(task_id="s", workflow_id=DEMO_WORKFLOW_ID)


def test_templated_fields():
    fields = set(CloudInfiniteWorkflowExecutionSensor.template_fields)
    assert {"run_id", "bucket", "workflow_id", "object_key", "created_after", "conn_id"} <= fields
    assert {"run_id", "bucket"} <= set(CloudInfiniteGetWorkflowExecutionOperator.template_fields)
    assert {"workflow_id", "object_key", "bucket"} <= set(
        CloudInfiniteTriggerWorkflowOperator.template_fields
    )
    assert {"workflow_id", "states", "object_key", "start", "end", "job_id", "bucket"} <= set(
        CloudInfiniteListWorkflowExecutionsOperator.template_fields
    )


# -- sensor by object key --------------------------------------------------------------------


def by_key(**kwargs):
    return CloudInfiniteWorkflowExecutionSensor(
        task_id="s", workflow_id=DEMO_WORKFLOW_ID, object_key=KEY, poke_interval=0.05, timeout=30, **kwargs
    )


def test_object_key_mode_waits_until_an_execution_exists(emulator):
    sensor = by_key()
    ctx = context()
    assert not sensor.poke(ctx).is_done
    assert "run_id" not in pushed(ctx)
    emulator.control.script_runs([finished("i" + "1" * 32, object_key=KEY, created_at=time.time() - 60)])
    emulator.control.script_runs([finished("i" + "2" * 32, object_key="in/other.mp4")])
    result = sensor.poke(ctx)
    assert result.is_done and result.xcom_value["run_id"] == "i" + "1" * 32
    assert pushed(ctx)["run_id"] == "i" + "1" * 32


def test_object_key_mode_follows_the_newest_and_skips_older_ones(emulator):
    now = time.time()
    emulator.control.script_runs(
        [
            finished("i" + "1" * 32, object_key=KEY, outcome="Failed", created_at=now - 3600),
            running("i" + "2" * 32, object_key=KEY, created_at=now - 10),
        ]
    )
    assert not by_key().poke(context()).is_done  # the newest (running) one, not the old failure
    old_only = by_key(created_after=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5)))
    assert not old_only.poke(context()).is_done
    assert old_only.run_id == ""  # nothing created after the bound yet


def test_object_key_mode_deferral(emulator):
    sensor = by_key(deferrable=True)
    with pytest.raises(TaskDeferred) as waiting:
        sensor.execute(context())
    assert waiting.value.method_name == "resume_looking"
    assert type(waiting.value.trigger).__name__ == "TimeDeltaTrigger"
    deadline = waiting.value.kwargs["deadline"]
    assert time.time() < deadline <= time.time() + 30

    emulator.control.script_runs([running("i" + "3" * 32, object_key=KEY)])
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        by_key(deferrable=True).resume_looking(ctx, event=None, deadline=deadline)
    trigger = deferred.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger)
    assert trigger.run_id == "i" + "3" * 32 and trigger.deadline == deadline
    assert pushed(ctx)["run_id"] == "i" + "3" * 32


def test_object_key_mode_deferral_finishes_at_once_when_already_done(emulator):
    emulator.control.script_runs([finished("i" + "4" * 32, object_key=KEY)])
    assert by_key(deferrable=True).execute(context())["run_id"] == "i" + "4" * 32


def test_object_key_mode_times_out_when_nothing_appears(emulator):
    with pytest.raises(
        AirflowSensorTimeout, match="no Tencent Cloud Infinite workflow execution of workflow"
    ):
        by_key(deferrable=True).resume_looking(context(), event=None, deadline=time.time() - 1)


# -- operators -------------------------------------------------------------------------------


def test_get_operator_pushes_run_task_runs_and_console_url(emulator):
    emulator.control.script_runs([finished(object_key=KEY)])
    ctx = context()
    result = CloudInfiniteGetWorkflowExecutionOperator(task_id="g", run_id=RUN).execute(ctx)
    assert result["run_id"] == RUN and result["state"] == "succeeded"
    values = pushed(ctx)
    assert [t["name"] for t in values["task_runs"]] == [
        "Start",
        "Transcode_1581665960537",
        "Snapshot_1581665960536",
    ]
    assert all(t["job_id"] for t in values["task_runs"])
    assert f"runId={RUN}" in values["console_url"]


def test_list_operator_returns_every_page(emulator):
    base = time.time() - 10_000
    emulator.control.script_runs(
        [running(f"i{n:032x}", object_key=KEY, created_at=base + n) for n in range(130)]
    )
    emulator.control.clear_requests()
    result = CloudInfiniteListWorkflowExecutionsOperator(
        task_id="l", workflow_id=DEMO_WORKFLOW_ID, object_key=KEY
    ).execute(context())
    assert len(result) == 130 and result[0]["run_id"] == f"i{129:032x}"
    assert len(emulator.control.requests(vendor=VENDOR, action="DescribeMediaWorkflowExecutions")) == 2


def test_trigger_operator_without_waiting(emulator):
    ctx = context()
    run_id = CloudInfiniteTriggerWorkflowOperator(
        task_id="t", workflow_id=DEMO_WORKFLOW_ID, object_key=KEY, wait_for_completion=False
    ).execute(ctx)
    assert run_id.startswith("i") and pushed(ctx)["run_id"] == run_id
    assert CloudInfiniteHook().get_run(run_id).detail["Object"] == KEY


def test_trigger_operator_waits_and_pushes_the_run(emulator):
    ctx = context()
    op = CloudInfiniteTriggerWorkflowOperator(
        task_id="t", workflow_id=DEMO_WORKFLOW_ID, object_key=KEY, poll_interval=0.3, timeout=30
    )
    run_id = op.execute(ctx)
    values = pushed(ctx)
    assert values["run"]["run_id"] == run_id and values["run"]["raw_state"] == "Success"
    assert len(values["task_runs"]) == 3


def test_trigger_operator_fails_when_the_execution_fails(emulator):
    op = CloudInfiniteTriggerWorkflowOperator(
        task_id="t", workflow_id=DEMO_WORKFLOW_ID, object_key="in/fail.mp4", poll_interval=0.3, timeout=30
    )
    with pytest.raises(AirflowFailException, match="Failed"):
        op.execute(context())


def test_trigger_operator_defers(emulator):
    op = CloudInfiniteTriggerWorkflowOperator(
        task_id="t", workflow_id=DEMO_WORKFLOW_ID, object_key=KEY, bucket=DEMO_BUCKET, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger) and trigger.run_params == {"bucket": DEMO_BUCKET}
    assert deferred.value.kwargs["run_id"] == trigger.run_id


def test_extra_link_reads_the_pushed_console_url():
    link = CloudInfiniteWorkflowExecutionLink()
    assert link.name == "Cloud Infinite Workflow Execution"
    url = "https://console.cloud.tencent.com/ci/bucket?bucket=b-1&region=ap-chongqing"
    with mock.patch.object(links_base, "XCom") as xcom:
        # Airflow 2 reads it with get_value; Airflow 3 (at the end of a task) lists the key.
        xcom.get_value.return_value = url
        xcom.get_all.return_value = [url]
        assert link.get_link(mock.MagicMock(), ti_key=mock.MagicMock(map_index=-1)) == url
    assert xcom.mock_calls and all(call.kwargs["key"] == "console_url" for call in xcom.mock_calls)
    assert CloudInfiniteWorkflowExecutionSensor.operator_extra_links[0].name == link.name
