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


def test_sdk_and_hook_list_the_same_instances_of_a_business_date(emulator):
    from datetime import UTC, date, datetime

    from airflow_provider_cloudflows.emulator.services.dataworks import bizdate_ms

    day = bizdate_ms(date(2026, 3, 1))
    specs = [
        instance_spec(9001, ["Success"], [], name="daily", bizdate=day, instance_type="Normal"),
        instance_spec(9002, ["Running"], [], name="daily-rerun", bizdate=day, instance_type="Manual"),
        instance_spec(9003, ["Success"], [], name="daily", bizdate=day, instance_type="Normal"),
        instance_spec(
            9004, ["Success"], [], name="other-wf", bizdate=day, instance_type="Normal", workflow_id=777
        ),
        instance_spec(
            9005, ["Success"], [], name="other-day", bizdate=day + 86_400_000, instance_type="Normal"
        ),
    ]
    emulator.control.script_runs(specs)
    request = dw_models.ListWorkflowInstancesRequest(
        project_id=10001, biz_date=day, workflow_id=20001, type="Normal", sort_by="Id Desc", page_size=1
    )
    sdk_items = []
    for page_number in (1, 2, 3):
        request.page_number = page_number
        sdk_items += client(emulator).list_workflow_instances(request).body.paging_info.workflow_instances
    runs = list(
        DataWorksHook().list_runs(
            project_id=10001, biz_date="2026-03-01", workflow_id=20001, instance_type="Normal", page_size=1
        )
    )
    assert [i.id for i in sdk_items] == [int(r.run_id) for r in runs] == [9003, 9001]
    assert [i.to_map() for i in sdk_items] == [r.detail for r in runs]
    assert [r.raw_state for r in runs] == ["Success", "Success"]
    # Every business-date spelling names the same day: the date, a datetime on it, epoch ms.
    for biz_date in (date(2026, 3, 1), datetime(2026, 2, 28, 20, tzinfo=UTC), day, "20260301"):
        assert [r.run_id for r in DataWorksHook().list_runs(project_id=10001, biz_date=biz_date)] == [
            "9004",
            "9003",
            "9002",
            "9001",
        ]
    sent = emulator.control.requests(vendor="dataworks", action="ListWorkflowInstances")
    assert sent and all(r["status"] == 200 for r in sent)


def test_sdk_and_hook_sort_instances_by_finish_time(emulator):
    day = BIZDATE + 86_400_000  # a day of its own: the fixture's instance is not listed
    base = 1_760_000_000.0
    emulator.control.script_runs(
        [
            {
                **instance_spec(9101, ["Running", "Success"], [], name="a", bizdate=day),
                "finishes_at": base + 300,
            },
            {
                **instance_spec(9102, ["Running", "Success"], [], name="b", bizdate=day),
                "finishes_at": base + 100,
            },
            {
                **instance_spec(9103, ["Running", "Success"], [], name="c", bizdate=day),
                "finishes_at": base + 200,
            },
        ]
    )
    sdk = client(emulator).list_workflow_instances(
        dw_models.ListWorkflowInstancesRequest(project_id=10001, biz_date=day, sort_by="FinishedTime Desc")
    )
    runs = list(DataWorksHook().list_runs(project_id=10001, biz_date=day, sort_by="FinishedTime Desc"))
    assert [i.id for i in sdk.body.paging_info.workflow_instances] == [int(r.run_id) for r in runs]
    assert [r.run_id for r in runs] == ["9101", "9103", "9102"]
    assert [r.finished_at.timestamp() for r in runs] == [base + 300, base + 200, base + 100]


@pytest.mark.asyncio
async def test_alist_runs_lists_what_list_runs_lists(emulator):
    listed = [run async for run in DataWorksHook().alist_runs(project_id=10001, biz_date=BIZDATE)]
    assert [r.run_id for r in listed] == [str(INSTANCE_ID)]
    assert listed == list(DataWorksHook().list_runs(project_id=10001, biz_date=BIZDATE))
    assert listed[0].task_runs == [] and listed[0].raw_state == "Failure"


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
