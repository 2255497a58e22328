"""WeData task instances without the emulator: models, the InstanceState table, request shapes, hostile logs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from wedata_support import PROJECT_ID, SignedMock, api3_body, install_connection

import airflow_provider_cloudflows.hooks.base as base_module
from airflow_provider_cloudflows.errors import InvalidRequestError, NotFoundError
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.wedata_task_instance import WeDataTaskInstanceHook, wedata_time_text
from airflow_provider_cloudflows.models.wedata_task_instance import (
    WEDATA_TASK_INSTANCE_STATES,
    TaskInstanceDetail,
    to_workflow_run,
)
from airflow_provider_cloudflows.runs import RunState

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from scripted_server import scripted_server

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
KEY = "20240627201611119_2025-03-20 00:00:00"
SDK_MODELS = Path(__import__("tencentcloud.wedata.v20250806.models", fromlist=["x"]).__file__)

# GetTaskInstance `Response` with every TaskInstanceDetail field the SDK lists.
DETAIL: dict[str, Any] = {
    "Data": {
        "ProjectId": PROJECT_ID,
        "InstanceKey": KEY,
        "FolderId": "f-1",
        "FolderName": "etl",
        "WorkflowId": "w-1",
        "WorkflowName": "orders_daily",
        "TaskId": "20240627201611119",
        "TaskName": "load_orders",
        "TaskTypeId": 34,
        "TaskType": "HiveSql",
        "CycleType": "DAY_CYCLE",
        "CurRunDate": "2025-03-20 00:00:00",
        "InstanceState": "EXPIRED",
        "InstanceType": 1,
        "OwnerUinList": ["100000000001"],
        "TotalRunNum": 3,
        "TryLimit": 3,
        "Tries": 2,
        "CostTime": 61000,
        "StartTime": "2025-03-20 00:01:00",
        "EndTime": "2025-03-20 00:02:01",
        "SchedulerTime": "2025-03-20 00:00:00",
        "LastUpdateTime": "2025-03-20 00:02:01",
        "ExecutorGroupId": "rg-1",
        "ExecutorGroupName": "default",
        "JobErrorMsg": "table orders_tmp not found",
    },
    "RequestId": "req-1",
}


def sdk_fields(class_name: str) -> set[str]:
    """The fields the official SDK model declares (its `self._X = None` lines)."""
    source = SDK_MODELS.read_text()
    body = source.split(f"\nclass {class_name}(AbstractModel):", 1)[1].split("\nclass ", 1)[0]
    return set(re.findall(r"self\._(\w+) = None", body))


# -- models and states -----------------------------------------------------------------------------


def test_models_know_every_sdk_field():
    from airflow_provider_cloudflows.models import wedata_task_instance as m

    for ours, theirs in [
        (m.TaskInstance, "TaskInstance"),
        (m.TaskInstanceDetail, "TaskInstanceDetail"),
        (m.TaskInstancePage, "TaskInstancePage"),
        (m.InstanceLog, "InstanceLog"),
    ]:
        assert set(ours.model_fields) == sdk_fields(theirs), ours


def test_every_documented_instance_state_is_mapped():
    source = SDK_MODELS.read_text()
    documented = set(re.findall(r"- ([A-Z_]+): ", source.split("class TaskInstanceDetail(", 1)[1][:6000]))
    assert (
        documented
        == {
            "WAIT_EVENT",
            "WAIT_UPSTREAM",
            "WAIT_RUN",
            "RUNNING",
            "SKIP_RUNNING",
            "FAILED_RETRY",
            "EXPIRED",
            "COMPLETED",
        }
        <= set(WEDATA_TASK_INSTANCE_STATES.table)
    )


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("WAIT_EVENT", RunState.QUEUED),
        ("WAIT_UPSTREAM", RunState.QUEUED),
        ("WAIT_RUN", RunState.QUEUED),
        ("RUNNING", RunState.RUNNING),
        ("FAILED_RETRY", RunState.RUNNING),
        ("EXPIRED", RunState.FAILED),
        ("COMPLETED", RunState.SUCCEEDED),
        ("SKIP_RUNNING", RunState.SUCCEEDED),
        ("KILL", RunState.CANCELLED),
        ("SOMETHING_NEW", RunState.UNKNOWN),
    ],
)
def test_instance_state_table(raw, state):
    assert WEDATA_TASK_INSTANCE_STATES(raw) is state
    assert (raw == "FAILED_RETRY") <= (not state.is_terminal)


def test_detail_becomes_a_run_that_is_its_own_task_run():
    run = to_workflow_run(DETAIL, instance_key=KEY, project_id=PROJECT_ID)
    assert (run.run_id, run.state, run.raw_state, run.name) == (
        KEY,
        RunState.FAILED,
        "EXPIRED",
        "load_orders",
    )
    assert run.error_message == "table orders_tmp not found"
    assert run.started_at.isoformat() == "2025-03-20T00:01:00+08:00"
    assert run.finished_at.isoformat() == "2025-03-20T00:02:01+08:00"
    (task,) = run.task_runs
    assert (task.task_run_id, task.state, task.detail["Tries"]) == (KEY, RunState.FAILED, 2)
    assert run.failed_task_runs() == [task]
    assert run.detail["RequestId"] == "req-1" and TaskInstanceDetail.model_validate(run.detail)


def test_an_empty_answer_is_not_found_naming_key_and_project():
    with pytest.raises(NotFoundError, match=re.escape(f"no task instance {KEY} in project {PROJECT_ID}")):
        to_workflow_run({"Data": None, "RequestId": "r"}, instance_key=KEY, project_id=PROJECT_ID)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("2025-08-06 02:00:00", "2025-08-06 02:00:00"),
        ("2025-08-05T18:00:00+00:00", "2025-08-06 02:00:00"),
        ("2025-08-05T18:00:00Z", "2025-08-06 02:00:00"),
        ("2025-08-06T02:00:00", "2025-08-06 02:00:00"),
    ],
)
def test_times_are_sent_in_utc_plus_8(given, sent):
    assert wedata_time_text(given) == sent


def test_a_time_that_is_no_time_names_what_was_given():
    with pytest.raises(InvalidRequestError, match="'yesterday' is not a time"):
        wedata_time_text("yesterday", "schedule_time")


# -- request shapes --------------------------------------------------------------------------------


def make_hook(answer: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[WeDataTaskInstanceHook, SignedMock]:
    install_connection(monkeypatch)
    mock = SignedMock(answer)
    transport = httpx.MockTransport(mock)
    hook = WeDataTaskInstanceHook(retry_policy=FAST)
    hook.__dict__["transport"] = lambda _url: transport
    monkeypatch.setattr(base_module, "shared_async_transport", lambda _url: transport)
    return hook, mock


def test_get_request_is_signed_and_shaped(monkeypatch):
    hook, mock = make_hook(lambda action, body: api3_body(DETAIL), monkeypatch)
    run = hook.get_run(KEY, project_id=PROJECT_ID)
    assert run.state is RunState.FAILED
    ((action, body, request),) = mock.calls
    assert action == "GetTaskInstance" and request.headers["X-TC-Version"] == "2025-08-06"
    assert body == {"ProjectId": PROJECT_ID, "InstanceKey": KEY, "TimeZone": "UTC+8"}


@pytest.mark.asyncio
async def test_sync_and_async_read_alike(monkeypatch):
    hook, _ = make_hook(lambda action, body: api3_body(DETAIL), monkeypatch)
    assert await hook.aget_run(KEY, project_id=PROJECT_ID) == hook.get_run(KEY, project_id=PROJECT_ID)


def test_list_asks_by_keyword_and_keeps_only_that_task(monkeypatch):
    items = [
        {"InstanceKey": "a", "TaskId": "123", "SchedulerTime": "2025-08-06 02:00:00"},
        {"InstanceKey": "b", "TaskId": "1234", "SchedulerTime": "2025-08-06 02:00:00"},  # fuzzy match
    ]
    pages = {1: items, 2: [{"InstanceKey": "c", "TaskId": "123"}]}

    def answer(action: str, body: dict[str, Any]) -> httpx.Response:
        page = pages[body["PageNumber"]]
        return api3_body({"Data": {"TotalCount": 3, "TotalPageNumber": 2, "Items": page}, "RequestId": "r"})

    hook, mock = make_hook(answer, monkeypatch)
    found = hook.list_task_instances(
        PROJECT_ID, task_id="123", workflow_id="w-1", schedule_time_from="2025-08-05T18:00:00Z"
    )
    assert [i.InstanceKey for i in found] == ["a", "c"]
    body = mock.calls[0][1]
    assert body["Keyword"] == "123" and body["WorkflowId"] == "w-1"
    assert body["ScheduleTimeFrom"] == "2025-08-06 02:00:00" and body["TimeZone"] == "UTC+8"
    assert (body["SortColumn"], body["SortType"], body["PageSize"]) == ("SCHEDULE_DATE", "DESC", 100)
    assert "TaskId" not in body  # ListTaskInstances has no such filter


def test_log_request_names_round_and_level(monkeypatch):
    def answer(action: str, body: dict[str, Any]) -> httpx.Response:
        return api3_body({"Data": {"LogInfo": "héllo\n", "NextCursor": None}, "RequestId": "r"})

    hook, mock = make_hook(answer, monkeypatch)
    assert hook.get_task_instance_log(PROJECT_ID, KEY, life_round_num=1, log_level="Error") == "héllo\n"
    assert mock.calls[0][1] == {
        "ProjectId": PROJECT_ID,
        "InstanceKey": KEY,
        "LifeRoundNum": 1,
        "LogLevel": "Error",
    }


def test_a_cut_inside_a_character_never_breaks_the_tail(monkeypatch):
    def answer(action: str, body: dict[str, Any]) -> httpx.Response:
        return api3_body({"Data": {"LogInfo": "日志" * 10, "NextCursor": None}, "RequestId": "r"})

    hook, _ = make_hook(answer, monkeypatch)
    text = hook.get_task_instance_log(PROJECT_ID, KEY, max_bytes=10)
    assert text.splitlines()[1] == "志日志" and "first 50 bytes are not shown" in text  # 9 of the 10 bytes


# -- hostile logs: a 127.0.0.1 server whose log never ends -------------------------------------------


def hostile_log(cursor_of: Any) -> Any:
    """A WeData that answers every GetTaskInstanceLog with 1,000 bytes and a next cursor."""
    served = {"pages": 0}

    def answer(seen: Any) -> tuple[int, bytes]:
        served["pages"] += 1
        body = json.loads(seen.body or b"{}")
        data = {"LogInfo": f"page {served['pages']:05d} " + "x" * 989, "NextCursor": cursor_of(body, served)}
        return 200, json.dumps({"Response": {"Data": data, "RequestId": "r"}}).encode()

    return answer, served


@pytest.mark.parametrize(
    ("cursor_of", "why", "pages"),
    [
        (lambda body, served: f"c{served['pages']}", "maximum of 20 pages", 20),  # a fresh cursor forever
        (lambda body, served: "same", "repeated the cursor", 2),
    ],
)
def test_a_log_that_never_ends_is_cut_at_the_page_cap(monkeypatch, cursor_of, why, pages):
    answer, served = hostile_log(cursor_of)
    with scripted_server(answer) as server:
        install_connection(monkeypatch, endpoint=server.url)
        hook = WeDataTaskInstanceHook(retry_policy=FAST)
        text = hook.get_task_instance_log(PROJECT_ID, KEY, max_pages=20, max_bytes=4096)
    assert served["pages"] == pages
    assert why in text.splitlines()[0]
    assert len(text.encode()) < 4096 + 200 and f"page {pages:05d}" in text


def test_pages_without_text_end_the_reading(monkeypatch):
    def answer(seen: Any) -> tuple[int, bytes]:
        return 200, json.dumps(
            {"Response": {"Data": {"LogInfo": "", "NextCursor": "more"}, "RequestId": "r"}}
        ).encode()

    with scripted_server(answer) as server:
        install_connection(monkeypatch, endpoint=server.url)
        text = WeDataTaskInstanceHook(retry_policy=FAST).get_task_instance_log(PROJECT_ID, KEY)
        assert len(server.seen) == 1
    assert "page 1 brought no text" in text
