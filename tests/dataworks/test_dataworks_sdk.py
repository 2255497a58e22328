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


def test_sdk_and_hook_read_the_same_task_instance_log(emulator):
    log_text = "line 1\nFAILED: ODPS-0130071 table not found\n"
    spec = instance_spec(
        8081,
        ["Failure"],
        [("only", ["Failure"])],
        name="sdk-log",
        bizdate=BIZDATE,
        task_logs={"only": log_text},
    )
    emulator.control.script_runs([spec])
    task_instance_id = int(spec["task_runs"][0]["task_id"])
    body = (
        client(emulator)
        .get_task_instance_log(dw_models.GetTaskInstanceLogRequest(id=task_instance_id, run_number=1))
        .body
    )
    assert body.task_instance_log == log_text and body.request_id
    assert DataWorksHook().get_task_instance_log(task_instance_id, 1) == log_text
    # A run the task instance never had is refused, to the SDK and the hook alike.
    with pytest.raises(Exception) as refused:
        client(emulator).get_task_instance_log(
            dw_models.GetTaskInstanceLogRequest(id=task_instance_id, run_number=2)
        )
    assert refused.value.code == "Invalid.TaskInstance.RunNumber"
