"""Start operators wait by default, so their defaults suit waiting: a short run is not held for
half a minute, and every start operator documents how it waits."""

from __future__ import annotations

import inspect
import time
from unittest import mock

import pytest

from airflow_provider_cloudflows.operators.base import StartWorkflowRunOperator
from airflow_provider_cloudflows.operators.cloud_infinite import CloudInfiniteTriggerWorkflowOperator
from airflow_provider_cloudflows.operators.dataworks import DataWorksCreateWorkflowInstancesOperator
from airflow_provider_cloudflows.operators.ice import IceStartWorkflowOperator
from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

START_OPERATORS = {
    IceStartWorkflowOperator: {"workflow_id": "w", "task_input": {"Type": "Media", "Media": "m"}},
    DataWorksCreateWorkflowInstancesOperator: {"project_id": 10001, "workflow_id": 20001},
    WeDataStartWorkflowRunOperator: {"project_id": "p", "workflow_id": "w"},
    CloudInfiniteTriggerWorkflowOperator: {"workflow_id": "w", "object_key": "k"},
}


@pytest.mark.parametrize("cls", list(START_OPERATORS), ids=lambda cls: cls.__name__)
def test_start_operators_wait_by_default_with_a_short_poll(cls):
    op = cls(task_id="start", **START_OPERATORS[cls])
    assert op.wait_for_completion is True
    assert op.poll_interval <= 10
    assert op.timeout == 7 * 24 * 3600
    assert op.deferrable is False  # [operators] default_deferrable is not set in the tests


def test_sensors_keep_their_poke_interval():
    sensor = WeDataWorkflowRunSensor(task_id="wait", project_id="p", execution_id="e")
    assert sensor.poke_interval == 60


def test_the_start_base_documents_how_it_waits_with_its_defaults():
    doc = inspect.getdoc(StartWorkflowRunOperator)
    for text in (
        ":param wait_for_completion:",
        "default True",
        ":param deferrable:",
        "default_deferrable",
        ":param poll_interval:",
        "default 10",
        ":param timeout:",
        "default 7 days",
    ):
        assert text in doc, text


@pytest.mark.parametrize("cls", list(START_OPERATORS), ids=lambda cls: cls.__name__)
def test_every_start_operator_points_at_how_it_waits(cls):
    doc = inspect.getdoc(cls)
    assert "StartWorkflowRunOperator" in doc
    for name in ("wait_for_completion", "deferrable", "poll_interval", "timeout"):
        assert name in doc, name


def test_a_short_run_is_not_held_for_half_a_minute(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    op = WeDataStartWorkflowRunOperator(
        task_id="start",
        project_id="1460947878944567296",
        workflow_id="wf-short",
        workflow_params={"emulator_step_seconds": 0.5},  # the run takes about a second
    )
    ti = mock.MagicMock()
    began = time.monotonic()
    run_id = op.execute({"ti": ti})
    elapsed = time.monotonic() - began
    assert run_id
    assert elapsed < 15, f"a run of about a second held the task {elapsed:.1f} s"
    pushed = {call.kwargs["key"]: call.kwargs["value"] for call in ti.xcom_push.call_args_list}
    assert pushed["run"]["raw_state"] == "SUCCESS"
