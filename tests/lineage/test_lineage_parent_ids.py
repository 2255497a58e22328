"""Started runs carry the Airflow task's OpenLineage ids, read back from the emulator as the vendor keeps them.

The ids are the ones Airflow's OpenLineage listener emits for the task instance (its run id is
built from dag id, task id, try number, logical date and map index), so a consumer that reads a
vendor run's parameters can join it to the Airflow task that started it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from lineage_support import (
    LOGICAL_DATE,
    NAMESPACE,
    LineageTi,
    context,
    dataworks_start,
    ice_start,
    wedata_start,
)

pytest.importorskip("airflow.providers.openlineage", reason="the `openlineage` extra is not installed")

from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

from airflow_provider_cloudflows.lineage import PARENT_ID_PARAM, ROOT_PARENT_ID_PARAM
from airflow_provider_cloudflows.operators.ice import MARKER_KEY
from airflow_provider_cloudflows.operators.wedata import MARKER_PARAM

pytestmark = pytest.mark.usefixtures("emulator")


def expected_ids(ti: LineageTi) -> dict[str, str]:
    """What the listener emits for this task instance: "<namespace>/<job name>/<run id>"."""
    task_run = OpenLineageAdapter.build_task_instance_run_id(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        try_number=ti.try_number,
        logical_date=LOGICAL_DATE,
        map_index=ti.map_index,
    )
    dag_run = OpenLineageAdapter.build_dag_run_id(dag_id=ti.dag_id, logical_date=LOGICAL_DATE, clear_number=0)
    return {
        PARENT_ID_PARAM: f"{NAMESPACE}/{ti.dag_id}.{ti.task_id}/{task_run}",
        ROOT_PARENT_ID_PARAM: f"{NAMESPACE}/{ti.dag_id}/{dag_run}",
    }


@contextlib.contextmanager
def warnings_of(task: Any) -> Iterator[Callable[[], str]]:
    """The warnings the task logs (Airflow 3's task loggers do not reach pytest's caplog)."""
    with mock.patch.object(type(task), "log", new_callable=mock.PropertyMock) as log:
        yield lambda: "\n".join(str(c.args[0]) % c.args[1:] for c in log.return_value.warning.call_args_list)


def ice_user_data(op: Any, task_id: str) -> dict[str, Any]:
    return json.loads(op.hook.get_run(task_id).detail["WorkflowTask"]["UserData"])


def dataworks_parameters(op: Any, instance_id: int) -> dict[str, Any]:
    return json.loads(op.hook.get_run(instance_id, with_task_runs=False).detail["WorkflowParameters"])


def wedata_parameters(op: Any, execution_id: str) -> dict[str, Any]:
    (brief,) = [
        r.detail["TriggerWorkflowRun"]
        for r in op.hook.list_runs("p-1", workflow_id="wf-1")
        if r.run_id == execution_id
    ]
    return {p["ParamKey"]: p["ParamValue"] for p in json.loads(brief["WorkflowParams"])}


# -- OpenLineage on -------------------------------------------------------------------------------


@pytest.mark.usefixtures("openlineage_on")
def test_ice_user_data_carries_the_ids_next_to_the_mark_and_the_users_data() -> None:
    ti = LineageTi()
    op = ice_start(wait_for_completion=False, user_data={"NotifyAddress": "https://x/cb"})
    user_data = ice_user_data(op, op.execute(context(ti)))
    assert {k: user_data[k] for k in expected_ids(ti)} == expected_ids(ti)
    assert user_data["NotifyAddress"] == "https://x/cb" and user_data[MARKER_KEY].startswith("airflow-")


@pytest.mark.usefixtures("openlineage_on")
def test_dataworks_workflow_parameters_carry_the_ids() -> None:
    ti = LineageTi()
    op = dataworks_start(wait_for_completion=False, workflow_parameters='{"day": "2026-12-01"}')
    (instance_id,) = op.execute(context(ti))
    parameters = dataworks_parameters(op, instance_id)
    assert parameters == {"day": "2026-12-01", **expected_ids(ti)}


@pytest.mark.usefixtures("openlineage_on")
def test_wedata_run_parameters_carry_the_ids() -> None:
    ti = LineageTi()
    op = wedata_start(wait_for_completion=False, workflow_params={"day": "2026-12-01"})
    parameters = wedata_parameters(op, op.execute(context(ti)))
    assert {k: parameters[k] for k in expected_ids(ti)} == expected_ids(ti)
    assert parameters["day"] == "2026-12-01" and parameters[MARKER_PARAM].startswith("airflow-")


@pytest.mark.usefixtures("openlineage_on")
def test_a_retry_still_adopts_the_run_its_first_try_started() -> None:
    """The ids differ per try (the listener's run id includes the try); the mark does not."""
    first_op = wedata_start(wait_for_completion=False, workflow_params={"emulator_step_seconds": "5"})
    first = first_op.execute(context(LineageTi()))
    retry = LineageTi(try_number=2)
    assert wedata_start(wait_for_completion=False).execute(context(retry)) == first
    assert len(list(first_op.hook.list_runs("p-1", workflow_id="wf-1"))) == 1
    assert wedata_parameters(first_op, first)[PARENT_ID_PARAM] == expected_ids(LineageTi())[PARENT_ID_PARAM]


@pytest.mark.usefixtures("openlineage_on")
def test_a_value_the_user_set_is_kept() -> None:
    op = wedata_start(wait_for_completion=False, workflow_params={PARENT_ID_PARAM: "mine/job/1"})
    parameters = wedata_parameters(op, op.execute(context(LineageTi())))
    assert parameters[PARENT_ID_PARAM] == "mine/job/1"
    assert parameters[ROOT_PARENT_ID_PARAM] == expected_ids(LineageTi())[ROOT_PARENT_ID_PARAM]


@pytest.mark.usefixtures("openlineage_on")
def test_ice_user_data_keeps_the_mark_when_the_ids_do_not_fit() -> None:
    # ICE keeps at most 512 bytes: the mark first, then both ids, the parent's alone, or none.
    ti = LineageTi()
    roomy = ice_start(wait_for_completion=False, user_data={"note": "x" * 300})
    only_parent = ice_user_data(roomy, roomy.execute(context(ti)))
    assert only_parent[PARENT_ID_PARAM] == expected_ids(ti)[PARENT_ID_PARAM]
    assert ROOT_PARENT_ID_PARAM not in only_parent and MARKER_KEY in only_parent

    full = ice_start(wait_for_completion=False, user_data={"note": "x" * 400})
    with warnings_of(full) as warned:
        user_data = ice_user_data(full, full.execute(context(LineageTi(task_id="other"))))
    assert PARENT_ID_PARAM not in user_data and user_data[MARKER_KEY].startswith("airflow-")
    assert "no room in ICE's 512 bytes for the task's OpenLineage ids" in warned()


@pytest.mark.usefixtures("openlineage_on")
def test_dataworks_text_parameters_that_are_not_json_are_sent_as_written() -> None:
    op = dataworks_start(wait_for_completion=False, workflow_parameters="day=2026-12-01")
    with warnings_of(op) as warned:
        (instance_id,) = op.execute(context(LineageTi()))
    assert op.hook.get_run(instance_id, with_task_runs=False).detail["WorkflowParameters"] == "day=2026-12-01"
    assert "not a JSON object, so the instances are created without the task's OpenLineage ids" in warned()


@pytest.mark.usefixtures("openlineage_on")
def test_an_operator_class_disabled_for_openlineage_sends_no_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW__OPENLINEAGE__DISABLED_FOR_OPERATORS",
        "airflow_provider_cloudflows.operators.wedata.WeDataStartWorkflowRunOperator",
    )
    op = wedata_start(wait_for_completion=False)
    parameters = wedata_parameters(op, op.execute(context(LineageTi())))
    assert PARENT_ID_PARAM not in parameters and MARKER_PARAM in parameters


# -- OpenLineage installed but not configured -----------------------------------------------------


@pytest.mark.usefixtures("openlineage_off")
def test_without_openlineage_configured_the_start_requests_are_unchanged() -> None:
    ti = LineageTi()
    ice = ice_start(wait_for_completion=False)
    assert set(ice_user_data(ice, ice.execute(context(ti)))) == {"emulator_step_seconds", MARKER_KEY}
    dataworks = dataworks_start(wait_for_completion=False)
    (instance_id,) = dataworks.execute(context(ti))
    assert dataworks_parameters(dataworks, instance_id) == {"emulator_step_seconds": 0.02}
    wedata = wedata_start(wait_for_completion=False)
    assert set(wedata_parameters(wedata, wedata.execute(context(ti)))) == {
        "emulator_step_seconds",
        MARKER_PARAM,
    }
