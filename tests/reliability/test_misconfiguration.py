"""A configuration mistake fails on the first poll; an outage is ridden out; timeouts say why.

Against servers on 127.0.0.1 (tests/unit/hostile_server.py, a TLS server with its own
certificate) and ports where nothing listens, through a real product hook.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from hostile_server import hostile_server, url
from test_network import _contexts

from airflow_provider_cloudflows.errors import (
    EndpointError,
    EndpointUnreachableError,
    ServiceUnavailableError,
)
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.wedata import WeDataHook

RETRIES = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)


def _connection(
    monkeypatch: pytest.MonkeyPatch,
    conn_id: str,
    *,
    login: str = "id",
    password: str = "key",
    **extra: object,
) -> None:
    """A `tencentcloud` connection in ap-guangzhou with these extras, as users set it in the environment."""
    conn = {
        "conn_type": "tencentcloud",
        "login": login,
        "password": password,
        "extra": {"region": "ap-guangzhou", **extra},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def _hook(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> WeDataHook:
    _connection(monkeypatch, "misconfigured")
    hook = WeDataHook("misconfigured", endpoint=endpoint, retry_policy=RETRIES)
    hook.attempts = []  # type: ignore[attr-defined]
    hook.sleep = lambda seconds: hook.attempts.append(seconds)  # type: ignore[attr-defined]
    return hook


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: connections are refused


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[int]:
    """A TLS server with a self-signed certificate that the system's CAs do not trust."""
    server_ctx, _ = _contexts(tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(4):  # bounded: at most four handshakes
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with server_ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.close()
    thread.join(5)


def test_an_unknown_scheme_fails_at_once_naming_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook(monkeypatch, "htp://127.0.0.1:9")
    with pytest.raises(EndpointError) as caught:
        hook.get_run("e-1", project_id="1")
    assert "htp://127.0.0.1:9/" in str(caught.value) and "https://" in str(caught.value)
    assert hook.attempts == []  # no retry


def test_https_to_a_plain_http_port_fails_at_once_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server("ok") as server:
        host_and_port = url(server).removeprefix("http://")
        hook = _hook(monkeypatch, host_and_port)  # no scheme: taken as https, as documented
        with pytest.raises(EndpointError) as caught:
            hook.get_run("e-1", project_id="1")
    message = str(caught.value)
    assert f"https://{host_and_port}/" in message and f"http://{host_and_port}" in message
    assert "does not speak TLS" in message and hook.attempts == []


@pytest.mark.asyncio
async def test_the_async_path_also_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server("ok") as server:
        hook = _hook(monkeypatch, url(server).removeprefix("http://"))
        with pytest.raises(EndpointError, match="does not speak TLS"):
            await hook.aget_run("e-1", project_id="1")


def test_an_untrusted_certificate_fails_at_once(monkeypatch: pytest.MonkeyPatch, tls_server: int) -> None:
    hook = _hook(monkeypatch, f"https://127.0.0.1:{tls_server}")
    with pytest.raises(EndpointError) as caught:
        hook.get_run("e-1", project_id="1")
    assert "could not be verified" in str(caught.value) and "ca_bundle" in str(caught.value)
    assert hook.attempts == []


def test_a_port_that_never_answered_fails_after_the_hooks_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    hook = _hook(monkeypatch, f"http://127.0.0.1:{port}")
    with pytest.raises(EndpointUnreachableError) as caught:
        hook.get_run("e-1", project_id="1")
    assert len(hook.attempts) == RETRIES.max_attempts - 1  # retried, then given up
    assert f"http://127.0.0.1:{port}/" in str(caught.value) and "connection refused" in str(caught.value)


def test_the_same_failure_after_an_answer_is_an_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server("ok") as server:
        endpoint = url(server)
        hook = _hook(monkeypatch, endpoint)
        assert hook.call(hook.request("GetTriggerWorkflowRun", {})) == {"RequestId": "r-1"}
    # The server is gone now; the endpoint answered during this task, so this is an outage.
    with pytest.raises(ServiceUnavailableError) as caught:
        hook.call(hook.request("GetTriggerWorkflowRun", {}))
    assert not isinstance(caught.value, EndpointUnreachableError) and caught.value.retryable


def test_an_unknown_host_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        socket.getaddrinfo("no-such-host.invalid", 80)
    except socket.gaierror as err:
        if err.errno not in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            pytest.skip(f"this machine's resolver answers .invalid with {err!r}, not 'unknown host'")
    else:
        pytest.skip("this machine's resolver resolves .invalid names")
    hook = _hook(monkeypatch, "http://no-such-host.invalid")
    with pytest.raises(EndpointUnreachableError, match="is not known"):
        hook.get_run("e-1", project_id="1")


def test_a_sensor_fails_on_the_first_poke_when_nothing_ever_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    from unittest import mock

    from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

    port = _closed_port()
    _connection(
        monkeypatch,
        "misconfigured",
        endpoint=f"http://127.0.0.1:{port}",
        retry_base_delay=0.001,
        retry_max_delay=0.01,
        retry_max_attempts=2,
    )
    sensor = WeDataWorkflowRunSensor(
        task_id="wait",
        project_id="1",
        execution_id="e-1",
        tencentcloud_conn_id="misconfigured",
        poke_interval=0.01,
        timeout=60,
    )
    started = time.monotonic()
    with pytest.raises(EndpointUnreachableError):
        sensor.poke({"ti": mock.MagicMock()})
    assert time.monotonic() - started < 10  # not the 60 s timeout


@pytest.mark.asyncio
async def test_a_trigger_rides_the_outage_out_and_its_timeout_names_the_last_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

    port = _closed_port()
    _connection(monkeypatch, "misconfigured", endpoint=f"http://127.0.0.1:{port}", retry_max_attempts=1)
    trigger = WorkflowRunTrigger(
        hook_class_path="airflow_provider_cloudflows.hooks.wedata.WeDataHook",
        conn_id="misconfigured",
        run_id="e-1",
        run_params={"project_id": "1"},
        poll_interval=0.2,
        deadline=time.time() + 1.0,
    )
    events = [event.payload async for event in trigger.run()]
    assert [e["status"] for e in events] == ["timeout"]
    assert "the last error:" in events[0]["message"] and "connection refused" in events[0]["message"]
    await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("extras", "named"),
    [
        ({"retry_max_attempts": 0}, "retry_max_attempts"),
        ({"retry_max_attempts": 1000}, "retry_max_attempts"),
        ({"retry_max_attempts": "lots"}, "retry_max_attempts"),
        ({"retry_base_delay": -1}, "retry_base_delay"),
        ({"retry_base_delay": "nan"}, "retry_base_delay"),
        ({"retry_max_delay": 1e308 * 10}, "retry_max_delay"),
        ({"retry_base_delay": 5, "retry_max_delay": 1}, "retry_base_delay"),
    ],
)
def test_retry_extras_out_of_range_are_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, extras: dict[str, object], named: str
) -> None:
    from airflow_provider_cloudflows.errors import InvalidRequestError

    _connection(monkeypatch, "tuned", **extras)
    with pytest.raises(InvalidRequestError) as caught:
        WeDataHook("tuned").retry_policy  # noqa: B018 - the property reads the extras
    assert f"'{named}'" in str(caught.value) and "'tuned'" in str(caught.value)


def test_credentials_lose_stray_whitespace_and_refuse_control_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_cloudflows.errors import InvalidRequestError

    token = "sts-token-0123456789"
    _connection(monkeypatch, "pasted", login=" id\n", password="key ", security_token=f"{token}\n")
    creds = WeDataHook("pasted").credentials
    assert (creds.key_id, creds.secret, creds.security_token) == ("id", "key", token)
    _connection(monkeypatch, "broken", security_token=f"sts-{token}\nX")
    with pytest.raises(InvalidRequestError) as caught:
        WeDataHook("broken").credentials  # noqa: B018
    assert "security_token" in str(caught.value) and token not in str(caught.value)


def test_an_illegal_header_value_never_repeats_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_cloudflows.errors import InvalidRequestError
    from airflow_provider_cloudflows.protocols.request import ApiRequest

    with hostile_server("ok") as server:
        hook = _hook(monkeypatch, url(server))
        secret = "tok\x0bken-value-123"
        request = ApiRequest(
            "POST", url(server) + "/", "Probe", headers={"X-TC-Token": secret}, content=b"{}"
        )
        with pytest.raises(InvalidRequestError) as caught:
            hook.call(request)
    assert "ken-value-123" not in str(caught.value) and "control character" in str(caught.value)
    assert hook.attempts == []


def test_plain_http_to_a_remote_host_is_warned_about_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hook = _hook(monkeypatch, "http://api.example.internal:8080")
    local = _hook(monkeypatch, "http://127.0.0.1:8790")
    with caplog.at_level("WARNING"):
        for _ in range(3):
            hook._signed_request(hook.request("GetTriggerWorkflowRun", {}))
            local._signed_request(local.request("GetTriggerWorkflowRun", {}))
    warnings = [r.getMessage() for r in caplog.records if "plain http://" in r.getMessage()]
    assert len(warnings) == 1 and "api.example.internal" in warnings[0]


@pytest.mark.asyncio
@pytest.mark.parametrize("form", ["path", "pem text"])
async def test_a_private_ca_from_the_connection_is_trusted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, form: str
) -> None:
    from test_network import TinyServer

    from airflow_provider_cloudflows.errors import InvalidResponseError

    server_ctx, _ = _contexts(tmp_path)
    tiny = TinyServer()  # answers "ok": not JSON, so a hook that got this far raises InvalidResponseError
    server = await asyncio.start_server(tiny.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    cert = tmp_path / "cert.pem"
    ca_bundle = str(cert) if form == "path" else cert.read_text()
    _connection(monkeypatch, "private", endpoint=f"https://127.0.0.1:{port}", ca_bundle=ca_bundle)
    try:
        hook = WeDataHook("private", retry_policy=RetryPolicy(max_attempts=1))
        with pytest.raises(InvalidResponseError):
            await hook.aget_run("e-1", project_id="1")
        with pytest.raises(InvalidResponseError):
            await asyncio.to_thread(hook.get_run, "e-1", project_id="1")
        untrusting = WeDataHook("private", retry_policy=RetryPolicy(max_attempts=1))
        untrusting.credentials.extras.pop("ca_bundle")
        with pytest.raises(EndpointError, match="could not be verified"):
            await untrusting.aget_run("e-1", project_id="1")
    finally:
        server.close()
    assert tiny.connections >= 2


def test_a_ca_bundle_that_cannot_be_read_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow_provider_cloudflows.errors import InvalidRequestError

    for value, says in (
        (str(tmp_path / "missing.pem"), "no file at"),
        ("-----BEGIN CERTIFICATE-----\nnot base64\n", "PEM"),
    ):
        _connection(monkeypatch, "private", ca_bundle=value)
        with pytest.raises(InvalidRequestError, match="'ca_bundle'") as caught:
            WeDataHook("private").transport  # noqa: B018 - building the pools reads the CA
        assert says in str(caught.value)
