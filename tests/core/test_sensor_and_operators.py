"""The sensor and operator bases with the fake vendor, in poke, reschedule and deferrable modes."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseOperator,
    TaskDeferred,
)
from fake_vendor import FakeHook, FakeRunSensor

from airflow_provider_cloudflows.compat import AIRFLOW_MAJOR
from airflow_provider_cloudflows.operators.base import GetWorkflowRunOperator, StartWorkflowRunOperator
from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger


class FakeGetRunOperator(GetWorkflowRunOperator):
    hook_class = FakeHook
    run_noun = "fake run"


class FakeStartRunOperator(StartWorkflowRunOperator):
    hook_class = FakeHook
    run_noun = "fake run"

    def start(self, context):
        return self.hook.start()

    def stop(self, run_id):
        self.hook.stop(run_id)


def context() -> dict:
    ti = mock.MagicMock()
    ti.get_first_reschedule_date.return_value = None
    # Airflow 2 looks the task instance up in task_reschedule by these.
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.max_tries, ti.try_number = "d", "wait", "r", -1, 0, 1
    pushed: dict = {}
    ti.xcom_push.side_effect = lambda key, value: pushed.__setitem__(key, value)
    return {"ti": ti, "pushed": pushed}


def sensor(**kwargs) -> FakeRunSensor:
    kwargs.setdefault("run_id", "r1")
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("timeout", 5)
    return FakeRunSensor(task_id="wait", **kwargs)


def test_poke_mode_waits_then_returns_the_run_as_xcom(fake):
    fake.runs["r1"] = ["WAIT", "RUN", "OK"]
    ctx = context()
    result = sensor().execute(ctx)
    assert result["raw_state"] == "OK" and result["state"] == "succeeded"
    assert [t["name"] for t in result["task_runs"]] == ["extract", "load"]
    assert ctx["pushed"]["console_url"] == "https://console.fake.example/runs/r1"


def test_poke_failure_names_the_run_and_is_not_retried(fake):
    fake.runs["r1"] = ["RUN", "BAD"]
    with pytest.raises(AirflowFailException, match=r"Fake fake run r1 ended in state 'BAD'.*E42"):
        sensor().execute(context())


def test_soft_fail_skips_a_failed_run(fake):
    fake.runs["r1"] = ["BAD"]
    with pytest.raises(AirflowSkipException):
        sensor(soft_fail=True).execute(context())


def test_failure_states_override_turns_skip_into_failure(fake):
    fake.runs["r1"] = ["SKIP"]
    assert sensor().execute(context())["raw_state"] == "SKIP"
    fake.polls.clear()
    with pytest.raises(AirflowFailException):
        sensor(failure_states=["SKIP"]).execute(context())


def test_poke_mode_timeout(fake):
    fake.runs["r1"] = ["RUN"]
    with pytest.raises(AirflowSensorTimeout):
        sensor(timeout=0.2).execute(context())


def test_reschedule_mode_gives_the_worker_slot_back(fake, request):
    if AIRFLOW_MAJOR < 3:  # Airflow 2 reads the first reschedule date from the metadata DB
        request.getfixturevalue("airflow_db")
    from airflow.exceptions import AirflowRescheduleException

    fake.runs["r1"] = ["RUN"]
    with pytest.raises(AirflowRescheduleException):
        sensor(mode="reschedule").execute(context())


def test_deferrable_checks_once_then_defers_with_a_json_safe_trigger(fake):
    fake.runs["r1"] = ["RUN"]
    with pytest.raises(TaskDeferred) as exc:
        sensor(deferrable=True, timeout=600, run_id="r1").execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger)
    assert exc.value.method_name == "execute_complete"
    assert trigger.hook_class_path == "fake_vendor.FakeHook" and trigger.run_id == "r1"
    assert trigger.deadline == pytest.approx(datetime.datetime.now().timestamp() + 600, abs=5)
    assert fake.polls["r1"] == 1


def test_deferrable_does_not_defer_a_finished_run(fake):
    fake.runs["r1"] = ["OK"]
    assert sensor(deferrable=True).execute(context())["raw_state"] == "OK"


def test_execute_complete_turns_events_into_outcomes():
    s = sensor()
    run = {"run_id": "r1", "raw_state": "OK"}
    assert s.execute_complete({}, {"status": "success", "run_id": "r1", "run": run}) == run
    with pytest.raises(AirflowFailException, match="boom"):
        s.execute_complete({}, {"status": "failure", "run_id": "r1", "message": "boom"})
    with pytest.raises(AirflowSensorTimeout):
        s.execute_complete({}, {"status": "timeout", "run_id": "r1", "message": "late"})
    with pytest.raises(AirflowSkipException):
        sensor(soft_fail=True).execute_complete({}, {"status": "timeout", "run_id": "r1", "message": "late"})
    with pytest.raises(AirflowSkipException):
        sensor(soft_fail=True).execute_complete({}, {"status": "error", "run_id": "r1", "message": "x"})


def test_template_fields_cover_the_run_identity():
    assert {"run_id", "conn_id", "region"} <= set(FakeRunSensor.template_fields)
    assert issubclass(FakeRunSensor, BaseOperator)


def test_get_operator_pushes_run_and_task_runs(fake):
    fake.runs["r1"] = ["OK"]
    ctx = context()
    result = FakeGetRunOperator(task_id="get", run_id="r1").execute(ctx)
    assert result["run_id"] == "r1"
    assert [t["name"] for t in ctx["pushed"]["task_runs"]] == ["extract", "load"]
    assert ctx["pushed"]["console_url"].endswith("/r1")


def test_start_operator_waits_and_pushes_the_run(fake):
    ctx = context()
    op = FakeStartRunOperator(task_id="start", poll_interval=0.01, timeout=5)
    assert op.execute(ctx) == "run-1"
    assert ctx["pushed"]["run_id"] == "run-1"
    assert ctx["pushed"]["run"]["raw_state"] == "OK"


def test_start_operator_without_waiting_returns_at_once(fake):
    op = FakeStartRunOperator(task_id="start", wait_for_completion=False)
    assert op.execute(context()) == "run-1"
    assert fake.polls == {}


def test_start_operator_defers(fake):
    with pytest.raises(TaskDeferred) as exc:
        FakeStartRunOperator(task_id="start", deferrable=True, poll_interval=3).execute(context())
    assert exc.value.trigger.run_id == "run-1" and exc.value.kwargs == {"run_id": "run-1"}


def test_start_operator_on_kill_stops_the_remote_run(fake):
    op = FakeStartRunOperator(task_id="start", wait_for_completion=False)
    op.execute(context())
    op.on_kill()
    assert fake.stopped == ["run-1"]


def test_start_operator_resumed_from_the_trigger_pushes_run_task_runs_and_console_url(fake):
    run = {
        "vendor": "Fake",
        "run_id": "run-1",
        "state": "succeeded",
        "raw_state": "OK",
        "task_runs": [{"name": "load", "state": "succeeded", "raw_state": "OK"}],
    }
    ctx = context()
    op = FakeStartRunOperator(task_id="start", deferrable=True)
    assert (
        op.execute_complete(ctx, {"status": "success", "run_id": "run-1", "run": run}, run_id="run-1")
        == "run-1"
    )
    assert ctx["pushed"]["run"]["raw_state"] == "OK"
    assert [t["name"] for t in ctx["pushed"]["task_runs"]] == ["load"]
    assert ctx["pushed"]["console_url"] == "https://console.fake.example/runs/run-1"


@pytest.mark.parametrize("vendor", ["ice", "dataworks", "wedata", "cloud_infinite"])
def test_hooks_preload_what_they_import_lazily(vendor):
    import importlib
    import sys

    module = importlib.import_module(f"airflow_provider_cloudflows.hooks.{vendor}")
    hook_class = next(
        obj
        for name, obj in vars(module).items()
        if name.endswith("Hook") and obj.__module__ == module.__name__
    )
    models = f"airflow_provider_cloudflows.models.{vendor}"
    assert models in hook_class.lazy_modules
    saved = sys.modules.pop(models, None)
    try:
        hook_class.preload(object.__new__(hook_class))
        assert models in sys.modules
    finally:
        if saved is not None:
            sys.modules[models] = saved
