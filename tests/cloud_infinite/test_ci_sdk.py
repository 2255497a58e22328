"""Conformance: the official cos-python-sdk-v5 and CloudInfiniteHook read the same emulator executions identically."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pytest
from ci_support import REGION

from airflow_provider_cloudflows.emulator.services.base import held_at
from airflow_provider_cloudflows.emulator.services.cloud_infinite import (
    DEMO_BUCKET,
    DEMO_WORKFLOW_ID,
    execution_spec,
)
from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
from airflow_provider_cloudflows.hooks.retry import RetryPolicy

qcloud_cos = pytest.importorskip("qcloud_cos", reason="cos-python-sdk-v5 is a test-only dependency")

pytestmark = pytest.mark.sdk
RUN_ID = "i" + "c" * 32


@pytest.fixture
def emulator(emulator):
    # A finished execution from the first read on: every read sees the same state.
    emulator.control.script_runs([held_at(execution_spec(RUN_ID, object_key="in/sdk.mp4", outcome="Failed"))])
    logging.getLogger("qcloud_cos").setLevel(logging.WARNING)
    return emulator


def sdk_client(emulator, secret: str | None = None):
    parts = urlsplit(emulator.url)
    config = qcloud_cos.CosConfig(
        Region=REGION,
        SecretId=emulator.tencent_secret_id,
        SecretKey=secret or emulator.tencent_secret_key,
        Scheme="http",
        IP=parts.hostname,
        Port=parts.port,
    )
    return qcloud_cos.CosS3Client(config, retry=0)


def listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def blank(value: Any) -> Any:
    return "" if value is None else value


def test_sdk_and_hook_read_the_same_execution(emulator):
    sdk = sdk_client(emulator).ci_get_workflowexecution(Bucket=DEMO_BUCKET, RunId=RUN_ID)
    run = CloudInfiniteHook(retry_policy=RetryPolicy(max_attempts=1)).get_run(RUN_ID)
    (execution,) = sdk["WorkflowExecution"]
    assert execution["RunId"] == run.run_id
    assert execution["WorkflowId"] == run.workflow_id == DEMO_WORKFLOW_ID
    assert execution["State"] == run.raw_state == "Failed"
    assert execution["CreateTime"] == run.detail["CreateTime"]
    assert execution["Object"] == run.detail["Object"] == "in/sdk.mp4"
    sdk_tasks = listed(execution.get("Tasks"))
    assert len(sdk_tasks) == len(run.task_runs) == 2
    for sdk_task, task in zip(sdk_tasks, run.task_runs, strict=True):
        assert sdk_task["JobId"] == task.job_id
        assert sdk_task["Name"] == task.name
        assert sdk_task["Type"] == task.task_type
        assert sdk_task["State"] == task.raw_state
        assert {k: blank(v) for k, v in sdk_task.items()} == {k: blank(v) for k, v in task.detail.items()}
    assert execution["Topology"] == run.detail["Topology"]


def test_sdk_and_hook_list_the_same_executions(emulator):
    sdk = sdk_client(emulator).ci_list_workflowexecution(
        Bucket=DEMO_BUCKET, WorkflowId=DEMO_WORKFLOW_ID, Size=100
    )
    runs = list(CloudInfiniteHook(retry_policy=RetryPolicy(max_attempts=1)).list_runs(DEMO_WORKFLOW_ID))
    sdk_items = listed(sdk.get("WorkflowExecutionList"))
    assert [i["RunId"] for i in sdk_items] == [r.run_id for r in runs] == [RUN_ID]
    assert [i["State"] for i in sdk_items] == [r.raw_state for r in runs]
    assert blank(sdk.get("NextToken")) == ""


def test_sdk_trigger_is_read_by_the_hook(emulator):
    sdk = sdk_client(emulator).ci_trigger_workflow(
        Bucket=DEMO_BUCKET, WorkflowId=DEMO_WORKFLOW_ID, Key="in/by sdk.mp4"
    )
    run = CloudInfiniteHook(retry_policy=RetryPolicy(max_attempts=1)).get_run(sdk["InstanceId"])
    assert run.detail["Object"] == "in/by sdk.mp4"


def test_sdk_with_a_wrong_secret_fails_with_the_ci_auth_code(emulator):
    with pytest.raises(qcloud_cos.CosServiceError) as err:
        sdk_client(emulator, secret="wrong-secret").ci_get_workflowexecution(Bucket=DEMO_BUCKET, RunId=RUN_ID)
    assert err.value.get_error_code() == "SignatureDoesNotMatch"
    assert err.value.get_status_code() == 403


def test_sdk_and_hook_list_the_same_executions_in_a_creation_window(emulator):
    import time

    from airflow_provider_cloudflows.hooks.cloud_infinite import format_ci_time

    now = time.time()
    emulator.control.script_runs(
        [
            held_at(execution_spec("i" + "1" * 32, object_key="in/a.mp4", created_at=now - 3000)),
            held_at(execution_spec("i" + "2" * 32, object_key="in/b.mp4", created_at=now - 1000)),
            held_at(execution_spec("i" + "3" * 32, object_key="in/a.mp4", created_at=now - 500)),
        ]
    )
    after, before = format_ci_time(_utc(now - 2000)), format_ci_time(_utc(now - 100))
    sdk = sdk_client(emulator).ci_list_workflowexecution(
        Bucket=DEMO_BUCKET,
        WorkflowId=DEMO_WORKFLOW_ID,
        StartCreationTime=after,
        EndCreationTime=before,
        Size=100,
    )
    hook = CloudInfiniteHook(retry_policy=RetryPolicy(max_attempts=1))
    runs = list(hook.list_runs(DEMO_WORKFLOW_ID, created_after=after, created_before=before))
    assert [i["RunId"] for i in listed(sdk.get("WorkflowExecutionList"))] == [r.run_id for r in runs]
    assert [r.run_id[1] for r in runs] == ["3", "2"]
    newest = hook.newest_run(DEMO_WORKFLOW_ID, created_after=after)  # object key optional
    assert newest is not None and newest.run_id == RUN_ID  # the fixture's, created just now
    newest = hook.newest_run(DEMO_WORKFLOW_ID, created_after=after, created_before=before)
    assert newest is not None and newest.run_id == "i" + "3" * 32
    by_key = hook.newest_run(DEMO_WORKFLOW_ID, "in/b.mp4", created_after=after, created_before=before)
    assert by_key is not None and by_key.run_id == "i" + "2" * 32


def _utc(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


def test_sdk_and_hook_read_the_same_job_detail(emulator):
    failed_job = "j" + "c" * 32 + "1"  # the Transcode node of execution_spec's failed execution
    sdk = sdk_client(emulator).ci_get_media_jobs(Bucket=DEMO_BUCKET, JobIDs=f"{failed_job},jnosuchjob")
    (job,) = sdk["JobsDetail"]
    assert job["JobId"] == failed_job and job["State"] == "Failed"
    assert job["Code"] == "InvalidInput" and job["Message"] == "the input file has no video stream"
    assert sdk["NonExistJobIds"] == "jnosuchjob"
    text = CloudInfiniteHook(retry_policy=RetryPolicy(max_attempts=1)).get_job_detail(failed_job)
    assert text.splitlines()[:3] == [
        "Code: InvalidInput",
        "Message: the input file has no video stream",
        "State: Failed",
    ]
    assert f"JobId: {failed_job}" in text
