"""DataWorks test support: documented payloads, a connection installer, a mock transport that checks ACS3."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.verify import (
    Credential,
    SignatureRejected,
    verify_acs3,
)

ACCESS_KEY_ID = "LTAI5tDataWorksUnitTest"
ACCESS_KEY_SECRET = "dataworks-unit-test-secret-000000"

# GetWorkflowInstance response with the example values of the API reference
# (api-dataworks-public-2024-05-18-getworkflowinstance): every documented field present.
SEED_GET_WORKFLOW_INSTANCE: dict[str, Any] = {
    "RequestId": "22C97E95-F023-56B5-8852-B1A77A17XXXX",
    "WorkflowInstance": {
        "Id": 1234,
        "WorkflowId": 1234,
        "WorkflowTaskInstanceId": 1234,
        "UnifiedWorkflowInstanceId": 1234,
        "Name": "WorkInstance1",
        "Type": "Normal",
        "Status": "Success",
        "BizDate": 1710239005403,
        "StartedTime": 1710239005403,
        "FinishedTime": 1710239005403,
        "ProjectId": 100,
        "EnvType": "Prod",
        "Owner": "1000",
        "CreateTime": 1710239005403,
        "ModifyTime": 1710239005403,
        "CreateUser": "1000",
        "ModifyUser": "1000",
        "WorkflowParameters": "key1=value1 key2=value2",
        "Tags": [{"Key": "key1", "Value": "value1"}],
    },
}

# One entry of ListTaskInstances `PagingInfo.TaskInstances` (SDK model field names; note `Bizdate`).
SEED_TASK_INSTANCE: dict[str, Any] = {
    "Id": 1234,
    "TaskId": 1234,
    "TaskName": "SQL node",
    "TaskType": "ODPS_SQL",
    "Status": "Success",
    "WorkflowInstanceId": 1234,
    "WorkflowId": 1234,
    "WorkflowName": "my_workflow",
    "WorkflowInstanceType": "Normal",
    "UnifiedWorkflowInstanceId": 1234,
    "ProjectId": 100,
    "ProjectEnv": "Prod",
    "Bizdate": 1710239005403,
    "CreateTime": 1710239005403,
    "ModifyTime": 1710239005403,
    "StartedTime": 1710239005403,
    "FinishedTime": 1710239005403,
    "TriggerTime": 1710239005403,
    "RunNumber": 1,
    "PeriodNumber": 1,
    "Priority": 1,
    "Timeout": 1,
    "Owner": "1000",
    "TriggerType": "Scheduler",
    "TriggerRecurrence": "Normal",
    "RerunMode": "AllAllowed",
    "BaselineId": 1234,
    "Runtime": {"Gateway": "cn-shanghai.1.2", "ProcessId": "T3_123"},
    "RuntimeResource": {
        "Cu": "0.5",
        "Image": "i-xxxxxx",
        "ResourceGroupId": "S_res_group_524258031846018_1684XXXXXXXXX",
    },
    "DataSource": {"Name": "odps_test"},
}


def acs_error(
    status: int, code: str, message: str = "error", headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {
        "RequestId": "req-err",
        "HostId": "dataworks.cn-shanghai.aliyuncs.com",
        "Code": code,
        "Message": message,
    }
    return httpx.Response(status, json=body, headers=headers)


class SignedDataWorksMock:
    """MockTransport handler: verifies the real ACS3 signature, then lets `answer` reply per action.

    `calls` records (action, params, request) with params merged from the query and the form body.
    """

    def __init__(self, answer: Callable[[str, dict[str, str]], httpx.Response]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, str], httpx.Request]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            verify_acs3(
                IncomingRequest.from_httpx(request),
                {ACCESS_KEY_ID: Credential(ACCESS_KEY_SECRET)},
                now=time.time(),
            )
        except SignatureRejected as rejected:
            return acs_error(rejected.http_status, rejected.code, rejected.message)
        params = dict(parse_qsl(request.url.query.decode()))
        if request.content:
            params.update(parse_qsl(request.content.decode()))
        action = request.headers["x-acs-action"]
        self.calls.append((action, params, request))
        return self.answer(action, params)

    def actions(self) -> list[str]:
        return [action for action, _, _ in self.calls]


def connection_installer(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Install AIRFLOW_CONN_<ID> for an `alibabacloud` connection (default: alibabacloud_default)."""

    def install(
        conn_id: str = "alibabacloud_default",
        *,
        secret: str = ACCESS_KEY_SECRET,
        region: str | None = "cn-shanghai",
        endpoint: str | None = None,
        **extra: Any,
    ) -> None:
        extras = {k: v for k, v in {"region": region, "endpoint": endpoint, **extra}.items() if v is not None}
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}",
            json.dumps(
                {"conn_type": "alibabacloud", "login": ACCESS_KEY_ID, "password": secret, "extra": extras}
            ),
        )

    install()
    return install
