"""WeDataHook against a mock transport that checks the real TC3 signature (no network)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from wedata_support import (
    EXECUTION_ID,
    PROJECT_ID,
    SignedMock,
    api3_body,
    api3_error,
    install_connection,
)

import airflow_provider_cloudflows.hooks.base as base_module
from airflow_provider_cloudflows.errors import (
    AuthError,
    ClockSkewError,
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.transport import MAX_CONCURRENT_REQUESTS
from airflow_provider_cloudflows.hooks.wedata import WeDataHook
from airflow_provider_cloudflows.runs import RunState

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


def make_hook(
    answer: Callable[[str, dict[str, Any]], httpx.Response], monkeypatch: pytest.MonkeyPatch, **kwargs: Any
) -> tuple[WeDataHook, SignedMock]:
    mock = SignedMock(answer)
    hook = WeDataHook(retry_policy=FAST, **kwargs)
    transport = httpx.MockTransport(mock)
    hook.__dict__["transport"] = lambda _url: transport
    monkeypatch.setattr(base_module, "shared_async_transport", lambda _url: transport)
    return hook, mock


def seed_answer(seed: dict[str, Any]) -> Callable[[str, dict[str, Any]], httpx.Response]:
    def answer(action: str, body: dict[str, Any]) -> httpx.Response:
        assert action == "GetTriggerWorkflowRun"
        return api3_body(seed)

    return answer


def test_class_attributes():
    assert WeDataHook.conn_type == "tencentcloud"
    assert WeDataHook.protocol.service == "wedata" and WeDataHook.protocol.api_version == "2025-08-06"
    assert WeDataHook.default_conn_name == "tencentcloud_default"


def test_get_run_request_is_signed_and_shaped(wedata_conn, seed_response, monkeypatch):
    hook, mock = make_hook(seed_answer(seed_response), monkeypatch)
    run = hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert run.state is RunState.FAILED and len(run.task_runs) == 3
    ((_action, body, request),) = mock.calls
    assert body == {"ProjectId": PROJECT_ID, "WorkflowExecutionId": EXECUTION_ID}
    assert str(request.url) == "https://wedata.tencentcloudapi.com/"
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-TC-Action"] == "GetTriggerWorkflowRun"
    assert request.headers["X-TC-Version"] == "2025-08-06"
    assert request.headers["X-TC-Region"] == "ap-guangzhou"
    assert "/wedata/tc3_request" in request.headers["Authorization"]


def test_default_host_without_endpoint(monkeypatch, seed_response):
    install_connection(monkeypatch, endpoint=None)
    hook, mock = make_hook(seed_answer(seed_response), monkeypatch)
    hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert mock.calls[0][2].url.host == "wedata.tencentcloudapi.com"


def test_endpoint_and_region_from_connection(monkeypatch, seed_response):
    install_connection(monkeypatch, endpoint="http://127.0.0.1:8790/", region="ap-shanghai")
    hook, mock = make_hook(seed_answer(seed_response), monkeypatch)
    hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    request = mock.calls[0][2]
    assert str(request.url) == "http://127.0.0.1:8790/"
    assert request.headers["X-TC-Region"] == "ap-shanghai"


def test_region_is_required(monkeypatch, seed_response):
    install_connection(monkeypatch, region=None)
    hook, mock = make_hook(seed_answer(seed_response), monkeypatch)
    with pytest.raises(InvalidRequestError, match="region"):
        hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert mock.calls == []


@pytest.mark.parametrize(
    ("execution_id", "project_id"), [(EXECUTION_ID, None), (EXECUTION_ID, ""), ("", "p")]
)
def test_identifiers_are_required(wedata_conn, seed_response, monkeypatch, execution_id, project_id):
    hook, mock = make_hook(seed_answer(seed_response), monkeypatch)
    with pytest.raises(InvalidRequestError):
        hook.get_run(execution_id, project_id=project_id)
    assert mock.calls == []


@pytest.mark.asyncio
async def test_sync_and_async_give_identical_runs(wedata_conn, seed_response, monkeypatch):
    hook, mock = make_hook(seed_answer(seed_response), monkeypatch)
    sync_run = hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    async_run = await WeDataHook(retry_policy=FAST).aget_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert async_run == sync_run
    assert len(mock.calls) == 2


def test_wrong_secret_is_auth_error_with_vendor_code(monkeypatch, seed_response):
    install_connection(monkeypatch, secret="not-the-secret")
    hook, _mock = make_hook(seed_answer(seed_response), monkeypatch)
    with pytest.raises(AuthError) as exc:
        hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert exc.value.code == "AuthFailure.SignatureFailure"
    assert "not-the-secret" not in str(exc.value)


@pytest.mark.parametrize(
    ("code", "error_class", "attempts"),
    [
        ("AuthFailure", AuthError, 1),
        ("AuthFailure.SecretIdNotFound", AuthError, 1),
        ("AuthFailure.SignatureExpire", ClockSkewError, 1),
        ("UnauthorizedOperation.UserNotInProject", AuthError, 1),
        ("RequestLimitExceeded", ThrottledError, 3),
        ("RequestLimitExceeded.UinLimitExceeded", ThrottledError, 3),
        ("RequestLimitExceeded.GlobalRegionUinLimitExceeded", ThrottledError, 3),
        ("ResourceNotFound", NotFoundError, 1),
        ("ResourceNotFound.ResultExpired", NotFoundError, 1),
        ("InvalidParameter", InvalidRequestError, 1),
        ("InvalidParameter.InvalidFilterParameter", InvalidRequestError, 1),
        ("MissingParameter", InvalidRequestError, 1),
        ("InternalError.UnknownError", ServiceUnavailableError, 3),
    ],
)
def test_error_codes_map_to_typed_errors(wedata_conn, monkeypatch, code, error_class, attempts):
    hook, mock = make_hook(lambda action, body: api3_error(code, f"{code} happened"), monkeypatch)
    with pytest.raises(error_class) as exc:
        hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert exc.value.code == code
    assert exc.value.request_id == "req-1"
    assert len(mock.calls) == attempts


def test_unknown_run_names_execution_id_and_project(wedata_conn, monkeypatch):
    hook, _ = make_hook(
        lambda action, body: api3_error("ResourceNotFound", "The resource does not exist."), monkeypatch
    )
    with pytest.raises(NotFoundError) as exc:
        hook.get_run("exec-missing", project_id="proj-42")
    assert "exec-missing" in str(exc.value) and "proj-42" in str(exc.value)
    assert exc.value.code == "ResourceNotFound"
    assert exc.value.run_id == "exec-missing"


@pytest.mark.asyncio
async def test_unknown_run_async_names_execution_id_and_project(wedata_conn, monkeypatch):
    hook, _ = make_hook(lambda action, body: api3_error("ResourceNotFound", "gone"), monkeypatch)
    with pytest.raises(NotFoundError, match=r"exec-missing.*proj-42"):
        await hook.aget_run("exec-missing", project_id="proj-42")


def test_throttled_then_success(wedata_conn, seed_response, monkeypatch):
    answers = iter([api3_error("RequestLimitExceeded", "slow down"), api3_body(seed_response)])
    hook, mock = make_hook(lambda action, body: next(answers), monkeypatch)
    run = hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert run.run_id == EXECUTION_ID
    assert len(mock.calls) == 2


def test_start_run_body_and_result(wedata_conn, monkeypatch):
    def answer(action: str, body: dict[str, Any]) -> httpx.Response:
        assert action == "CreateTriggerWorkflowRun"
        return api3_body({"Data": {"WorkflowExecutionId": "exec-new"}, "RequestId": "r"})

    hook, mock = make_hook(answer, monkeypatch)
    execution_id = hook.start_run(
        PROJECT_ID, "wf-1", params={"bizdate": "20250101", "limit": 5}, task_ids=["t1", "t2"]
    )
    assert execution_id == "exec-new"
    assert mock.calls[0][1] == {
        "ProjectId": PROJECT_ID,
        "WorkflowId": "wf-1",
        "AdvancedParams": [
            {"ParamKey": "bizdate", "ParamValue": "20250101"},
            {"ParamKey": "limit", "ParamValue": "5"},
        ],
        "TaskIds": ["t1", "t2"],
    }


def test_start_run_minimal_body(wedata_conn, monkeypatch):
    hook, mock = make_hook(
        lambda action, body: api3_body({"Data": {"WorkflowExecutionId": "e"}, "RequestId": "r"}), monkeypatch
    )
    assert hook.start_run(PROJECT_ID, "wf-1") == "e"
    assert mock.calls[0][1] == {"ProjectId": PROJECT_ID, "WorkflowId": "wf-1"}


def test_start_run_is_not_retried_after_the_vendor_may_have_acted(wedata_conn, monkeypatch):
    hook, mock = make_hook(lambda action, body: api3_error("InternalError", "boom"), monkeypatch)
    with pytest.raises(ServiceUnavailableError):
        hook.start_run(PROJECT_ID, "wf-1")
    assert len(mock.calls) == 1


def test_start_run_is_retried_when_throttled(wedata_conn, monkeypatch):
    answers = iter(
        [
            api3_error("RequestLimitExceeded"),
            api3_body({"Data": {"WorkflowExecutionId": "e2"}, "RequestId": "r"}),
        ]
    )
    hook, mock = make_hook(lambda action, body: next(answers), monkeypatch)
    assert hook.start_run(PROJECT_ID, "wf-1") == "e2"
    assert len(mock.calls) == 2


def test_start_run_without_execution_id_is_invalid_response(wedata_conn, monkeypatch):
    from airflow_provider_cloudflows.errors import InvalidResponseError

    hook, _ = make_hook(lambda action, body: api3_body({"Data": None, "RequestId": "r"}), monkeypatch)
    with pytest.raises(InvalidResponseError, match="WorkflowExecutionId"):
        hook.start_run(PROJECT_ID, "wf-1")


def test_stop_runs(wedata_conn, monkeypatch):
    def answer(action: str, body: dict[str, Any]) -> httpx.Response:
        assert action == "KillTriggerWorkflowRuns"
        items = [{"ItemId": e, "OpStatus": True} for e in body["WorkflowExecutionIdList"]]
        return api3_body({"Data": items, "RequestId": "r"})

    hook, mock = make_hook(answer, monkeypatch)
    results = hook.stop_runs(PROJECT_ID, "wf-1", ["e1", "e2"])
    assert [(r.ItemId, r.OpStatus) for r in results] == [("e1", True), ("e2", True)]
    assert mock.calls[0][1] == {
        "ProjectId": PROJECT_ID,
        "WorkflowId": "wf-1",
        "WorkflowExecutionIdList": ["e1", "e2"],
    }


def test_list_runs_follows_every_page(wedata_conn, monkeypatch):
    runs = [{"ExecutionId": f"e{i}", "ExecutionState": "SUCCESS"} for i in range(5)]

    def answer(action: str, body: dict[str, Any]) -> httpx.Response:
        assert action == "ListTriggerWorkflowRuns"
        size, number = body["PageSize"], body["PageNumber"]
        items = runs[(number - 1) * size : number * size]
        data = {"TotalCount": 5, "TotalPageNumber": 3, "PageNumber": number, "PageSize": size, "Items": items}
        return api3_body({"Data": data, "RequestId": "r"})

    hook, mock = make_hook(answer, monkeypatch)
    listed = hook.list_runs(PROJECT_ID, workflow_id="wf-1", page_size=2)
    assert [r.run_id for r in listed] == ["e0", "e1", "e2", "e3", "e4"]
    assert [c[1]["PageNumber"] for c in mock.calls] == [1, 2, 3]
    assert mock.calls[0][1]["Filters"] == [{"Name": "WorkflowId", "Values": ["wf-1"]}]


def test_console_url(wedata_conn, seed_response, monkeypatch):
    hook, _ = make_hook(seed_answer(seed_response), monkeypatch)
    run = hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    url = hook.console_url(run)
    assert url.startswith("https://console.cloud.tencent.com/wedata/")
    assert f"projectId={PROJECT_ID}" in url and f"executionId={EXECUTION_ID}" in url
    assert "region=ap-guangzhou" in url


def test_console_url_template_from_connection(monkeypatch, seed_response):
    install_connection(monkeypatch, console_url_template="https://example.test/{project_id}/{execution_id}")
    hook, _ = make_hook(seed_answer(seed_response), monkeypatch)
    run = hook.get_run(EXECUTION_ID, project_id=PROJECT_ID)
    assert hook.console_url(run) == f"https://example.test/{PROJECT_ID}/{EXECUTION_ID}"


def test_body_bytes_are_what_was_signed(wedata_conn, seed_response, monkeypatch):
    hook, mock = make_hook(seed_answer(seed_response), monkeypatch)
    hook.get_run("运行-1", project_id=PROJECT_ID)  # non-ASCII ids are sent as UTF-8 and still verify
    assert json.loads(mock.calls[0][2].content)["WorkflowExecutionId"] == "运行-1"


@pytest.mark.asyncio
async def test_a_hung_api_holds_up_only_its_own_polls(wedata_conn, seed_response, monkeypatch):
    """Each origin has its own request slots and pool: polls elsewhere go on while one API hangs."""
    hung = asyncio.Event()
    mock = SignedMock(seed_answer(seed_response))

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "hung.example":
            await hung.wait()  # never answers while the test runs
        return mock(request)

    transport = httpx.MockTransport(handler)
    monkeypatch.setattr(base_module, "shared_async_transport", lambda _url: transport)
    stuck_hook = WeDataHook(endpoint="https://hung.example", retry_policy=FAST)
    stuck = [
        asyncio.ensure_future(stuck_hook.aget_run(EXECUTION_ID, project_id=PROJECT_ID))
        for _ in range(MAX_CONCURRENT_REQUESTS + 4)
    ]
    await asyncio.sleep(0.05)  # every slot for hung.example is taken
    run = await asyncio.wait_for(
        WeDataHook(retry_policy=FAST).aget_run(EXECUTION_ID, project_id=PROJECT_ID), 5
    )
    assert run.run_id == EXECUTION_ID
    assert not any(task.done() for task in stuck)
    hung.set()
    await asyncio.gather(*stuck)
