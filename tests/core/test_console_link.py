"""The extra link reads the console URL without an error line in the task log.

Airflow 3 asks each link for its URL at the end of every task process; a plain XCom lookup of a
URL the task never pushed logs "[error] XCom not found ... key='console_url'" even for a task
that succeeded.
"""

from __future__ import annotations

import os
import pathlib
import textwrap
from unittest import mock

import pytest

from airflow_provider_cloudflows.compat import AIRFLOW_MAJOR
from airflow_provider_cloudflows.links import base as links
from airflow_provider_cloudflows.links.wedata import WeDataWorkflowRunLink
from airflow_provider_cloudflows.xcom import CONSOLE_URL_XCOM_KEY, push_console_url


class _Ti:
    def __init__(self, task_id: str, map_index: int = -1, try_number: int = 1) -> None:
        self.dag_id, self.task_id, self.run_id = "d", task_id, "manual__1"
        self.map_index, self.try_number = map_index, try_number
        self.pushed: dict[str, str] = {}

    def xcom_push(self, key: str, value: str) -> None:
        self.pushed[key] = value


def test_a_url_pushed_in_this_process_is_read_without_an_xcom_lookup():
    ti = _Ti("pushed-here")
    push_console_url({"ti": ti}, "https://console.example/run/1")
    assert ti.pushed == {CONSOLE_URL_XCOM_KEY: "https://console.example/run/1"}
    with mock.patch.object(links, "XCom") as xcom:
        assert WeDataWorkflowRunLink().get_link(mock.Mock(), ti_key=ti) == "https://console.example/run/1"
    assert xcom.mock_calls == []
    # Another try of the same task instance pushed nothing in this process.
    with mock.patch.object(links, "XCom") as xcom:
        xcom.get_all.return_value = None
        xcom.get_value.return_value = None
        assert WeDataWorkflowRunLink().get_link(mock.Mock(), ti_key=_Ti("pushed-here", try_number=2)) == ""


@pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="Airflow 2 asks for links in the webserver")
def test_a_url_never_pushed_is_not_looked_up_with_get_value():
    with mock.patch.object(links, "XCom") as xcom:
        xcom.get_all.return_value = None
        assert WeDataWorkflowRunLink().get_link(mock.Mock(), ti_key=_Ti("never")) == ""
        xcom.get_value.assert_not_called()
        # Pushed by an earlier process of the task (before a deferral): the listing finds it.
        xcom.get_all.return_value = ["https://console.example/run/2"]
        assert WeDataWorkflowRunLink().get_link(mock.Mock(), ti_key=_Ti("earlier")) == (
            "https://console.example/run/2"
        )
        xcom.get_value.assert_not_called()
        xcom.get_value.return_value = "https://console.example/run/3"
        assert WeDataWorkflowRunLink().get_link(mock.Mock(), ti_key=_Ti("mapped", map_index=3)) == (
            "https://console.example/run/3"
        )


@pytest.mark.skipif(AIRFLOW_MAJOR >= 3, reason="Airflow 3 reads it in the task process")
def test_airflow_2_reads_the_xcom_in_the_webserver():
    with mock.patch.object(links, "XCom") as xcom:
        xcom.get_value.return_value = "https://console.example/run/4"
        assert WeDataWorkflowRunLink().get_link(mock.Mock(), ti_key=_Ti("web")) == (
            "https://console.example/run/4"
        )
        xcom.get_value.assert_called_once()


DAG_FILE = """
import pendulum
from airflow.providers.common.compat.sdk import DAG, BaseOperator
from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator
from airflow_provider_cloudflows.links.wedata import WeDataWorkflowRunLink
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor


class PushedByAnEarlierProcess(BaseOperator):
    # Pushes the URL the way a process before a deferral did: not through this process's memory.

    operator_extra_links = (WeDataWorkflowRunLink(),)

    def execute(self, context):
        context["ti"].xcom_push(key="console_url", value="https://console.example/earlier")


with DAG("console_link_log", schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False) as dag:
    WeDataStartWorkflowRunOperator(
        task_id="start_only",
        project_id="1460947878944567296",
        workflow_id="wf-1",
        wait_for_completion=False,
    )
    WeDataWorkflowRunSensor(
        task_id="wait_ok",
        project_id="1460947878944567296",
        execution_id="d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54",
        poke_interval=0.2,
        timeout=60,
    )
    PushedByAnEarlierProcess(task_id="pushed_earlier")
    WeDataWorkflowRunSensor(
        task_id="wait_unknown",
        project_id="1460947878944567296",
        execution_id="no-such-run",
        poke_interval=0.2,
        timeout=60,
    )
"""


def test_tasks_log_no_xcom_error_and_keep_their_link(airflow_db, cloudflows_emulator, monkeypatch, capfd):
    import importlib.util

    from airflow.utils.state import TaskInstanceState

    from airflow_provider_cloudflows.emulator.services.wedata import demo_runs

    cloudflows_emulator.control.script_runs(demo_runs())
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    dags = pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    target = dags / "console_link_log.py"
    target.write_text(textwrap.dedent(DAG_FILE))
    spec = importlib.util.spec_from_file_location("console_link_log_under_test", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    dag_run = module.dag.test()

    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {
        "start_only": TaskInstanceState.SUCCESS,
        "wait_ok": TaskInstanceState.SUCCESS,
        "pushed_earlier": TaskInstanceState.SUCCESS,
        "wait_unknown": TaskInstanceState.FAILED,
    }
    out, err = capfd.readouterr()
    assert "XCom not found" not in out + err
    if AIRFLOW_MAJOR >= 3:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            links_pushed = {
                row.task_id: row.value
                for row in session.query(XComModel).filter(
                    XComModel.dag_id == "console_link_log", XComModel.key == "_link_WeDataWorkflowRunLink"
                )
            }
        assert "d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54" in str(links_pushed["wait_ok"])
        assert links_pushed["start_only"] in ("", '""', None)
        assert "https://console.example/earlier" in str(links_pushed["pushed_earlier"])
