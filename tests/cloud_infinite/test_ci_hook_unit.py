"""CloudInfiniteHook against a mock transport that verifies the real COS signature (no network)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from ci_support import (
    BUCKET,
    DOC_LIST,
    DOC_SINGLE,
    DOC_TRIGGER,
    HOST,
    SignedMock,
    ci_error,
    ci_xml,
    install_connection,
)

from airflow_provider_cloudflows.errors import (
    AuthError,
    ClockSkewError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)
from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook, format_ci_time
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.runs import RunState

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
WORKFLOW = "w5307ee7a60d6489383c3921c715dd1c5"


def make_hook(
    answer: Callable[[httpx.Request], httpx.Response], **kwargs
) -> tuple[CloudInfiniteHook, SignedMock]:
    mock = SignedMock(answer)
    hook = CloudInfiniteHook(retry_policy=FAST, **kwargs)
    transport = httpx.MockTransport(mock)
    hook.__dict__["transport"] = lambda _url: transport
    hook.sleep = lambda _s: None
    return hook, mock


@pytest.fixture
def conn(monkeypatch):
    install_connection(monkeypatch)


def test_class_attributes():
    assert CloudInfiniteHook.conn_type == "tencentcloud"
    assert CloudInfiniteHook.default_conn_name == "tencentcloud_default"
    assert CloudInfiniteHook.conn_name_attr == "tencentcloud_conn_id"


def test_list_request_matches_the_sdk_vector(conn):
    # vendor-apis.md §4.4 vector B: the SDK's exact URL for the same call.
    hook, mock = make_hook(
        lambda r: ci_xml(DOC_LIST.replace("e65e4d260e1042debdfb7e4560a19d3d</Next", "</Next"))
    )
    runs = list(hook.list_runs(WORKFLOW, states="All", size=10))
    assert len(runs) == 2
    (request,) = mock.calls
    assert str(request.url) == (
        f"https://{HOST}/workflowexecution?workflowId={WORKFLOW}&name=&orderByTime=Desc&states=All&size=10&nextToken="
    )
    auth = request.headers["Authorization"]
    assert "q-header-list=host&" in auth
    assert "q-url-param-list=name;nexttoken;orderbytime;size;states;workflowid&" in auth


def test_optional_list_params_sent_only_when_set(conn):
    hook, mock = make_hook(lambda r: ci_xml("<Response><NextToken/></Response>"))
    start = datetime(2019, 7, 7, 12, 12, 12, tzinfo=timezone(timedelta(hours=8)))
    list(
        hook.list_runs(
            WORKFLOW,
            states=["Success", "Failed"],
            name="in/a b+c.mp4",
            created_after=start,
            created_before="2019-07-08T00:00:00Z",
            job_id="b123",
            order_by_time="Asc",
        )
    )
    (request,) = mock.calls
    assert request.url.query.decode() == (
        f"workflowId={WORKFLOW}&name=in%2Fa%20b%2Bc.mp4&orderByTime=Asc&states=Success%2CFailed&size=100"
        "&nextToken=&startCreationTime=2019-07-07T12%3A12%3A12%2B0800"
        "&endCreationTime=2019-07-08T00%3A00%3A00%2B0000&jobId=b123"
    )


def test_format_ci_time():
    assert format_ci_time(datetime(2019, 7, 7, 4, 12, 12)) == "2019-07-07T04:12:12+0000"
    assert format_ci_time("2019-07-07T12:12:12+08:00") == "2019-07-07T12:12:12+0800"
    assert format_ci_time(None) is None
    with pytest.raises(InvalidRequestError):
        format_ci_time("yesterday")


def test_get_run_path_and_parse(conn):
    hook, mock = make_hook(lambda r: ci_xml(DOC_SINGLE))
    run = hook.get_run("37145b2919714156bd97f91dc03fa2b4")
    (request,) = mock.calls
    assert request.method == "GET"
    assert str(request.url) == f"https://{HOST}/workflowexecution/37145b2919714156bd97f91dc03fa2b4"
    assert run.state is RunState.SUCCEEDED and len(run.task_runs) == 3
    assert run.detail["BucketId"] == BUCKET


def test_bucket_per_call_overrides_connection(conn):
    hook, mock = make_hook(lambda r: ci_xml(DOC_SINGLE))
    run = hook.get_run("37145b2919714156bd97f91dc03fa2b4", bucket="other-1250000001")
    assert mock.calls[0].url.host == "other-1250000001.ci.ap-chongqing.myqcloud.com"
    assert run.detail["BucketId"] == "other-1250000001"


def test_endpoint_keeps_the_virtual_host_header(monkeypatch):
    install_connection(monkeypatch, endpoint="http://127.0.0.1:8790/")
    hook, mock = make_hook(lambda r: ci_xml(DOC_SINGLE))
    hook.get_run("37145b2919714156bd97f91dc03fa2b4")
    (request,) = mock.calls
    assert str(request.url) == "http://127.0.0.1:8790/workflowexecution/37145b2919714156bd97f91dc03fa2b4"
    assert request.headers["Host"] == HOST


def test_endpoint_template_with_bucket(monkeypatch):
    install_connection(monkeypatch, endpoint="https://{bucket}.ci.internal.example")
    hook, mock = make_hook(lambda r: ci_xml(DOC_SINGLE))
    hook.get_run("37145b2919714156bd97f91dc03fa2b4")
    assert mock.calls[0].headers["Host"] == f"{BUCKET}.ci.internal.example"


@pytest.mark.parametrize("bucket", [None, "NoAppId", "bad.host-123/x", "Upper-1250000000"])
def test_missing_or_malformed_bucket(monkeypatch, bucket):
    install_connection(monkeypatch, bucket=None)
    hook, mock = make_hook(lambda r: ci_xml(DOC_SINGLE))
    with pytest.raises(InvalidRequestError, match="bucket"):
        hook.get_run("r1", bucket=bucket)
    assert mock.calls == []


def test_missing_region(monkeypatch):
    install_connection(monkeypatch, region=None)
    hook, _ = make_hook(lambda r: ci_xml(DOC_SINGLE))
    with pytest.raises(InvalidRequestError, match="region"):
        hook.get_run("r1")


def test_bad_signature_is_auth_error_with_ci_code(monkeypatch):
    install_connection(monkeypatch, secret="not-the-secret")
    hook, mock = make_hook(lambda r: ci_xml(DOC_SINGLE))
    with pytest.raises(AuthError) as err:
        hook.get_run("r1")
    assert err.value.code == "SignatureDoesNotMatch"
    assert err.value.http_status == 403
    assert err.value.request_id
    assert "not-the-secret" not in str(err.value)
    assert mock.calls == []  # never answered: the signature check refused it


def test_unknown_run_is_not_found_naming_the_run(conn):
    hook, _ = make_hook(lambda r: ci_error("NoSuchResource", "The specified resource does not exist.", 404))
    with pytest.raises(NotFoundError) as err:
        hook.get_run("i0000")
    assert err.value.run_id == "i0000" and err.value.code == "NoSuchResource"
    assert "i0000" in str(err.value)


def test_request_time_too_skewed_is_clock_skew(conn):
    hook, _ = make_hook(lambda r: ci_error("RequestTimeTooSkewed", "The difference is too large.", 403))
    with pytest.raises(ClockSkewError) as err:
        hook.get_run("r1")
    assert err.value.code == "RequestTimeTooSkewed"
    assert "clock" in str(err.value)


def test_slowdown_then_success_is_retried(conn):
    answers = iter([ci_error("SlowDown", "Please reduce your request rate.", 503), ci_xml(DOC_SINGLE)])
    hook, mock = make_hook(lambda r: next(answers))
    assert hook.get_run("37145b2919714156bd97f91dc03fa2b4").state is RunState.SUCCEEDED
    assert len(mock.calls) == 2


def test_429_without_body_is_throttled_until_the_budget_ends(conn):
    hook, mock = make_hook(lambda r: httpx.Response(429, headers={"Retry-After": "0"}))
    with pytest.raises(ThrottledError) as err:
        hook.get_run("r1")
    assert err.value.retry_after == 0.0
    assert len(mock.calls) == FAST.max_attempts


def test_trigger_is_not_retried_on_a_server_error(conn):
    hook, mock = make_hook(lambda r: ci_error("InternalError", "We encountered an internal error.", 500))
    with pytest.raises(ServiceUnavailableError):
        hook.trigger(WORKFLOW, "in/a.mp4")
    assert len(mock.calls) == 1


def test_trigger_is_retried_when_throttled(conn):
    answers = iter([ci_error("SlowDown", "slow down", 503), ci_xml(DOC_TRIGGER)])
    hook, mock = make_hook(lambda r: next(answers))
    assert hook.trigger(WORKFLOW, "in/a b.mp4") == "i6fc78ca77d6011eba0ac5254008618d9"
    assert len(mock.calls) == 2
    request = mock.calls[-1]
    assert request.method == "POST"
    assert str(request.url) == f"https://{HOST}/triggerworkflow?workflowId={WORKFLOW}&object=in%2Fa%20b.mp4"


def test_malformed_xml_is_an_invalid_response(conn):
    hook, mock = make_hook(lambda r: ci_xml("<Response><WorkflowExecution></Response>"))
    with pytest.raises(InvalidResponseError):
        hook.get_run("r1")
    assert len(mock.calls) == FAST.max_attempts  # cut bodies are retried


def test_json_error_body_is_read_too(conn):
    hook, _ = make_hook(
        lambda r: httpx.Response(403, json={"Error": {"Code": "AccessDenied", "Message": "Access Denied."}})
    )
    with pytest.raises(AuthError) as err:
        hook.get_run("r1")
    assert err.value.code == "AccessDenied"


def _page(ids: list[str], token: str) -> httpx.Response:
    items = "".join(
        f"<WorkflowExecutionList><RunId>{i}</RunId><State>Success</State></WorkflowExecutionList>"
        for i in ids
    )
    return ci_xml(f"<Response>{items}<NextToken>{token}</NextToken></Response>")


def test_repeated_next_token_ends_the_listing_not_a_loop(conn, capsys, caplog):
    hook, mock = make_hook(lambda r: _page(["a", "b"], "same"))
    assert [r.run_id for r in hook.list_runs(WORKFLOW, size=2)] == ["a", "b"]
    assert len(mock.calls) == 2
    assert "stopped early" in capsys.readouterr().out + caplog.text


def test_limit_stops_early_and_shrinks_the_page(conn):
    hook, mock = make_hook(lambda r: _page(["a", "b", "c"], "next"))
    assert [r.run_id for r in hook.list_runs(WORKFLOW, limit=2)] == ["a", "b"]
    (request,) = mock.calls
    assert "size=2" in str(request.url)


def test_short_page_ends_the_listing_even_with_a_token(conn):
    hook, mock = make_hook(lambda r: _page(["a"], "next"))
    assert [r.run_id for r in hook.list_runs(WORKFLOW, size=5)] == ["a"]
    assert len(mock.calls) == 1


@pytest.mark.parametrize("kwargs", [{"size": 0}, {"size": 101}, {"order_by_time": "Newest"}, {"limit": 0}])
def test_invalid_list_arguments(conn, kwargs):
    hook, mock = make_hook(lambda r: _page([], ""))
    with pytest.raises(InvalidRequestError):
        list(hook.list_runs(WORKFLOW, **kwargs))
    assert mock.calls == []


def test_console_url(conn):
    hook, _ = make_hook(lambda r: ci_xml(DOC_SINGLE))
    run = hook.get_run("37145b2919714156bd97f91dc03fa2b4")
    assert hook.console_url(run) == (
        "https://console.cloud.tencent.com/ci/bucket?bucket=examplebucket-1250000000&region=ap-chongqing"
        "&type=workflow&workflowId=we65e4d260e1042debdfb7e4560a19d3d&runId=37145b2919714156bd97f91dc03fa2b4"
    )


def test_repr_and_errors_hide_the_secret(conn):
    hook, _ = make_hook(lambda r: ci_xml(DOC_SINGLE))
    hook.get_run("37145b2919714156bd97f91dc03fa2b4")
    assert "BQYIM75" not in repr(hook) + repr(hook.auth) + repr(hook.credentials)


def test_naive_start_is_utc():
    assert format_ci_time(datetime(2025, 1, 1, tzinfo=UTC)) == format_ci_time(datetime(2025, 1, 1))
