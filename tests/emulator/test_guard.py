"""The emulator stays a local test server: loopback only, a guarded control API, capped bodies,
and a CLI that can preload the runs the README and the example DAGs name."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_cloudflows.emulator.config import EmulatorConfig
from airflow_provider_cloudflows.emulator.control_client import EmulatorControl
from airflow_provider_cloudflows.emulator.guard import (
    MAX_REQUEST_BODY_BYTES,
    NonLoopbackBindError,
    check_bind_host,
)
from airflow_provider_cloudflows.emulator.server import EmulatorServer, bind_socket, run_subprocess

RUN = {"vendor": "wedata", "run_id": "r-guard", "states": ["RUNNING"]}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as emulator:
        yield emulator


@pytest.fixture
def url(server: EmulatorServer) -> str:
    server.control.reset()
    return server.url


# -- where it listens ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.invalid"])
def test_refuses_to_bind_beyond_loopback_unless_allowed(host: str) -> None:
    with pytest.raises(NonLoopbackBindError, match="--allow-non-loopback"):
        bind_socket(host, 0)
    with pytest.raises(NonLoopbackBindError):
        EmulatorServer(host=host).start(timeout=5)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    check_bind_host(host)


def test_allow_non_loopback_binds_everywhere() -> None:
    sock = bind_socket("0.0.0.0", 0, allow_non_loopback=True)
    try:
        assert sock.getsockname()[0] == "0.0.0.0"
    finally:
        sock.close()
    with EmulatorServer(EmulatorConfig(allow_non_loopback=True), host="0.0.0.0") as emulator:
        port = emulator.port
        assert httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=5).status_code == 200


def test_cli_refuses_a_non_loopback_host_with_the_flag_to_pass() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_cloudflows.emulator", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--allow-non-loopback" in result.stderr
    assert "listening on" not in result.stdout


# -- the control API ----------------------------------------------------------------------------


def test_control_api_refuses_a_foreign_host_header(url: str) -> None:
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, and the browser sends that name.
    for method, path, body in (("GET", "/runs", None), ("POST", "/runs", RUN), ("POST", "/reset", None)):
        response = httpx.request(
            method,
            f"{url}/_emulator{path}",
            json=body,
            headers={"Host": "attacker.example:8790", "Origin": "http://attacker.example:8790"},
            timeout=5,
        )
        assert response.status_code == 403, (method, path)
        assert "Host" in response.json()["detail"]
    assert EmulatorControl(url).runs() == []


@pytest.mark.parametrize("host", ["localhost", "app.localhost", "127.0.0.1", "[::1]", "10.1.2.3"])
def test_control_api_answers_loopback_names_and_ip_addresses(url: str, host: str) -> None:
    port = url.rsplit(":", 1)[1]
    response = httpx.get(f"{url}/_emulator/health", headers={"Host": f"{host}:{port}"}, timeout=5)
    assert response.status_code == 200


def test_control_api_answers_an_allowed_host_name() -> None:
    with EmulatorServer(EmulatorConfig(control_allowed_hosts=["emulator"])) as emulator:
        ok = httpx.get(f"{emulator.url}/_emulator/health", headers={"Host": "emulator:8790"}, timeout=5)
        other = httpx.get(f"{emulator.url}/_emulator/health", headers={"Host": "other:8790"}, timeout=5)
    assert ok.status_code == 200 and other.status_code == 403


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1"])
def test_control_api_refuses_cross_origin_requests(url: str, origin: str) -> None:
    response = httpx.post(f"{url}/_emulator/runs", json=RUN, headers={"Origin": origin}, timeout=5)
    assert response.status_code == 403
    assert httpx.get(f"{url}/_emulator/runs", headers={"Origin": origin}, timeout=5).status_code == 403
    assert EmulatorControl(url).runs() == []


def test_control_api_accepts_its_own_origin(url: str) -> None:
    response = httpx.post(f"{url}/_emulator/runs", json=RUN, headers={"Origin": url}, timeout=5)
    assert response.status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_control_api_writes_take_json_only(url: str, content_type: str | None) -> None:
    # A browser's "simple" cross-site request sends text/plain or a form: no preflight.
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(RUN).encode()
    response = httpx.post(f"{url}/_emulator/runs", content=body, headers=headers, timeout=5)
    assert response.status_code == 415
    put = httpx.put(
        f"{url}/_emulator/credentials", content=b'{"alibabacloud": {}}', headers=headers, timeout=5
    )
    assert put.status_code == 415
    assert EmulatorControl(url).runs() == []
    # A write without a body stays fine (the client's reset, deletes).
    assert httpx.post(f"{url}/_emulator/reset", timeout=5).status_code == 200


# -- body caps ------------------------------------------------------------------------------------


def test_control_and_vendor_bodies_are_capped(url: str) -> None:
    big = b'{"runs": [' + b" " * MAX_REQUEST_BODY_BYTES + b"]}"
    control = httpx.post(
        f"{url}/_emulator/runs", content=big, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert control.status_code == 413
    vendor = httpx.post(f"{url}/", content=b"x" * (MAX_REQUEST_BODY_BYTES + 1), timeout=10)
    assert vendor.status_code == 413


def test_a_body_without_content_length_is_capped_while_read(server: EmulatorServer) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        answer = b""
        try:
            for _ in range(MAX_REQUEST_BODY_BYTES // len(chunk) + 4):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass  # the server answered and closed while we were still sending
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]


def test_bodies_within_the_cap_are_served(url: str) -> None:
    specs = [{**RUN, "run_id": f"r-{i}", "fields": {"pad": "p" * 2000}} for i in range(600)]
    created = EmulatorControl(url).script_runs(specs)  # over 1 MiB in all: sent in batches
    assert len(created) == 600 and len(EmulatorControl(url).runs()) == 600


def test_the_cap_is_configurable() -> None:
    with EmulatorServer(EmulatorConfig(max_request_body_bytes=100)) as emulator:
        response = httpx.post(f"{emulator.url}/", content=b"x" * 101, timeout=5)
    assert response.status_code == 413


# -- demo runs ------------------------------------------------------------------------------------


def test_cli_preloads_the_demo_runs_the_readme_names() -> None:
    with run_subprocess(demo_runs=True) as emulator:
        runs = {(run["vendor"], run["run_id"]) for run in emulator.control.runs()}
        emulator.control.reset()  # a reset keeps them: they are part of the configured start
        after = {(run["vendor"], run["run_id"]) for run in emulator.control.runs()}
    for named in (
        ("dataworks", "1001"),
        ("wedata", "d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54"),
        ("ice", "d0c0ffee000000000000000000000001"),
    ):
        assert named in runs and named in after
    with run_subprocess() as plain:
        assert plain.control.runs() == []


def test_the_demo_script_preloads_the_same_runs() -> None:
    from cloudflows_demo.emulator import demo_emulator_config

    from airflow_provider_cloudflows.emulator.demo import demo_runs

    demo = demo_emulator_config()
    assert [(r.vendor, r.run_id) for r in demo.runs] == [(r["vendor"], r["run_id"]) for r in demo_runs()]
