"""IceHook against an in-process fake gateway that verifies every ACS3 signature for real."""

from __future__ import annotations

import copy
import json
from urllib.parse import parse_qsl

import httpx
import pytest
from ice_gateway import FAST, KEY_ID, SECRET, Gateway, Responder, conn_json, error, hook_with
from ice_payloads import SEED

from airflow_provider_cloudflows.emulator.verify import (
    Credential,
)
from airflow_provider_cloudflows.errors import (
    AuthError,
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)
from airflow_provider_cloudflows.hooks.ice import ICE_REGIONS, IceHook
from airflow_provider_cloudflows.runs import RunState


def ok_task(_req: httpx.Request, query: dict[str, str]) -> httpx.Response:
    body = copy.deepcopy(SEED)
    body["WorkflowTask"]["TaskId"] = query["TaskId"]
    return httpx.Response(200, json=body)


# -- hosts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ICE_REGIONS)
def test_every_listed_region_uses_its_regional_host(region: str) -> None:
    assert IceHook.protocol.region_hosts[region] == f"ice.{region}.aliyuncs.com"
    assert IceHook.protocol.default_host(region) == f"ice.{region}.aliyuncs.com"


def test_region_host_table_is_explicit() -> None:
    assert IceHook.protocol.region_hosts == {
        "cn-shanghai": "ice.cn-shanghai.aliyuncs.com",
        "cn-hangzhou": "ice.cn-hangzhou.aliyuncs.com",
        "cn-beijing": "ice.cn-beijing.aliyuncs.com",
        "cn-shenzhen": "ice.cn-shenzhen.aliyuncs.com",
        "cn-qingdao": "ice.cn-qingdao.aliyuncs.com",
        "cn-zhangjiakou": "ice.cn-zhangjiakou.aliyuncs.com",
        "cn-huhehaote": "ice.cn-huhehaote.aliyuncs.com",
        "cn-wulanchabu": "ice.cn-wulanchabu.aliyuncs.com",
        "cn-chengdu": "ice.cn-chengdu.aliyuncs.com",
        "cn-hongkong": "ice.cn-hongkong.aliyuncs.com",
        "ap-southeast-1": "ice.ap-southeast-1.aliyuncs.com",
        "ap-southeast-3": "ice.ap-southeast-3.aliyuncs.com",
        "ap-southeast-5": "ice.ap-southeast-5.aliyuncs.com",
        "ap-northeast-1": "ice.ap-northeast-1.aliyuncs.com",
        "ap-northeast-2": "ice.ap-northeast-2.aliyuncs.com",
        "ap-south-1": "ice.ap-south-1.aliyuncs.com",
        "eu-central-1": "ice.eu-central-1.aliyuncs.com",
        "eu-west-1": "ice.eu-west-1.aliyuncs.com",
        "us-east-1": "ice.us-east-1.aliyuncs.com",
        "us-west-1": "ice.us-west-1.aliyuncs.com",
        "me-east-1": "ice.me-east-1.aliyuncs.com",
    }


def base_url(hook: IceHook) -> str:
    return hook.protocol.base_url(hook.credentials)


def test_base_url_from_region_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", conn_json())
    assert base_url(IceHook()) == "https://ice.cn-shanghai.aliyuncs.com"
    assert base_url(IceHook(region="cn-beijing")) == "https://ice.cn-beijing.aliyuncs.com"
    assert base_url(IceHook(region="xx-new-1")) == "https://ice.xx-new-1.aliyuncs.com"
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", conn_json(endpoint="http://127.0.0.1:9/"))
    assert base_url(IceHook(region="cn-beijing")) == "http://127.0.0.1:9"
    assert base_url(IceHook(endpoint="https://ice-vpc.cn-beijing.aliyuncs.com")) == (
        "https://ice-vpc.cn-beijing.aliyuncs.com"
    )


def test_no_region_and_no_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT",
        json.dumps({"conn_type": "alibabacloud", "login": KEY_ID, "password": SECRET}),
    )
    with pytest.raises(InvalidRequestError, match="neither a region nor an endpoint"):
        base_url(IceHook())


# -- GetWorkflowTask -------------------------------------------------------------------------------


def test_get_run_sends_a_signed_post_with_task_id_in_the_query(connection: None) -> None:
    gateway = Gateway(ok_task)
    run = hook_with(gateway).get_run("t/1 +x")
    (request,) = gateway.requests
    assert request.method == "POST"
    assert request.url.host == "ice.cn-shanghai.aliyuncs.com" and request.url.path == "/"
    assert dict(parse_qsl(request.url.query.decode())) == {"TaskId": "t/1 +x"}
    assert request.url.query.decode() == "TaskId=t%2F1%20%2Bx"
    assert request.content == b""
    assert request.headers["x-acs-action"] == "GetWorkflowTask"
    assert request.headers["x-acs-version"] == "2020-11-09"
    assert request.headers["authorization"].startswith(f"ACS3-HMAC-SHA256 Credential={KEY_ID},")
    assert run.run_id == "t/1 +x" and run.state is RunState.SUCCEEDED
    assert [t.name for t in run.task_runs] == ["Transcode", "Snapshot"]


def test_wrong_secret_gives_auth_error_with_signature_does_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", conn_json(secret="not-the-secret"))
    gateway = Gateway(ok_task)
    with pytest.raises(AuthError) as info:
        hook_with(gateway).get_run("t-1")
    assert info.value.code == "SignatureDoesNotMatch" and info.value.http_status == 400
    assert len(gateway.requests) == 1  # never retried
    assert "not-the-secret" not in str(info.value)


def test_unknown_task_is_not_found_naming_the_task_and_the_one_year_limit(connection: None) -> None:
    gateway = Gateway(
        lambda _r, q: error(404, "InvalidTaskId.NotFound", f"The workflow task {q['TaskId']} does not exist.")
    )
    with pytest.raises(NotFoundError) as info:
        hook_with(gateway).get_run("missing-1")
    err = info.value
    assert err.run_id == "missing-1" and err.code == "InvalidTaskId.NotFound"
    assert "missing-1" in str(err) and "last year" in str(err)
    assert len(gateway.requests) == 1


def test_unknown_access_key_is_auth_error_without_the_one_year_note(connection: None) -> None:
    gateway = Gateway(ok_task)
    gateway.credentials = {"someone-else": Credential(secret=SECRET)}
    with pytest.raises(AuthError) as info:
        hook_with(gateway).get_run("t-1")
    assert info.value.code == "InvalidAccessKeyId.NotFound" and "last year" not in str(info.value)


def test_throttling_then_success(connection: None) -> None:
    calls = iter(
        [
            lambda r, q: error(400, "Throttling.User", "Request was denied due to user flow control."),
            lambda r, q: error(429, "Throttling", "slow down", headers={"x-acs-retry-after": "5"}),
            ok_task,
        ]
    )
    gateway = Gateway(lambda r, q: next(calls)(r, q))
    waits: list[float] = []
    hook = hook_with(gateway)
    hook.sleep = waits.append
    run = hook.get_run("t-2")
    assert run.run_id == "t-2" and len(gateway.requests) == 3 and len(waits) == 2
    # every attempt is signed afresh (new nonce)
    assert len({r.headers["x-acs-signature-nonce"] for r in gateway.requests}) == 3


def test_throttling_until_the_budget_ends_raises_throttled(connection: None) -> None:
    gateway = Gateway(lambda r, q: error(400, "Throttling.Api", "busy"))
    with pytest.raises(ThrottledError):
        hook_with(gateway).get_run("t-3")
    assert len(gateway.requests) == FAST.max_attempts


def test_server_errors_are_retried_for_reads(connection: None) -> None:
    answers = iter([error(503, "ServiceUnavailable", "down"), None])
    gateway = Gateway(lambda r, q: next(answers) or ok_task(r, q))
    assert hook_with(gateway).get_run("t-4").run_id == "t-4"
    assert len(gateway.requests) == 2


# -- StartWorkflow -------------------------------------------------------------------------------------


def test_start_run_sends_json_text_params_and_returns_task_id(connection: None) -> None:
    gateway = Gateway(lambda r, q: httpx.Response(200, json={"RequestId": "r", "TaskId": "new-task"}))
    task_id = hook_with(gateway).start_run(
        "wf-1",
        {"Type": "Media", "Media": "m-1"},
        {"NotifyAddress": "https://x/cb"},
        skip_input_verification=True,
    )
    assert task_id == "new-task"
    (request,) = gateway.requests
    assert request.headers["x-acs-action"] == "StartWorkflow"
    assert dict(parse_qsl(request.url.query.decode())) == {
        "WorkflowId": "wf-1",
        "TaskInput": '{"Type":"Media","Media":"m-1"}',
        "UserData": '{"NotifyAddress":"https://x/cb"}',
        "SkipInputVerification": "true",
    }


def test_start_run_passes_json_text_through_and_omits_absent_params(connection: None) -> None:
    gateway = Gateway(lambda r, q: httpx.Response(200, json={"RequestId": "r", "TaskId": "t"}))
    hook_with(gateway).start_run("wf-1", '{"Type":"OSS","Media":"oss://b/a.mp4"}')
    query = dict(parse_qsl(gateway.requests[0].url.query.decode()))
    assert query == {"WorkflowId": "wf-1", "TaskInput": '{"Type":"OSS","Media":"oss://b/a.mp4"}'}


def test_start_run_is_not_retried_after_a_server_error(connection: None) -> None:
    gateway = Gateway(lambda r, q: error(503, "ServiceUnavailable", "down"))
    with pytest.raises(ServiceUnavailableError):
        hook_with(gateway).start_run("wf-1", {"Type": "Media", "Media": "m"})
    assert len(gateway.requests) == 1


def test_start_run_is_retried_when_throttled(connection: None) -> None:
    answers = iter([error(400, "Throttling.User", "busy")])
    gateway = Gateway(
        lambda r, q: next(answers, None) or httpx.Response(200, json={"RequestId": "r", "TaskId": "t9"})
    )
    assert hook_with(gateway).start_run("wf-1", {"Type": "Media", "Media": "m"}) == "t9"
    assert len(gateway.requests) == 2


def test_user_data_over_512_bytes_is_refused_before_sending(connection: None) -> None:
    gateway = Gateway(ok_task)
    with pytest.raises(InvalidRequestError, match="512"):
        hook_with(gateway).start_run("wf-1", {"Type": "Media", "Media": "m"}, "é" * 257)
    assert gateway.requests == []


def test_empty_ids_are_refused(connection: None) -> None:
    gateway = Gateway(ok_task)
    with pytest.raises(InvalidRequestError):
        hook_with(gateway).get_run(" ")
    with pytest.raises(InvalidRequestError):
        hook_with(gateway).start_run("", {"Type": "Media", "Media": "m"})
    with pytest.raises(InvalidRequestError, match="project_id"):
        hook_with(gateway).get_run("t-1", project_id="p")
    assert gateway.requests == []


# -- ListWorkflowTasks --------------------------------------------------------------------------------


def paged(total: int) -> Responder:
    def respond(_r: httpx.Request, query: dict[str, str]) -> httpx.Response:
        size = int(query["MaxResults"])
        start = int(query.get("NextToken", "0"))
        items = []
        for i in range(start, min(start + size, total)):
            task = copy.deepcopy(SEED["WorkflowTask"])
            task["TaskId"] = f"task-{i}"
            items.append(task)
        body = {"RequestId": "r", "TaskList": items, "MaxResults": size, "TotalCount": total}
        if start + size < total:
            body["NextToken"] = str(start + size)
        return httpx.Response(200, json=body)

    return respond


def test_list_runs_follows_next_token(connection: None) -> None:
    gateway = Gateway(paged(7))
    runs = hook_with(gateway).list_runs("wf-1", max_results=3)
    assert [r.run_id for r in runs] == [f"task-{i}" for i in range(7)]
    queries = [dict(parse_qsl(r.url.query.decode())) for r in gateway.requests]
    assert [q.get("NextToken") for q in queries] == [None, "3", "6"]
    assert all(q["WorkflowId"] == "wf-1" and q["MaxResults"] == "3" for q in queries)
    assert all(r.headers["x-acs-action"] == "ListWorkflowTasks" for r in gateway.requests)


def test_list_runs_limit_and_filters(connection: None) -> None:
    from datetime import UTC, datetime

    gateway = Gateway(paged(250))
    runs = list(
        hook_with(gateway).list_runs(
            workflow_name="wf",
            key_text="cat",
            created_after=datetime(2025, 1, 1, 8, tzinfo=UTC),
            created_before="2025-01-02T08:00:00+08:00",
            limit=150,
        )
    )
    assert len(runs) == 150 and len(gateway.requests) == 2
    first = dict(parse_qsl(gateway.requests[0].url.query.decode()))
    assert first == {
        "WorkflowName": "wf",
        "KeyText": "cat",
        "StartOfCreateTime": "2025-01-01T08:00:00Z",
        "EndOfCreateTime": "2025-01-02T00:00:00Z",
        "MaxResults": "100",
    }


def test_list_runs_stops_on_a_repeated_token(connection: None) -> None:
    task = copy.deepcopy(SEED["WorkflowTask"])
    gateway = Gateway(
        lambda r, q: httpx.Response(200, json={"RequestId": "r", "TaskList": [task], "NextToken": "same"})
    )
    # The second page repeats the task: it is listed once, and the listing ends there.
    assert len(list(hook_with(gateway).list_runs())) == 1
    assert len(gateway.requests) == 2


@pytest.mark.parametrize("size", [0, 101])
def test_list_runs_page_size_is_checked(connection: None, size: int) -> None:
    with pytest.raises(InvalidRequestError):
        list(hook_with(Gateway(paged(1))).list_runs(max_results=size))


# -- console link, connection test -------------------------------------------------------------------


def test_console_url(connection: None) -> None:
    run = hook_with(Gateway(ok_task)).get_run("abc123")
    assert IceHook().console_url(run) == (
        "https://ims.console.aliyun.com/settings/workflow/task/list?taskId=abc123&regionId=cn-shanghai"
    )
    assert IceHook(region="cn-beijing").console_url_for("x y") == (
        "https://ims.console.aliyun.com/settings/workflow/task/list?taskId=x+y&regionId=cn-beijing"
    )


def test_test_connection(connection: None) -> None:
    gateway = Gateway(paged(4))
    ok, message = hook_with(gateway).test_connection()
    assert ok and "4 workflow tasks" in message
    assert gateway.requests[0].headers["x-acs-action"] == "ListWorkflowTasks"
    bad = Gateway(paged(4), secret="other")
    ok, message = hook_with(bad).test_connection()
    assert not ok and "SignatureDoesNotMatch" in message and SECRET not in message
