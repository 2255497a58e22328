"""The pytest fixtures (as a user's test session gets them), the CLI and the child-process helper."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from airflow_provider_cloudflows.emulator.config import EmulatorConfig
from airflow_provider_cloudflows.emulator.server import run_subprocess

USER_TESTS = """
import json

import httpx


def test_scripts_a_run(cloudflows_emulator):
    emulator = cloudflows_emulator
    assert emulator.url.startswith("http://127.0.0.1:")
    emulator.control.script_run("wedata", "r1", ["PENDING", "SUCCESS"])
    assert emulator.control.get_run("wedata", "r1")["state"] == "PENDING"
    httpx.get(emulator.url + "/no/such/api")
    assert len(emulator.control.requests()) == 1


def test_each_test_starts_clean(cloudflows_emulator):
    assert cloudflows_emulator.control.runs() == []
    assert cloudflows_emulator.control.requests() == []


def test_connections_point_at_the_emulator(cloudflows_emulator, cloudflows_emulator_server):
    assert cloudflows_emulator.url == cloudflows_emulator_server.url
    tencent = json.loads(cloudflows_emulator.tencentcloud_connection_json(region="ap-shanghai"))
    assert tencent["conn_type"] == "tencentcloud"
    assert tencent["login"] == "AKIDCloudflowsEmulator0123456789"
    assert tencent["extra"] == {"region": "ap-shanghai", "endpoint": cloudflows_emulator.url}
    alibaba = json.loads(cloudflows_emulator.alibabacloud_connection_json(bucket="ignored"))
    assert alibaba["conn_type"] == "alibabacloud" and alibaba["extra"]["bucket"] == "ignored"
    assert cloudflows_emulator.tencent_secret_key not in repr(cloudflows_emulator)
    assert cloudflows_emulator.alibaba_access_key_secret not in repr(cloudflows_emulator)
"""


def _run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(directory), *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_pytest_plugin_gives_user_tests_a_fresh_emulator_each(tmp_path: Path) -> None:
    (tmp_path / "test_user_dag.py").write_text(USER_TESTS)
    result = _run_pytest(tmp_path, "test_user_dag.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_plugin_can_reuse_an_external_emulator(tmp_path: Path) -> None:
    (tmp_path / "test_external.py").write_text(
        textwrap.dedent(
            """
            import os

            def test_uses_it(cloudflows_emulator):
                assert cloudflows_emulator.url == os.environ["CLOUDFLOWS_EMULATOR_URL"]
                assert cloudflows_emulator.control.get_run("ice", "pre")["state"] == "Init"
            """
        )
    )
    config = EmulatorConfig.model_validate(
        {"runs": [{"vendor": "ice", "run_id": "pre", "states": ["Init", "Succeed"]}]}
    )
    with run_subprocess(config) as emulator:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**__import__("os").environ, "CLOUDFLOWS_EMULATOR_URL": emulator.url},
        )
    assert result.returncode == 0, result.stdout + result.stderr


def test_run_subprocess_serves_the_config_and_stops(tmp_path: Path) -> None:
    config = EmulatorConfig.model_validate(
        {
            "runs": [
                {"vendor": "dataworks", "run_id": "42", "states": ["NotRun", "Success"], "fields": {"P": 1}}
            ],
            "faults": {"rate": 0.25, "kinds": ["http500"]},
            "tencentcloud": {"AKIDOnlyThisOne": {"secret": "s"}},
        }
    )
    emulator = run_subprocess(config, seed=9)
    try:
        assert emulator.url.startswith("http://127.0.0.1:")
        assert emulator.control.get_run("dataworks", "42")["fields"] == {"P": 1}
        health = emulator.control.health()
        assert health["faults"]["seed"] == 9 and health["faults"]["rate"] == 0.25
        keys = emulator.control.set_credentials()
        assert keys["tencentcloud"] == ["AKIDOnlyThisOne"]
        assert "http://127.0.0.1:" in repr(emulator)
    finally:
        emulator.stop()
    assert emulator.process.returncode is not None
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{emulator.url}/_emulator/health", timeout=2)


def test_cli_reads_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    path.write_text(json.dumps({"runs": [{"vendor": "wedata", "run_id": "w", "states": ["RUNNING"]}]}))
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cloudflows.emulator", "--port", "0", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("cloudflows emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        for _ in range(100):
            try:
                response = httpx.get(f"{url}/_emulator/runs/wedata/w", timeout=2)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.05)
        assert response.json()["state"] == "RUNNING"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    # The banner lists key ids only, never a secret.
    assert "LTAI5tCloudflowsEmulator" in stderr and "emulator-alibaba-secret" not in stderr


def test_cli_help_and_bad_config(tmp_path: Path) -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "airflow_provider_cloudflows.emulator", "--help"],
        capture_output=True,
        text=True,
    )
    assert help_text.returncode == 0 and "--config" in help_text.stdout and "--seed" in help_text.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"faults": {"rate": 2}}))
    failed = subprocess.run(
        [sys.executable, "-m", "airflow_provider_cloudflows.emulator", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode != 0 and "rate" in failed.stderr


def test_the_emulator_never_imports_airflow() -> None:
    code = textwrap.dedent(
        """
        import sys
        import airflow_provider_cloudflows.emulator as emulator
        from airflow_provider_cloudflows.emulator import pytest_plugin
        assert "starlette" not in sys.modules, "the package import must stay light"
        from airflow_provider_cloudflows.emulator.app import create_app
        app = create_app()  # every vendor service module present
        emulator.EmulatorControl, emulator.EmulatorServer, emulator.run_subprocess
        leaked = sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow."))
        assert not leaked, leaked
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
