"""Conformance: the official DataWorks SDK and DataWorksHook read the same emulator instance identically."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_cloudflows.emulator.services.dataworks import default_bizdate, instance_spec
from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
from airflow_provider_cloudflows.models.dataworks import (
    GetWorkflowInstanceResponse,
    ListTaskInstancesResponse,
    parse,
    to_workflow_run,
)

pytestmark = pytest.mark.sdk

sdk_client = pytest.importorskip(
    "alibabacloud_dataworks_public20240518.client",
    reason="the official DataWorks SDK is a test-only dependency",
)
from alibabacloud_dataworks_public20240518 import models as dw_models  # noqa: E402
from alibabacloud_tea_openapi import utils_models as open_api_models  # noqa: E402

INSTANCE_ID = 8080
BIZDATE = default_bizdate(1_735_700_000)
TASKS = [(f"node_{i}", ["Failure" if i == 3 else "Success"]) for i in range(1, 8)]


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    spec = instance_spec(INSTANCE_ID, ["Failure"], TASKS, name="sdk-conformance", bizdate=BIZDATE)
    cloudflows_emulator.control.script_runs([spec])
    return cloudflows_emulator


def client(emulator, secret: str | None = None) -> Any:
    config = open_api_models.Config(
        access_key_id=emulator.alibaba_access_key_id,
        access_key_secret=secret or emulator.alibaba_access_key_secret,
        endpoint=urlsplit(emulator.url).netloc,
        protocol="HTTP",
        region_id="cn-shanghai",
    )
    return sdk_client.Client(config)


def test_sdk_and_hook_read_instance_and_task_instances_identically(emulator):
    sdk = client(emulator)
    instance = sdk.get_workflow_instance(dw_models.GetWorkflowInstanceRequest(id=INSTANCE_ID)).body
    pages = []
    page_number = 1
    while True:
        body = sdk.list_task_instances(
            dw_models.ListTaskInstancesRequest(
                bizdate=instance.workflow_instance.biz_date,
                project_id=instance.workflow_instance.project_id,
                workflow_instance_id=INSTANCE_ID,
                page_number=page_number,
                page_size=3,
                sort_by="Id Asc",
            )
        ).body
        pages.append(body)
        if page_number * body.paging_info.page_size >= body.paging_info.total_count:
            break
        page_number += 1

    hook_run = DataWorksHook(task_page_size=3).get_run(INSTANCE_ID)

    # Field by field, the SDK's typed view and the hook's normalized view agree.
    wi = instance.workflow_instance
    assert (str(wi.id), str(wi.workflow_id), wi.name, wi.status) == (
        hook_run.run_id,
        hook_run.workflow_id,
        hook_run.name,
        hook_run.raw_state,
    )
    assert wi.finished_time == int(hook_run.finished_at.timestamp() * 1000)
    assert wi.started_time == int(hook_run.started_at.timestamp() * 1000)
    sdk_tasks = [t for body in pages for t in body.paging_info.task_instances]
    assert len(pages) == 3 and len(sdk_tasks) == 7
    assert [(str(t.id), t.task_name, t.status) for t in sdk_tasks] == [
        (t.task_run_id, t.name, t.raw_state) for t in hook_run.task_runs
    ]
    # And the SDK's raw maps, run through the hook's own models, give exactly the hook's run.
    via_sdk = to_workflow_run(
        parse(GetWorkflowInstanceResponse, instance.to_map(), action="GetWorkflowInstance").WorkflowInstance,
        [
            task
            for body in pages
            for task in parse(
                ListTaskInstancesResponse, body.to_map(), action="ListTaskInstances"
            ).PagingInfo.TaskInstances
        ],
    )
    assert via_sdk == hook_run
    assert [t.name for t in hook_run.failed_task_runs()] == ["node_3"]


def test_sdk_with_wrong_secret_fails_with_signature_does_not_match(emulator):
    from alibabacloud_tea_openapi.exceptions import ClientException

    with pytest.raises(ClientException) as err:
        client(emulator, secret="not-the-secret").get_workflow_instance(
            dw_models.GetWorkflowInstanceRequest(id=INSTANCE_ID)
        )
    assert err.value.code == "SignatureDoesNotMatch" and err.value.status_code == 400


def test_sdk_reruns_the_failed_task_instances_and_reads_the_result(emulator):
    sdk = client(emulator)
    request = dw_models.RerunWorkflowInstancesRequest(
        project_id=10001,
        workflow_id=20001,
        type="ManualWorkflow",
        ids=[INSTANCE_ID],
        filter=dw_models.RerunWorkflowInstancesRequestFilter(
            task_instance_statuses=["Failure"], rerun_downstream_enabled=True
        ),
    )
    operation_id = sdk.rerun_workflow_instances(request).body.operation_id
    result_request = dw_models.GetRerunWorkflowInstancesResultRequest(operation_id=operation_id)
    statuses = [sdk.get_rerun_workflow_instances_result(result_request).body.result.status for _ in range(2)]
    assert statuses == ["NotRun", "Success"]
    hook = DataWorksHook()
    run = hook.get_run(INSTANCE_ID)
    assert run.raw_state == "Running"
    # node_1 and node_2 had succeeded; node_3 failed and node_4..7 follow it: rerun from node_3 on.
    reruns = [t.detail["RunNumber"] for t in run.task_runs]
    assert reruns == [1, 1, 2, 2, 2, 2, 2]


def test_sdk_stops_an_instance_and_a_refused_rerun_reports_its_failure(emulator):
    sdk = client(emulator)
    running = instance_spec(
        8081, ["Running", "Success"], [("a", ["Running", "Success"])], name="running", bizdate=BIZDATE
    )
    emulator.control.script_runs([running])
    rerun = dw_models.RerunWorkflowInstancesRequest(
        project_id=10001, workflow_id=20001, type="ManualWorkflow", ids=[8081]
    )
    operation_id = sdk.rerun_workflow_instances(rerun).body.operation_id
    result_request = dw_models.GetRerunWorkflowInstancesResultRequest(operation_id=operation_id)
    sdk.get_rerun_workflow_instances_result(result_request)
    result = sdk.get_rerun_workflow_instances_result(result_request).body.result
    assert result.status == "Failure" and "8081" in result.failure_message
    stopped = sdk.stop_workflow_instances(dw_models.StopWorkflowInstancesRequest(ids=[8081], comment="x"))
    assert stopped.body.success_info["8081"].success is True
    assert DataWorksHook().get_run(8081).raw_state == "Failure"
