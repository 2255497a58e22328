"""The provider inside a real Airflow 3, as users run it (one shared Airflow; see conftest.py).

1. The cross-cloud DAG under the scheduler, LocalExecutor and triggerer: every task succeeds,
   each wait really deferred to the triggerer, whose event loop was never blocked.
2. The api-server knows both connection types and their fields, and its connection test
   reaches the emulator: success with good keys, the vendor's error code with bad ones.
3. The connection forms in headless Chromium show the custom fields (screenshots kept).
4. The extra links of the finished run open the vendor consoles.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from cloudflows_demo import ROOT
from cloudflows_demo.report import DEFERRED_MESSAGE, blocked_loop_warnings
from live_airflow import FinishedRun, LiveAirflow

from airflow_provider_cloudflows.emulator import config as emulator_config

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# task -> (report step, extra link name, console URL prefix); each of them defers.
VENDOR_TASKS = {
    "run_wedata_workflow": ("wedata", "WeData Run", "https://console.cloud.tencent.com/wedata/"),
    "run_dataworks_instance": (
        "dataworks",
        "DataWorks Workflow Instance",
        "https://dataworks.data.aliyun.com/",
    ),
    "wait_ci_execution": (
        "cloud_infinite",
        "Cloud Infinite Workflow Execution",
        "https://console.cloud.tencent.com/ci/",
    ),
    "wait_ice_task": ("ice", "ICE Workflow Task", "https://ims.console.aliyun.com/"),
}


def _report_paths(live: LiveAirflow, run: FinishedRun) -> dict[str, Any]:
    """What the report task returned (its XCom, read through the REST API)."""
    entry = live.api.get(
        f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/write_report/xcomEntries/return_value",
        deserialize="true",
    )
    value = entry["value"]
    return json.loads(value) if isinstance(value, str) else value


def _report(live: LiveAirflow, run: FinishedRun) -> dict[str, Any]:
    return json.loads(Path(_report_paths(live, run)["json"]).read_text(encoding="utf-8"))


# -- 1. the cross-cloud DAG -------------------------------------------------------------------------


def test_cross_cloud_dag_succeeds_with_every_wait_deferred_to_the_triggerer(
    live_airflow: LiveAirflow, cross_cloud_run: FinishedRun
) -> None:
    states = {task_id: ti["state"] for task_id, ti in cross_cloud_run.task_instances.items()}
    where = f"(logs in {live_airflow.site.logs})"
    race = [
        line
        for line in live_airflow.log_of("scheduler").read_text(errors="replace").splitlines()
        if "but the task instance's state attribute is" in line
    ]
    assert cross_cloud_run.state == "success", (states, where, race)
    assert states == dict.fromkeys([*VENDOR_TASKS, "write_report"], "success"), (states, where, race)

    for task_id in VENDOR_TASKS:
        logs = live_airflow.site.task_logs(cross_cloud_run.dag_id, cross_cloud_run.run_id, task_id)
        trigger_logs = [p for p in logs if ".log.trigger." in p.name]
        assert trigger_logs, f"{task_id} never ran in the triggerer ({[p.name for p in logs]}) {where}"
        fired = live_airflow.trigger_log_lines(
            cross_cloud_run.dag_id, cross_cloud_run.run_id, task_id, "Trigger fired event"
        )
        assert fired, "\n".join(p.read_text(errors="replace") for p in trigger_logs)[-2000:]
        task_text = "\n".join(p.read_text(errors="replace") for p in logs if p not in trigger_logs)
        assert DEFERRED_MESSAGE in task_text

    assert "Starting the triggerer" in live_airflow.log_of("triggerer").read_text(errors="replace")
    assert blocked_loop_warnings(live_airflow.log_of("triggerer")) == [], where

    paths = _report_paths(live_airflow, cross_cloud_run)
    assert Path(paths["json"]).parent == Path(live_airflow.site.env["CLOUDFLOWS_REPORT_DIR"])
    report = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert report["dag_run_id"] == cross_cloud_run.run_id
    assert set(report["runs"]) == {"wedata", "dataworks", "cloud_infinite", "ice"}
    for step, run in report["runs"].items():
        assert run["state"] == "succeeded", (step, run["raw_state"])
        assert run["task_runs"], f"{step} has no task runs in the report"
        assert all(t["state"] == "succeeded" for t in run["task_runs"]), step
    markdown = Path(paths["markdown"]).read_text(encoding="utf-8")
    for run in report["runs"].values():
        assert str(run["run_id"]) in markdown


# -- 2. connection types in the api-server ------------------------------------------------------------

CONNECTIONS = {
    "alibabacloud": {
        "hook_name": "Alibaba Cloud",
        "login_title": "AccessKey ID",
        "extra_fields": {"region", "endpoint", "security_token"},
        "login": emulator_config.ALIBABA_DEMO_ACCESS_KEY_ID,
        "password": emulator_config.ALIBABA_DEMO_ACCESS_KEY_SECRET,
        "extra": {"region": "cn-shanghai"},
        "bad_secret_code": "SignatureDoesNotMatch",
    },
    "tencentcloud": {
        "hook_name": "Tencent Cloud",
        "login_title": "SecretId",
        "extra_fields": {"region", "endpoint", "bucket", "security_token"},
        "login": emulator_config.TENCENT_DEMO_SECRET_ID,
        "password": emulator_config.TENCENT_DEMO_SECRET_KEY,
        "extra": {"region": "ap-guangzhou", "bucket": "examplebucket-1250000000"},
        "bad_secret_code": "AuthFailure.SignatureFailure",
    },
}


@pytest.mark.parametrize("conn_type", sorted(CONNECTIONS))
def test_api_server_lists_creates_and_tests_the_connection_type(
    live_airflow: LiveAirflow, conn_type: str
) -> None:
    expected = CONNECTIONS[conn_type]
    api = live_airflow.api

    meta = {item["connection_type"]: item for item in api.get("/ui/connections/hook_meta")}
    assert conn_type in meta, sorted(meta)
    item = meta[conn_type]
    assert item["hook_name"] == expected["hook_name"]
    assert item["standard_fields"]["login"]["title"] == expected["login_title"]
    assert item["standard_fields"]["host"]["hidden"] is True
    assert set(item["extra_fields"]) == expected["extra_fields"]
    assert item["extra_fields"]["security_token"]["schema"]["format"] == "password"

    connection_id = f"e2e_{conn_type}"
    body = {
        "connection_id": connection_id,
        "conn_type": conn_type,
        "login": expected["login"],
        "password": expected["password"],
        "extra": json.dumps({**expected["extra"], "endpoint": live_airflow.emulator_url}),
    }
    created = api.post("/api/v2/connections", body)
    try:
        assert created["conn_type"] == conn_type
        stored = api.get(f"/api/v2/connections/{connection_id}")
        assert json.loads(stored["extra"])["endpoint"] == live_airflow.emulator_url

        good = api.post("/api/v2/connections/test", body)
        assert good["status"] is True, good["message"]
        assert good["message"].startswith("Connected to"), good["message"]

        wrong_secret = "e2e-wrong-secret-123"
        bad = api.post("/api/v2/connections/test", {**body, "password": wrong_secret})
        assert bad["status"] is False
        assert expected["bad_secret_code"] in bad["message"]
        assert wrong_secret not in bad["message"]
    finally:
        api.http.delete(f"/api/v2/connections/{connection_id}").raise_for_status()


# -- 3. the connection forms in a browser -----------------------------------------------------------------

FORMS = {
    "alibabacloud": (
        "Alibaba Cloud",
        ["Region", "Endpoint", "STS security token"],
        {"region": "cn-shanghai"},
    ),
    "tencentcloud": (
        "Tencent Cloud",
        ["Region", "Endpoint", "STS security token", "Cloud Infinite bucket"],
        {"region": "ap-guangzhou", "bucket": "examplebucket-1250000000"},
    ),
}


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/ensure_chromium.sh installs it)"
)
def test_connection_forms_show_the_custom_fields_in_the_browser(live_airflow: LiveAirflow) -> None:
    from playwright.sync_api import expect, sync_playwright

    out_dir = ROOT / "test-output"
    out_dir.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            for conn_type, (label, fields, values) in FORMS.items():
                page = browser.new_page(viewport={"width": 1280, "height": 1400})
                page.goto(f"{live_airflow.url}/connections", wait_until="networkidle")
                page.get_by_role("button", name="Add Connection").click()
                dialog = page.get_by_role("dialog")
                dialog.locator("input[name=connection_id]").fill(f"{conn_type}_default")
                combo = dialog.get_by_role("combobox")
                combo.click()
                combo.fill(label)
                page.get_by_role("option", name=label, exact=True).click()
                dialog.get_by_role("button", name="Extra Fields", exact=True).click()
                for field in fields:
                    expect(dialog.get_by_text(field, exact=True)).to_be_visible()
                expect(dialog.locator("input[name='element_security_token']")).to_have_attribute(
                    "type", "password"
                )
                # Example values (no secrets) so the screenshot shows a filled-in form.
                values = {**values, "endpoint": "http://127.0.0.1:8790"}
                for name, value in values.items():
                    field_input = dialog.locator(f"input[name='element_{name}']")
                    field_input.fill(value)
                    field_input.blur()
                shot = out_dir / f"connection-{conn_type}.png"
                dialog.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
                docs_images = ROOT / "docs" / "images"
                docs_images.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, docs_images / shot.name)
                page.close()
        finally:
            browser.close()


# -- 4. extra links ------------------------------------------------------------------------------------------


def test_extra_links_of_the_finished_run_open_the_vendor_consoles(
    live_airflow: LiveAirflow, cross_cloud_run: FinishedRun
) -> None:
    report = _report(live_airflow, cross_cloud_run)
    base = f"/api/v2/dags/{cross_cloud_run.dag_id}/dagRuns/{cross_cloud_run.run_id}/taskInstances"
    problems = []
    for task_id, (step, link_name, prefix) in VENDOR_TASKS.items():
        links = live_airflow.api.get(f"{base}/{task_id}/links")["extra_links"]
        url = links.get(link_name)
        run_id = str(report["runs"][step]["run_id"])
        if not url or not url.startswith(prefix) or run_id not in unquote(url):
            problems.append(f"{task_id}: {link_name!r} -> {url!r} (want {prefix}... naming {run_id})")
    assert not problems, "\n".join(problems)
