"""Cloud Infinite test support: the documented XML payloads, a signature-checking mock transport, connections."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.verify import (
    Credential,
    SignatureRejected,
    verify_cos,
)
from airflow_provider_cloudflows.runs import RunState

# The COS doc's published key pair (vendor-apis.md §4.4 vectors A and B).
SECRET_ID = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
SECRET_KEY = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
REGION = "ap-chongqing"
BUCKET = "examplebucket-1250000000"
HOST = f"{BUCKET}.ci.{REGION}.myqcloud.com"

# DescribeMediaWorkflowExecution, the doc's response example (doc 436/53992): three tasks, one per
# node, old-style `WorkflowName` and a full COS URL in `Object`, `+0800` times.
DOC_SINGLE = """<Response>
  <WorkflowExecution>
    <RunId>37145b2919714156bd97f91dc03fa2b4</RunId>
    <WorkflowId>we65e4d260e1042debdfb7e4560a19d3d</WorkflowId>
    <WorkflowName></WorkflowName>
    <State>Success</State>
    <CreateTime>2019-07-07T12:12:12+0800</CreateTime>
    <Object>https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/mars_white_test.mp4</Object>
    <Topology>
        <Dependencies>
            <Start>Snapshot_1581665960536,Animation_1581665960538</Start>
            <Snapshot_1581665960536>End</Snapshot_1581665960536>
            <Animation_1581665960538>End</Animation_1581665960538>
        </Dependencies>
        <Nodes>
            <Start>
                <Type>Start</Type>
                <Input>
                    <QueueId></QueueId>
                    <ObjectPrefix></ObjectPrefix>
                </Input>
            </Start>
            <Snapshot_1581665960536>
                <Type>Snapshot</Type>
                <Operation>
                    <TemplateId></TemplateId>
                    <Output>
                        <Region></Region>
                        <Bucket></Bucket>
                        <Object>abc/${RunId}/snapshot-${number}.${Ext}</Object>
                    </Output>
                </Operation>
            </Snapshot_1581665960536>
            <Animation_1581665960538>
                <Type>Animation</Type>
                <Operation>
                    <TemplateId></TemplateId>
                    <Output>
                        <Region></Region>
                        <Bucket></Bucket>
                        <Object>bcd/${RunId}/bcd.gif</Object>
                    </Output>
                </Operation>
            </Animation_1581665960538>
        </Nodes>
    </Topology>
    <Tasks>
        <Type>Start</Type>
        <CreateTime>2019-07-07T12:12:12+0800</CreateTime>
        <EndTime></EndTime>
        <State>Success</State>
        <JobId>f9ddcf74ebfd4f0caa0bb78692432d69</JobId>
        <Name>Start</Name>
    </Tasks>
    <Tasks>
        <Type>Snapshot</Type>
        <CreateTime>2019-07-07T12:12:12+0800</CreateTime>
        <EndTime></EndTime>
        <State>Success</State>
        <JobId>f9ddcf74ebfd4f0caa0bb78692432d69</JobId>
        <Name>Snapshot_1581665960536</Name>
    </Tasks>
    <Tasks>
        <Type>Animation</Type>
        <CreateTime>2019-07-07T12:12:12+0800</CreateTime>
        <EndTime></EndTime>
        <State>Failed</State>
        <JobId>f9ddcf74ebfd4f0caa0bb78692432d69</JobId>
        <Name>Animation_1581665960538</Name>
    </Tasks>
  </WorkflowExecution>
</Response>
"""

# The newer doc's shape (doc 1045/51275): RequestId, `Name`, an object key, `+08:00` times; cut
# down to exactly ONE task so the one-element case of the repeated `Tasks` is covered.
DOC_SINGLE_ONE_TASK = """<Response>
<RequestId>NjJmMjA5MjZfZWM0YTYyNjRfN2U3ZF8yNzk1</RequestId>
<WorkflowExecution>
<WorkflowId>web6ac56c1ef54dbfa44d7f4103203be9</WorkflowId>
<Name>workflow-1</Name>
<RunId>i166ee19017b011eda8a5525400c540df</RunId>
<CreateTime>2022-08-09T14:54:17+08:00</CreateTime>
<Object>wk-test/game.mp4</Object>
<State>Running</State>
<Tasks>
<Type>Transcode</Type>
<CreateTime>2022-08-09T14:54:18+08:00</CreateTime>
<EndTime></EndTime>
<State>Running</State>
<JobId>j168668b217b011ed8efb27bb229e2d11</JobId>
<Name>Transcode_1581665960537</Name>
<TemplateId>t01e57db1c2d154d2fb57aa5de9313a897</TemplateId>
<TemplateName>MP4-265-SD</TemplateName>
</Tasks>
</WorkflowExecution>
</Response>
"""

# DescribeMediaWorkflowExecutions, the doc's sample response (doc 436/80048 copy): two items.
DOC_LIST = """<Response>
  <WorkflowExecutionList>
    <RunId>37145b2919714156bd97f91dc03fa2b4</RunId>
    <WorkflowId>we65e4d260e1042debdfb7e4560a19d3d</WorkflowId>
    <State>Success</State>
    <CreateTime>2019-07-07T12:12:12+0800</CreateTime>
    <Object>https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/mars_white_test.mp4</Object>
  </WorkflowExecutionList>
  <WorkflowExecutionList>
    <RunId>47145b2929714156bd97f91dc03fa2b5</RunId>
    <WorkflowId>we65e4d260e1042debdfb7e4560a19d3d</WorkflowId>
    <State>Success</State>
    <CreateTime>2019-07-07T12:12:12+0800</CreateTime>
    <Object>https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/_test.mp4</Object>
  </WorkflowExecutionList>
  <NextToken>e65e4d260e1042debdfb7e4560a19d3d</NextToken>
</Response>
"""

# The newer list doc's example, cut to ONE item (the one-element case), NextToken a number.
DOC_LIST_ONE = (
    "<Response><RequestId>NjJmMjEyMmFfZWM0YTYyNjRfN2U2NV8yNmI0</RequestId><WorkflowExecutionList>"
    "<RunId>i166ee19017b011eda8a5525400c540df</RunId><WorkflowId>web6ac56c1ef54dbfa44d7f4103203be9"
    "</WorkflowId><Object>wk-test/game.mp4</Object><CreateTime>2022-08-09T14:54:17+08:00</CreateTime>"
    "<State>Success</State></WorkflowExecutionList><NextToken>115716</NextToken></Response>"
)

# TriggerWorkflow (doc 436/54641). The doc's example closes with a second `<Response>` and ends the
# InstanceId with `=`, both evidently typos; corrected here.
DOC_TRIGGER = """<Response>
    <RequestId>NjA0MWExNGVfOTBmYTUwNjRfMzc0M****</RequestId>
    <InstanceId>i6fc78ca77d6011eba0ac5254008618d9</InstanceId>
</Response>
"""


def ci_error(
    code: str, message: str, status: int, *, request_id: str = "NTk0MjdmODlfMjQ4OGY3XzYzYzhf"
) -> httpx.Response:
    body = (
        f"<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{HOST}</Resource><RequestId>{request_id}</RequestId><TraceId>dHJhY2U=</TraceId></Error>"
    )
    return httpx.Response(
        status,
        content=body.encode(),
        headers={"Content-Type": "application/xml", "x-ci-request-id": request_id},
    )


def ci_xml(body: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": "application/xml"})


class SignedMock:
    """An httpx MockTransport handler that verifies the real COS signature before answering.

    `answer(request)` gives the response; `calls` keeps every verified request.
    """

    def __init__(
        self, answer: Callable[[httpx.Request], httpx.Response], *, secret: str = SECRET_KEY
    ) -> None:
        self.answer = answer
        self.credentials = {SECRET_ID: Credential(secret=secret)}
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        incoming = IncomingRequest(
            method=request.method,
            path=request.url.path,
            raw_query=request.url.query.decode("ascii"),
            headers=dict(request.headers),
            body=request.content,
        )
        try:
            verify_cos(incoming, self.credentials, now=time.time())
        except SignatureRejected as rejected:
            return ci_error(rejected.code, rejected.message, rejected.http_status)
        self.calls.append(request)
        return self.answer(request)


def connection_json(
    *,
    secret: str = SECRET_KEY,
    region: str | None = REGION,
    bucket: str | None = BUCKET,
    endpoint: str | None = None,
    **extra: Any,
) -> str:
    extras: dict[str, Any] = {
        k: v for k, v in (("region", region), ("bucket", bucket), ("endpoint", endpoint)) if v
    }
    extras.update(extra)
    return json.dumps({"conn_type": "tencentcloud", "login": SECRET_ID, "password": secret, "extra": extras})


def install_connection(
    monkeypatch: pytest.MonkeyPatch, conn_id: str = "tencentcloud_default", **kwargs: Any
) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(**kwargs))


# Every raw CI state and what it maps to (executions and their tasks share the table).
STATE_CASES = [
    ("Success", RunState.SUCCEEDED),
    ("Failed", RunState.FAILED),
    ("Cancel", RunState.CANCELLED),
    ("Running", RunState.RUNNING),
    ("Submitted", RunState.RUNNING),
    ("Pause", RunState.PAUSED),
]
