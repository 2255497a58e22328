"""The shared hook core with the in-memory fake vendor: retries, fail-fast, credentials, async parity."""

from __future__ import annotations

import httpx
import pytest
from fake_vendor import FakeHook

from airflow_provider_cloudflows.errors import (
    AuthError,
    InvalidResponseError,
    NotFoundError,
    ServiceUnavailableError,
)
from airflow_provider_cloudflows.runs import RunState


def test_get_run_reads_the_connection_once(fake):
    fake.runs["r1"] = ["RUN", "OK"]
    hook = FakeHook("fake_default")
    assert hook.get_run("r1").state is RunState.RUNNING
    creds = hook.credentials
    assert hook.get_run("r1").state is RunState.SUCCEEDED
    assert hook.credentials is creds


def test_retries_transient_faults_then_succeeds(fake):
    fake.runs["r1"] = ["OK"]
    fake.faults += [
        httpx.Response(503, json={"code": "ServiceUnavailable"}),
        httpx.ConnectError("refused"),
        httpx.Response(200, content=b'{"truncat'),
    ]
    run = FakeHook("fake_default").get_run("r1")
    assert run.state is RunState.SUCCEEDED
    assert len(fake.requests) == 4


def test_gives_up_after_the_retry_budget_with_the_last_error(fake):
    fake.runs["r1"] = ["OK"]
    fake.faults += [httpx.Response(502, json={})] * 10
    with pytest.raises(ServiceUnavailableError) as exc:
        FakeHook("fake_default").get_run("r1")
    assert len(fake.requests) == 4  # retry_max_attempts in the connection extras
    assert exc.value.run_id == "r1" and exc.value.http_status == 502


def test_persistent_garbage_is_an_invalid_response_error(fake):
    fake.runs["r1"] = ["OK"]
    fake.faults += [httpx.Response(200, content=b"<html>proxy error</html>")] * 10
    with pytest.raises(InvalidResponseError):
        FakeHook("fake_default").get_run("r1")


@pytest.mark.parametrize("password", ["wrong-secret"])
def test_auth_errors_fail_in_one_request(fake, monkeypatch, password):
    monkeypatch.setenv(
        "AIRFLOW_CONN_FAKE_BAD", f'{{"conn_type": "fake", "login": "k", "password": "{password}"}}'
    )
    with pytest.raises(AuthError) as exc:
        FakeHook("fake_bad").get_run("r1")
    assert len(fake.requests) == 1
    assert password not in str(exc.value) and password not in repr(exc.value)


def test_unknown_run_fails_in_one_request_naming_the_run(fake):
    with pytest.raises(NotFoundError) as exc:
        FakeHook("fake_default").get_run("nope")
    assert len(fake.requests) == 1
    assert "nope" in str(exc.value)


def test_non_idempotent_calls_are_not_retried_after_a_server_error(fake):
    fake.faults.append(httpx.Response(500, json={"code": "InternalError"}))
    with pytest.raises(ServiceUnavailableError):
        FakeHook("fake_default").start()
    assert len(fake.requests) == 1 and fake.started == []


def test_non_idempotent_calls_are_retried_when_the_server_never_saw_them(fake):
    fake.faults.append(httpx.ConnectError("refused"))
    assert FakeHook("fake_default").start() == "run-1"
    assert len(fake.requests) == 2


def test_missing_secret_is_a_clear_error(fake, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_FAKE_EMPTY", '{"conn_type": "fake", "login": "k"}')
    with pytest.raises(Exception, match="needs the key id as login and the secret as password"):
        FakeHook("fake_empty").get_run("r1")


def test_repr_and_credentials_never_show_the_secret(fake):
    hook = FakeHook("fake_default")
    fake.runs["r1"] = ["OK"]
    hook.get_run("r1")
    assert "good-secret" not in repr(hook)
    assert "good-secret" not in repr(hook.credentials)


@pytest.mark.asyncio
async def test_async_path_gives_the_same_run(fake):
    fake.runs["r1"] = ["OK"]
    fake.runs["r2"] = ["OK"]
    sync_run = FakeHook("fake_default").get_run("r1")
    fake.faults.append(httpx.Response(503, json={}))
    async_run = await FakeHook("fake_default").aget_run("r2")
    assert async_run.model_dump(exclude={"run_id", "detail"}) == sync_run.model_dump(
        exclude={"run_id", "detail"}
    )


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("wedata.ap-guangzhou.tencentcloudapi.com", "https://wedata.ap-guangzhou.tencentcloudapi.com"),
        ("http://127.0.0.1:8790/", "http://127.0.0.1:8790"),
        ("  ", None),
    ],
)
def test_endpoint_is_a_base_url(fake, endpoint, expected):
    assert FakeHook("fake_default", endpoint=endpoint).credentials.endpoint == expected
