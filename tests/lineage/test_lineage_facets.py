"""The OpenLineage facets every sensor and start operator gives Airflow's listener, with the real classes.

Each task runs against the emulator as it would in a worker; then the provider's own
DefaultExtractor (what the listener uses) asks it for its facets, on completion or on failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from lineage_support import (
    LineageTi,
    cloud_infinite_start,
    context,
    dataworks_start,
    fast,
    ice_start,
    wedata_start,
)

from airflow_provider_cloudflows.products import PRODUCTS

pytest.importorskip("airflow.providers.openlineage", reason="the `openlineage` extra is not installed")

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.extractors.base import DefaultExtractor
from openlineage.client.facet_v2 import error_message_run, external_query_run, job_type_job
from openlineage.client.serde import Serde

from airflow_provider_cloudflows.lineage_facets import CloudflowsRunFacet

pytestmark = pytest.mark.usefixtures("emulator")


def _ice_sensor(run_id: str) -> Any:
    from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor

    return IceWorkflowTaskSensor(task_id="wait", workflow_task_id=run_id, poke_interval=0.05, timeout=30)


def _dataworks_sensor(run_id: str) -> Any:
    from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor

    return DataWorksWorkflowInstanceSensor(task_id="wait", instance_id=run_id, poke_interval=0.05, timeout=30)


def _wedata_sensor(run_id: str) -> Any:
    from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

    return WeDataWorkflowRunSensor(
        task_id="wait", execution_id=run_id, project_id="p-1", poke_interval=0.05, timeout=30
    )


def _cloud_infinite_sensor(run_id: str) -> Any:
    from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor

    return CloudInfiniteWorkflowExecutionSensor(task_id="wait", run_id=run_id, poke_interval=0.05, timeout=30)


# product key: (start operator that succeeds, start operator whose run fails, sensor of a run id,
#               the region the default connection names, the vendor's word for a run)
VENDORS: dict[str, tuple[Callable[[], Any], Callable[[], Any], Callable[[str], Any], str, str]] = {
    "ice": (
        lambda: ice_start(),
        lambda: ice_start(user_data={"emulator_step_seconds": 0.02, "emulator_outcome": "Failed"}),
        _ice_sensor,
        "cn-shanghai",
        "WORKFLOW_TASK",
    ),
    "dataworks": (
        lambda: dataworks_start(),
        lambda: dataworks_start(
            workflow_parameters={"emulator_step_seconds": 0.02, "emulator_outcome": "Failure"}
        ),
        _dataworks_sensor,
        "cn-shanghai",
        "WORKFLOW_INSTANCE",
    ),
    "wedata": (
        lambda: wedata_start(),
        lambda: wedata_start(workflow_params={"emulator_step_seconds": "0.02", "emulator_outcome": "FAILED"}),
        _wedata_sensor,
        "ap-chongqing",
        "WORKFLOW_RUN",
    ),
    "cloud_infinite": (
        lambda: cloud_infinite_start(),
        lambda: cloud_infinite_start("input/fail.mp4"),
        _cloud_infinite_sensor,
        "ap-chongqing",
        "WORKFLOW_EXECUTION",
    ),
}


def first_id(result: Any) -> str:
    return str(result[0] if isinstance(result, list) else result)


def extracted(task: Any, ti: LineageTi, *, failed: bool = False) -> OperatorLineage:
    """What the OpenLineage listener gets from the task: the provider's DefaultExtractor asks it.

    The extractor swallows an exception in the task's method (logging it) and answers None, so
    a method that fails shows here as None.
    """
    extractor = DefaultExtractor(task)
    lineage = extractor.extract_on_failure(ti) if failed else extractor.extract_on_complete(ti)
    assert isinstance(lineage, OperatorLineage), f"no lineage from {type(task).__name__}: {lineage!r}"
    return lineage


def check_common(lineage: OperatorLineage, key: str, run_id: str, region: str, job_type: str) -> Any:
    product = PRODUCTS[key]
    facet = lineage.run_facets["cloudflows"]
    assert isinstance(facet, CloudflowsRunFacet)
    assert (facet.vendor, facet.product, facet.runId) == (product.name, key, run_id)
    external = lineage.run_facets["externalQuery"]
    assert isinstance(external, external_query_run.ExternalQueryRunFacet)
    assert (external.externalQueryId, external.source) == (run_id, f"{key}://{region}")
    (name,) = lineage.job_facets
    job = lineage.job_facets[name]
    assert name == "cloudflowsJobType" and isinstance(job, job_type_job.JobTypeJobFacet)
    assert (job.integration, job.jobType, job.processingType) == (key.upper(), job_type, "BATCH")
    return facet


def poke_until_done(sensor: Any, ctx: dict[str, Any]) -> Any:
    fast(sensor)
    for _ in range(600):
        result = sensor.poke(ctx)
        if result.is_done:
            return result.xcom_value
        asyncio.run(asyncio.sleep(0.05))
    raise AssertionError("the run did not finish")


@pytest.mark.parametrize("key", VENDORS)
def test_a_start_operator_that_succeeded_names_its_run(key: str) -> None:
    succeeding, _failing, _sensor, region, job_type = VENDORS[key]
    ti = LineageTi()
    op = succeeding()
    run_id = first_id(op.execute(context(ti)))
    facet = check_common(extracted(op, ti), key, run_id, region, job_type)
    assert facet.consoleUrl == ti.pushed()["console_url"] and facet.consoleUrl.startswith("https://")
    assert (facet.state, facet.rawState) == ("succeeded", ti.pushed()["run"]["raw_state"])
    assert "errorMessage" not in extracted(op, ti).run_facets


@pytest.mark.parametrize("key", VENDORS)
def test_a_start_operator_whose_run_failed_gives_the_error(key: str) -> None:
    _succeeding, failing, _sensor, region, job_type = VENDORS[key]
    ti = LineageTi(task_id="failing")
    op = failing()
    with pytest.raises(AirflowFailException) as failure:
        op.execute(context(ti))
    run_id = ti.pushed()["run"]["run_id"]
    lineage = extracted(op, ti, failed=True)
    facet = check_common(lineage, key, run_id, region, job_type)
    assert facet.state == "failed" and facet.rawState == ti.pushed()["run"]["raw_state"]
    assert facet.consoleUrl == ti.pushed()["console_url"]
    error = lineage.run_facets["errorMessage"]
    assert isinstance(error, error_message_run.ErrorMessageRunFacet)
    assert error.message == str(failure.value) and run_id in error.message


@pytest.mark.parametrize("key", VENDORS)
def test_a_sensor_names_the_run_it_waited_for(key: str) -> None:
    succeeding, _failing, sensor_of, region, job_type = VENDORS[key]
    run_id = first_id(succeeding().execute(context(LineageTi())))
    ti = LineageTi(task_id="wait")
    sensor = sensor_of(run_id)
    poke_until_done(sensor, context(ti))
    facet = check_common(extracted(sensor, ti), key, run_id, region, job_type)
    assert facet.consoleUrl == ti.pushed()["console_url"] and facet.state == "succeeded"


@pytest.mark.parametrize("key", VENDORS)
def test_a_sensor_on_a_failed_run_gives_the_vendor_error(key: str) -> None:
    _succeeding, failing, sensor_of, region, job_type = VENDORS[key]
    started = LineageTi(task_id="failing")
    with pytest.raises(AirflowFailException):
        failing().execute(context(started))
    run = started.pushed()["run"]["run_id"]
    ti = LineageTi(task_id="wait")
    sensor = sensor_of(run)
    with pytest.raises(AirflowFailException) as failure:
        poke_until_done(sensor, context(ti))
    lineage = extracted(sensor, ti, failed=True)
    facet = check_common(lineage, key, run, region, job_type)
    assert facet.state == "failed"
    assert lineage.run_facets["errorMessage"].message == str(failure.value)


def test_a_deferred_start_resumed_in_a_new_process_still_names_its_run() -> None:
    """On resume a fresh operator runs execute_complete: its facets come from the trigger's event."""
    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

    ti = LineageTi()
    with pytest.raises(TaskDeferred) as deferred:
        wedata_start(deferrable=True).execute(context(ti))
    trigger = deferred.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger)

    async def first_event() -> Any:
        return await asyncio.wait_for(trigger.run().__anext__(), 30)

    event = asyncio.run(first_event())
    resumed = wedata_start(deferrable=True)  # nothing of the first process is left
    run_id = resumed.execute_complete(context(ti), event.payload, **(deferred.value.kwargs or {}))
    facet = check_common(extracted(resumed, ti), "wedata", run_id, "ap-chongqing", "WORKFLOW_RUN")
    assert facet.state == "succeeded" and facet.consoleUrl == ti.pushed()["console_url"]


def test_the_facets_serialize_as_openlineage_json() -> None:
    ti = LineageTi()
    op = ice_start()
    run_id = op.execute(context(ti))
    lineage = extracted(op, ti)
    document = json.loads(Serde.to_json(lineage.run_facets["cloudflows"]))
    assert document["runId"] == run_id and document["vendor"] == "Alibaba Cloud ICE"
    assert document["_producer"] and document["_schemaURL"].startswith("https://openlineage.io/")
    assert "runIds" not in document  # empty fields are left out, as the client does for its own
    job = json.loads(Serde.to_json(lineage.job_facets["cloudflowsJobType"]))
    assert job["integration"] == "ICE" and "JobTypeJobFacet" in job["_schemaURL"]


def test_dataworks_names_every_instance_it_created() -> None:
    periods = {"BizDates": [{"StartBizDate": "2026-11-01", "EndBizDate": "2026-11-02"}]}
    ti = LineageTi()
    op = dataworks_start(instance_type="SupplementData", periods=periods, wait_for_completion=False)
    ids = op.execute(context(ti))
    facet = extracted(op, ti).run_facets["cloudflows"]
    assert len(ids) == 2 and facet.runIds == [str(i) for i in ids] and facet.runId == str(ids[0])


def test_the_facet_methods_answer_openlineage_classes_directly() -> None:
    ti = LineageTi()
    op = ice_start(wait_for_completion=False)
    run_id = op.execute(context(ti))
    for lineage in (
        op.get_openlineage_facets_on_complete(ti),
        op.get_openlineage_facets_on_failure(ti),
    ):
        assert isinstance(lineage, OperatorLineage)
        assert lineage.run_facets["cloudflows"].runId == run_id
        assert lineage.inputs == [] and lineage.outputs == []
