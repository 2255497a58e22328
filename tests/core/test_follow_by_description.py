"""Every vendor's sensor, named by what the DAG author knows, against the emulator: poke,
reschedule and deferrable mode; a run that is not there yet, several that match, the XCom."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, TaskDeferred

from airflow_provider_cloudflows.emulator.services import cloud_infinite as ci
from airflow_provider_cloudflows.emulator.services import dataworks as dw
from airflow_provider_cloudflows.emulator.services import ice
from airflow_provider_cloudflows.emulator.services import wedata as wd
from airflow_provider_cloudflows.emulator.services.base import held_at
from airflow_provider_cloudflows.errors import InvalidRequestError
from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor
from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor
from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

NOW = time.time()
DAY = date.fromtimestamp(NOW)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@dataclass
class Vendor:
    """One product: its sensor named by description, and runs that match it (or do not)."""

    name: str
    sensor: Callable[..., Any]
    # (run id, seconds before now it was created / scheduled, matches) -> the emulator's spec
    spec: Callable[[str, float, bool], dict[str, Any]]
    ids: tuple[str, str, str]  # older match, newer match, a run that does not match
    found_id: Callable[[str], Any] = str


def _dw_spec(run_id: str, ago: float, matches: bool) -> dict[str, Any]:
    spec = dw.instance_spec(
        int(run_id),
        ["Success"],
        [("node", ["Success"])],
        name="nightly",
        bizdate=dw.bizdate_ms(DAY),
        instance_type="Normal" if matches else "Manual",
    )
    return {**spec, "created_at": NOW - ago}


def _wd_spec(run_id: str, ago: float, matches: bool) -> dict[str, Any]:
    spec = held_at(wd.run_spec(run_id, "SUCCESS", workflow_id="wf-hourly" if matches else "wf-else"))
    spec["fields"]["ScheduleTime"] = NOW - ago
    return {**spec, "created_at": NOW - ago}


def _ice_spec(run_id: str, ago: float, matches: bool) -> dict[str, Any]:
    return held_at(
        ice.task_spec(run_id, workflow_id="wf-media" if matches else "wf-else", created_at=NOW - ago)
    )


def _ci_spec(run_id: str, ago: float, matches: bool) -> dict[str, Any]:
    key = "in/upload.mp4" if matches else "in/other.mp4"
    return held_at(ci.execution_spec(run_id, object_key=key, created_at=NOW - ago))


VENDORS = {
    "dataworks": Vendor(
        "dataworks",
        lambda **kw: DataWorksWorkflowInstanceSensor(
            workflow_id=dw.DEMO_WORKFLOW_ID, biz_date="{{ ds }}", project_id=dw.DEMO_PROJECT_ID, **kw
        ),
        _dw_spec,
        ("7001", "7002", "7003"),
        int,
    ),
    "wedata": Vendor(
        "wedata",
        lambda **kw: WeDataWorkflowRunSensor(
            project_id=wd.DEMO_PROJECT_ID, workflow_id="wf-hourly", scheduled_after=iso(NOW - 3600), **kw
        ),
        _wd_spec,
        tuple(f"00000000-0000-4000-8000-00000000070{i}" for i in (1, 2, 3)),  # type: ignore[arg-type]
    ),
    "ice": Vendor(
        "ice",
        lambda **kw: IceWorkflowTaskSensor(workflow_id="wf-media", created_after=iso(NOW - 3600), **kw),
        _ice_spec,
        ("a" * 32, "b" * 32, "c" * 32),
    ),
    "cloud_infinite": Vendor(
        "cloud_infinite",
        lambda **kw: CloudInfiniteWorkflowExecutionSensor(
            workflow_id=ci.DEMO_WORKFLOW_ID, object_key="in/upload.mp4", created_after=iso(NOW - 3600), **kw
        ),
        _ci_spec,
        ("i" + "1" * 32, "i" + "2" * 32, "i" + "3" * 32),
    ),
}


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        cloudflows_emulator.tencentcloud_connection_json(region="ap-chongqing", bucket=ci.DEMO_BUCKET),
    )
    return cloudflows_emulator


@pytest.fixture(params=sorted(VENDORS))
def vendor(request) -> Vendor:
    return VENDORS[request.param]


class StateStore(dict):
    """Airflow 3.3's task state store, as a reschedule poke sees it (get / set)."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


def context(store: StateStore | None = None) -> dict[str, Any]:
    ti = mock.MagicMock()
    ti.get_first_reschedule_date.return_value = None
    ti.try_number = 1
    pushed: dict[str, Any] = {}
    ti.xcom_push.side_effect = lambda key, value: pushed.__setitem__(key, value)
    ctx: dict[str, Any] = {"ti": ti, "pushed": pushed}
    if store is not None:
        ctx["task_state_store"] = store
    return ctx


def rendered(vendor: Vendor, **kwargs: Any) -> Any:
    """The sensor with its templates rendered as Airflow would ({{ ds }} is today)."""
    sensor = vendor.sensor(task_id="wait", poke_interval=0.05, timeout=30, **kwargs)
    if getattr(sensor, "biz_date", None) == "{{ ds }}":
        sensor.biz_date = DAY.isoformat()
    return sensor


def lists(emulator: Any) -> int:
    actions = (
        "ListWorkflowInstances",
        "ListTriggerWorkflowRuns",
        "ListWorkflowTasks",
        "DescribeMediaWorkflowExecutions",
    )
    return sum(1 for r in emulator.control.requests() if r.get("action") in actions)


def test_poke_mode_waits_for_a_run_that_is_not_there_yet_then_follows_it(emulator, vendor):
    older, _, other = vendor.ids
    sensor, ctx = rendered(vendor), context()
    emulator.control.script_runs([vendor.spec(other, 60, False)])
    assert not sensor.poke(ctx).is_done  # nothing matches: waited for, not an error
    assert "run_id" not in ctx["pushed"]
    emulator.control.script_runs([vendor.spec(older, 120, True)])
    result = sensor.poke(ctx)
    assert result.is_done and str(result.xcom_value["run_id"]) == older
    assert ctx["pushed"]["run_id"] == vendor.found_id(older)
    assert ctx["pushed"]["console_url"]  # the link works for a found run as for a given id


def test_several_match_the_newest_is_followed_and_the_log_says_so(emulator, vendor, caplog, capsys):
    older, newer, other = vendor.ids
    emulator.control.script_runs(
        [vendor.spec(older, 600, True), vendor.spec(newer, 60, True), vendor.spec(other, 30, False)]
    )
    ctx = context()
    with caplog.at_level(logging.INFO):
        result = rendered(vendor).poke(ctx)
    assert result.is_done and str(result.xcom_value["run_id"]) == newer
    assert ctx["pushed"]["run_id"] == vendor.found_id(newer)
    logged = caplog.text + capsys.readouterr().out  # Airflow 3 task loggers print, 2.11's propagate
    line = next(line for line in logged.splitlines() if "matched; following the newest" in line)
    assert " 2 " in f" {line}" and newer in line


def test_reschedule_mode_reads_the_id_back_and_does_not_look_again(emulator, vendor):
    older, newer, _ = vendor.ids
    running = vendor.spec(older, 300, True)
    running.update(advance="time", step_seconds=3600)  # frozen on its first state
    running["states"] = (
        ["Running", "Success"] if vendor.name in ("dataworks", "cloud_infinite") else running["states"]
    )
    emulator.control.script_runs([running])
    store = StateStore()
    first = rendered(vendor, mode="reschedule")
    first_result = first.poke(context(store))
    assert store == {"cloudflows_run_id_try_1": vendor.found_id(older)}
    listed = lists(emulator)
    # A newer match appears; the next poke (a new process) keeps following the one it found.
    emulator.control.script_runs([vendor.spec(newer, 10, True)])
    ctx = context(store)
    second = rendered(vendor, mode="reschedule")
    result = second.poke(ctx)
    assert lists(emulator) == listed
    assert second.run_id == vendor.found_id(older) and ctx["pushed"]["run_id"] == vendor.found_id(older)
    assert result.is_done == first_result.is_done


def test_deferrable_mode_waits_on_a_timer_then_defers_to_the_trigger_with_the_id(emulator, vendor):
    older = vendor.ids[0]
    with pytest.raises(TaskDeferred) as waiting:
        rendered(vendor, deferrable=True).execute(context())
    assert waiting.value.method_name == "resume_looking"
    assert type(waiting.value.trigger).__name__ == "TimeDeltaTrigger"
    deadline = waiting.value.kwargs["deadline"]
    assert time.time() < deadline <= time.time() + 30  # absolute: counted from the first look

    spec = vendor.spec(older, 60, True)
    spec.update(advance="time", step_seconds=3600)
    spec["states"] = (
        ["Running", "Success"] if vendor.name in ("dataworks", "cloud_infinite") else spec["states"]
    )
    if vendor.name == "wedata":
        spec["states"] = ["RUNNING", "SUCCESS"]
    if vendor.name == "ice":
        spec["states"] = ["Processing", "Succeed"]
    emulator.control.script_runs([spec])
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        rendered(vendor, deferrable=True).resume_looking(ctx, event=None, deadline=deadline)
    trigger = deferred.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger)
    assert trigger.run_id == vendor.found_id(older) and trigger.deadline == deadline
    assert ctx["pushed"]["run_id"] == vendor.found_id(older)
    # What a restarted triggerer rebuilds carries the id and the deadline.
    classpath, kwargs = trigger.serialize()
    assert WorkflowRunTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert kwargs["run_id"] == vendor.found_id(older) and kwargs["deadline"] == deadline


def test_deferrable_mode_times_out_from_the_first_look(emulator, vendor):
    with pytest.raises(AirflowSensorTimeout, match="appeared within 30 s"):
        rendered(vendor, deferrable=True).resume_looking(context(), event=None, deadline=time.time() - 1)


def test_a_description_that_renders_empty_fails_at_the_first_look(emulator, vendor):
    sensor = rendered(vendor)
    sensor.workflow_id = "  "
    with pytest.raises(InvalidRequestError, match=r"rendered incomplete .* workflow_id rendered empty"):
        sensor.poke(context())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DataWorksWorkflowInstanceSensor(task_id="s", instance_id=1, workflow_id=2), "not both"),
        (
            lambda: DataWorksWorkflowInstanceSensor(task_id="s", workflow_id=2, biz_date="{{ ds }}"),
            "missing: project_id",
        ),
        (lambda: DataWorksWorkflowInstanceSensor(task_id="s"), "give instance_id, or describe the run"),
        (
            lambda: WeDataWorkflowRunSensor(task_id="s", project_id="p", workflow_id="w"),
            "missing: scheduled_after",
        ),
        (
            lambda: WeDataWorkflowRunSensor(
                task_id="s", project_id="p", execution_id="e", scheduled_after="x"
            ),
            "not both",
        ),
        (lambda: IceWorkflowTaskSensor(task_id="s", created_after="2026-01-01"), "missing: workflow_id"),
        (lambda: IceWorkflowTaskSensor(task_id="s", workflow_task_id=""), "workflow_task_id is empty"),
        (
            lambda: CloudInfiniteWorkflowExecutionSensor(task_id="s", workflow_id="w"),
            "missing: object_key or created_after",
        ),
    ],
)
def test_a_mixed_or_incomplete_description_is_a_parse_time_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_ice_refuses_a_window_older_than_its_90_days(emulator):
    sensor = IceWorkflowTaskSensor(task_id="s", workflow_id="wf", created_after=iso(NOW - 100 * 86400))
    with pytest.raises(InvalidRequestError, match="more than 90 days ago"):
        sensor.poke(context())


def test_dataworks_instance_type_is_settable(emulator):
    emulator.control.script_runs([_dw_spec("7101", 60, False)])  # a Manual instance
    assert not rendered(VENDORS["dataworks"]).poke(context()).is_done
    manual = rendered(VENDORS["dataworks"], instance_type="Manual")
    result = manual.poke(context())
    assert result.is_done and result.xcom_value["run_id"] == "7101"
