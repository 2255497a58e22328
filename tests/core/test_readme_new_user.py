"""What the README tells a new user works as written: the emulator's ready-made connections, the
demo run ids (preloaded with --demo-runs), what each connection test calls, and how every start
operator waits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_cloudflows.products import CONNECTION_TYPES

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
README_EMULATOR_URL = "http://127.0.0.1:8790"


def section(title: str) -> str:
    """The README text from the `## title...` heading to the next `## ` heading."""
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 4)
    return README[start : end if end != -1 else None]


def readme_emulator_connections() -> dict[str, str]:
    return dict(re.findall(r"export (AIRFLOW_CONN_\w+)='(\{.*\})'", section("The emulator")))


def test_the_readme_gives_an_emulator_connection_for_every_connection_type():
    connections = readme_emulator_connections()
    types = {json.loads(value)["conn_type"] for value in connections.values()}
    assert types == set(CONNECTION_TYPES)
    for value in connections.values():
        assert json.loads(value)["extra"]["endpoint"] == README_EMULATOR_URL


@pytest.fixture(scope="module")
def demo_emulator() -> Iterator[object]:
    from airflow_provider_cloudflows.emulator.server import run_subprocess

    # What the README says to start, on a free port instead of 8790.
    with run_subprocess(demo_runs=True) as emulator:
        yield emulator


@pytest.fixture
def readme_connections(demo_emulator, monkeypatch):
    demo_emulator.control.clear_requests()
    for name, value in readme_emulator_connections().items():
        monkeypatch.setenv(name, value.replace(README_EMULATOR_URL, demo_emulator.url))
    return demo_emulator


def test_the_readme_run_ids_answer_from_an_emulator_started_with_demo_runs(readme_connections):
    from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
    from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
    from airflow_provider_cloudflows.hooks.ice import IceHook
    from airflow_provider_cloudflows.hooks.wedata import WeDataHook

    emulator = section("The emulator")
    wedata = WeDataHook().get_run("d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54", project_id="1460947878944567296")
    assert wedata.run_id == "d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54"
    assert "d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54" in emulator
    assert str(DataWorksHook().get_run(1001, with_task_runs=False).run_id) == "1001"
    assert "`1001`" in emulator
    assert IceHook().get_run("d0c0ffee000000000000000000000001").run_id == "d0c0ffee000000000000000000000001"
    assert "d0c0ffee000000000000000000000001" in emulator
    ci = CloudInfiniteHook().get_run("i166ee19017b011eda8a5525400c540df")
    assert ci.run_id == "i166ee19017b011eda8a5525400c540df"
    assert "i166ee19017b011eda8a5525400c540df" in section("Tencent Cloud Infinite")


def test_each_connection_test_calls_what_the_readme_says(readme_connections):
    from airflow_provider_cloudflows.connections.alibabacloud import AlibabaCloudHook
    from airflow_provider_cloudflows.hooks.ice import IceHook

    ice = section("Alibaba Cloud ICE")
    assert re.search(
        r"\*\*Test\*\* button \(`AlibabaCloudHook.test_connection`\)\s+asks STS `GetCallerIdentity`", ice
    )
    assert re.search(r"`IceHook.test_connection\(\)` calls ICE\s+`ListWorkflowTasks`", ice)
    assert "`IceHook.test_connection()`, which calls ICE `ListWorkflowTasks`" in section("Connections")

    control = readme_connections.control
    assert AlibabaCloudHook().test_connection()[0] is True
    assert [r["action"] for r in control.requests()] == ["GetCallerIdentity"]
    control.clear_requests()
    assert IceHook().test_connection()[0] is True
    assert [r["action"] for r in control.requests()] == ["ListWorkflowTasks"]


@pytest.mark.parametrize(
    "title",
    ["Alibaba Cloud ICE", "Alibaba Cloud DataWorks", "Tencent Cloud Infinite", "Tencent Cloud WeData"],
)
def test_every_product_section_says_how_its_start_operator_waits(title):
    text = " ".join(section(title).split())
    assert "waits" in text and "by default (`wait_for_completion=True`" in text
    assert "`poll_interval` seconds (default 10)" in text
    assert "`timeout` seconds (default 7 days)" in text
    assert "`deferrable=True` (default: `[operators] default_deferrable`" in text
