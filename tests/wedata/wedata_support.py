"""WeData test support: the documented GetTriggerWorkflowRun payload, a signed mock transport, connections."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.verify import (
    Credential,
    SignatureRejected,
    verify_tc3,
)

SECRET_ID = "AKIDwedataunittest0000000000000000"
SECRET_KEY = "wedata-unit-test-secret-key-000000"
PROJECT_ID = "1460947878944567296"
EXECUTION_ID = "d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54"

# GetTriggerWorkflowRun `Response`, in the shape and spelling of the API doc's example
# (https://cloud.tencent.com.cn/document/api/1267/127217): epoch-ms strings, nulls where the doc
# shows nulls, BizStateEnumInfos as a histogram.
SEED_RESPONSE: dict[str, Any] = {
    "Data": {
        "BizStateEnumInfos": [{"Count": 4, "LabelKey": "PENDING", "LabelValue": "等待资源"}],
        "TriggerTaskRuns": [
            {
                "CreateTime": "1764819600341",
                "CreateUin": None,
                "CycleType": None,
                "DependOnList": None,
                "DependenceFinishedTime": "1764819601000",
                "ErrorCode": None,
                "ErrorCodeStr": None,
                "ExecutionEndTime": "1764819660000",
                "ExecutionId": "20251204114000341-task-1",
                "ExecutionStartTime": "1764819602000",
                "ExecutionState": "SUCCESS",
                "ExecutionTime": "58",
                "JobId": "job-8841",
                "ProjectId": PROJECT_ID,
                "RetryTimes": 0,
                "TaskId": "20251204_extract",
                "TaskName": "extract_orders",
                "TaskType": "SparkSql",
                "TaskTypeId": 32,
                "WorkflowExecutionId": EXECUTION_ID,
                "WorkflowId": "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c",
                "LeftCoordinate": 120.5,
                "TopCoordinate": 80.0,
            },
            {
                "CreateTime": "1764819600341",
                "ErrorCode": "E1001",
                "ErrorCodeStr": "SQL syntax error near 'FORM'",
                "ExecutionEndTime": "1764819720000",
                "ExecutionId": "20251204114000341-task-2",
                "ExecutionStartTime": "1764819661000",
                "ExecutionState": "FAILED",
                "JobId": "job-8842",
                "ProjectId": PROJECT_ID,
                "TaskId": "20251204_load",
                "TaskName": "load_orders",
                "TaskType": "HiveSql",
                "WorkflowExecutionId": EXECUTION_ID,
                "WorkflowId": "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c",
            },
            {
                "ExecutionId": "20251204114000341-task-3",
                "ExecutionState": "SKIP",
                "TaskName": "notify",
                "TaskType": "Shell",
                "WorkflowExecutionId": EXECUTION_ID,
            },
        ],
        "TriggerWorkflowRun": {
            "AppId": "1300000000",
            "CreateTime": "1764819600341",
            "EndTime": "1764819721000",
            "ErrorCodeStr": "TASK_FAILED",
            "ExecuteUserName": "alice",
            "ExecuteUserUin": "100000000001",
            "ExecutionCostTime": "120",
            "ExecutionEndTime": "1764819720000",
            "ExecutionId": EXECUTION_ID,
            "ExecutionStartTime": "1764819600500",
            "ExecutionState": "FAILED",
            "ProjectId": PROJECT_ID,
            "RerunTimes": 0,
            "SelectedTaskIds": None,
            "SupportRerun": True,
            "TriggerType": "ManualTrigger",
            "WorkflowId": "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c",
            "WorkflowName": "orders_daily",
            "WorkflowParams": "[]",
            "Privilege": "CAN_MANAGE",
        },
    },
    "RequestId": "6d1c9c7e-0f0e-4f5e-9a37-1f3c0d5b8a11",
}


def api3_body(payload: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"Response": payload})


def api3_error(code: str, message: str = "error", request_id: str = "req-1") -> httpx.Response:
    error = {"Error": {"Code": code, "Message": message}, "RequestId": request_id}
    return httpx.Response(200, json={"Response": error})


class SignedMock:
    """A MockTransport handler that first verifies the real TC3 signature, then answers by action."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], httpx.Response]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any], httpx.Request]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            verify_tc3(
                IncomingRequest.from_httpx(request),
                {SECRET_ID: Credential(SECRET_KEY)},
                now=time.time(),
                service="wedata",
            )
        except SignatureRejected as rejected:
            return api3_error(rejected.code, rejected.message)
        action = request.headers["X-TC-Action"]
        body = json.loads(request.content or b"{}")
        self.calls.append((action, body, request))
        return self.answer(action, body)


def install_connection(
    monkeypatch: Any,
    conn_id: str = "tencentcloud_default",
    *,
    secret: str = SECRET_KEY,
    region: str | None = "ap-guangzhou",
    endpoint: str | None = "https://wedata.tencentcloudapi.com",
    **extra: Any,
) -> None:
    """Set AIRFLOW_CONN_<ID> to a `tencentcloud` connection (JSON form)."""
    extras = {k: v for k, v in {"region": region, "endpoint": endpoint, **extra}.items() if v is not None}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "tencentcloud", "login": SECRET_ID, "password": secret, "extra": extras}),
    )
