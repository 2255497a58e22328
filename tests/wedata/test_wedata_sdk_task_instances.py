"""WeData task instances against the emulator: the official SDK, the hook, the sensor in all modes."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, TaskDeferred

from airflow_provider_cloudflows.emulator.services.wedata import DEMO_PROJECT_ID, DEMO_WORKFLOW_ID
from airflow_provider_cloudflows.emulator.services.wedata_task_instance import task_instance_spec
from airflow_provider_cloudflows.errors import InvalidRequestError, NotFoundError
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.wedata import WeDataHook
from airflow_provider_cloudflows.hooks.wedata_task_instance import WeDataTaskInstanceHook
from airflow_provider_cloudflows.runs import RunState
from airflow_provider_cloudflows.sensors.wedata import WeDataTaskInstanceSensor

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
TASK_ID = "20240627201611119"
SCHEDULE = "2025-08-06 02:00:00"
KEY = f"{TASK_ID}_{SCHEDULE}"


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    return cloudflows_emulator


def script(emulator: Any, outcome: str = "COMPLETED", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("project_id", DEMO_PROJECT_ID)
    kwargs.setdefault("workflow_id", DEMO_WORKFLOW_ID)
    spec = task_instance_spec(
        kwargs.pop("task_id", TASK_ID), kwargs.pop("schedule", SCHEDULE), outcome, **kwargs
    )
    emulator.control.script_runs([spec])
    return spec


def hook() -> WeDataTaskInstanceHook:
    return WeDataTaskInstanceHook(retry_policy=FAST)


def sdk_client(emulator: Any, secret: str | None = None) -> Any:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.wedata.v20250806 import wedata_client

    profile = HttpProfile()
    profile.endpoint = emulator.url.removeprefix("http://")
    profile.scheme = "http"
    cred = credential.Credential(emulator.tencent_secret_id, secret or emulator.tencent_secret_key)
    return wedata_client.WedataClient(cred, "ap-guangzhou", ClientProfile(httpProfile=profile))


def context() -> dict[str, Any]:
    from unittest import mock

    ti = mock.MagicMock()
    ti.get_first_reschedule_date.return_value = None
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.max_tries, ti.try_number = "d", "wait", "r", -1, 0, 1
    return {"ti": ti}


def pushed(ctx: dict[str, Any]) -> dict[str, Any]:
    return {c.kwargs["key"]: c.kwargs["value"] for c in ctx["ti"].xcom_push.call_args_list}


# -- the official SDK is the referee ----------------------------------------------------------------


def test_sdk_get_task_instance_walks_the_scripted_states(emulator):
    from tencentcloud.wedata.v20250806 import models

    script(emulator, "EXPIRED")
    client = sdk_client(emulator)
    req = models.GetTaskInstanceRequest()
    req.ProjectId, req.InstanceKey, req.TimeZone = DEMO_PROJECT_ID, KEY, "UTC+8"
    seen = [client.GetTaskInstance(req).Data for _ in range(5)]
    assert [d.InstanceState for d in seen] == ["WAIT_RUN", "RUNNING", "FAILED_RETRY", "RUNNING", "EXPIRED"]
    final = seen[-1]
    assert (final.InstanceKey, final.TaskId, final.WorkflowId) == (KEY, TASK_ID, DEMO_WORKFLOW_ID)
    assert final.Tries == 1 and final.TotalRunNum == 2 and final.TryLimit == 3
    assert final.SchedulerTime == SCHEDULE and final.EndTime > final.StartTime
    assert "orders_tmp" in final.JobErrorMsg
    assert seen[2].JobErrorMsg is None  # a retrying instance shows no final error yet


def test_sdk_list_task_instances_filters_and_pages(emulator):
    from tencentcloud.wedata.v20250806 import models

    for hour in range(5):
        script(emulator, schedule=f"2025-08-06 0{hour}:00:00")
    script(emulator, task_id="99990000000000001", schedule="2025-08-06 02:00:00")
    client = sdk_client(emulator)
    req = models.ListTaskInstancesRequest()
    req.ProjectId, req.Keyword, req.PageSize = DEMO_PROJECT_ID, TASK_ID, 2
    req.ScheduleTimeFrom, req.ScheduleTimeTo = "2025-08-06 01:00:00", "2025-08-06 03:00:00"
    req.SortColumn, req.SortType = "SCHEDULE_DATE", "DESC"
    page = client.ListTaskInstances(req).Data
    assert (page.TotalCount, page.TotalPageNumber, page.PageSize) == (3, 2, 2)
    assert [i.SchedulerTime for i in page.Items] == ["2025-08-06 03:00:00", "2025-08-06 02:00:00"]
    req.PageNumber = 2
    assert [i.SchedulerTime for i in client.ListTaskInstances(req).Data.Items] == ["2025-08-06 01:00:00"]


def test_sdk_get_task_instance_log_pages_by_cursor(emulator):
    from tencentcloud.wedata.v20250806 import models

    text = "".join(f"[INFO] line {i:03d}\n" for i in range(100))
    script(emulator, log_text=text, log_page_chars=500, states=["RUNNING", "COMPLETED"])
    client = sdk_client(emulator)
    req = models.GetTaskInstanceLogRequest()
    req.ProjectId, req.InstanceKey, req.LifeRoundNum, req.LogLevel = DEMO_PROJECT_ID, KEY, 0, "All"
    pages = []
    while True:
        data = client.GetTaskInstanceLog(req).Data
        pages.append(data.LogInfo)
        if not data.NextCursor:
            break
        req.NextCursor = data.NextCursor
    assert "".join(pages) == text and len(pages) == 4


def test_sdk_errors(emulator):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.wedata.v20250806 import models

    script(emulator)
    req = models.GetTaskInstanceRequest()
    req.ProjectId, req.InstanceKey = "other-project", KEY
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_client(emulator).GetTaskInstance(req)
    assert exc.value.code == "ResourceNotFound"
    req.ProjectId = DEMO_PROJECT_ID
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_client(emulator, secret="wrong").GetTaskInstance(req)
    assert exc.value.code == "AuthFailure.SignatureFailure"
    listing = models.ListTaskInstancesRequest()
    listing.ProjectId, listing.PageSize = DEMO_PROJECT_ID, 101
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_client(emulator).ListTaskInstances(listing)
    assert exc.value.code == "InvalidParameterValue"


def test_task_instances_are_not_workflow_runs(emulator):
    script(emulator)
    with pytest.raises(NotFoundError):
        WeDataHook(retry_policy=FAST).get_run(KEY, project_id=DEMO_PROJECT_ID)
    assert list(WeDataHook(retry_policy=FAST).list_runs(DEMO_PROJECT_ID)) == []


# -- the hook against the emulator -----------------------------------------------------------------


def test_hook_reads_what_the_sdk_reads(emulator):
    script(emulator, states=["WAIT_UPSTREAM", "COMPLETED"])
    h = hook()
    first, second = h.get_run(KEY, project_id=DEMO_PROJECT_ID), h.get_run(KEY, project_id=DEMO_PROJECT_ID)
    assert (first.state, second.state) == (RunState.QUEUED, RunState.SUCCEEDED)
    assert second.run_id == KEY and second.detail["TaskId"] == TASK_ID
    assert [t.task_run_id for t in second.task_runs] == [KEY]
    assert "instanceKey=" in h.console_url(second)


def test_hook_finds_the_newest_instance_of_a_time_window(emulator, capsys, caplog):
    script(emulator, schedule="2025-08-06 01:00:00")
    script(emulator, schedule="2025-08-06 02:00:00")
    script(emulator, schedule="2025-08-06 05:00:00")
    caplog.set_level("INFO")
    found = hook().newest_task_instance(
        DEMO_PROJECT_ID, TASK_ID, "2025-08-06T00:00:00+08:00", schedule_time_to="2025-08-06 03:00:00"
    )
    assert found.run_id == f"{TASK_ID}_2025-08-06 02:00:00"
    logged = capsys.readouterr().out + caplog.text  # Airflow 3 logs through structlog to stdout
    assert (
        "2 task instances of task" in logged
        and "also matched: 20240627201611119_2025-08-06 01:00:00" in logged
    )
    # An aware datetime in another zone is the same moment in UTC+8.
    exact = hook().newest_task_instance(DEMO_PROJECT_ID, TASK_ID, "2025-08-05T18:00:00Z")
    assert exact.run_id == KEY
    assert hook().newest_task_instance(DEMO_PROJECT_ID, TASK_ID, "2025-08-07 02:00:00") is None


def test_hook_log_tail_is_bounded(emulator):
    text = "".join(f"[INFO] line {i:04d}\n" for i in range(1000))  # 17,000 bytes
    script(emulator, log_text=text, log_page_chars=1000, states=["RUNNING", "EXPIRED"])
    full = hook().get_task_instance_log(DEMO_PROJECT_ID, KEY)
    assert full == text
    tail = hook().get_task_instance_log(DEMO_PROJECT_ID, KEY, max_bytes=100)
    assert tail.endswith("[INFO] line 0999\n") and "first 16900 bytes are not shown" in tail
    short = hook().get_task_instance_log(DEMO_PROJECT_ID, KEY, max_pages=3)
    assert short.startswith("[reading stopped early: it read the maximum of 3 pages]\n")
    assert short.endswith(text[:3000]) and text[3000:4000] not in short
    assert len(emulator.control.requests(vendor="wedata", action="GetTaskInstanceLog")) == 17 + 17 + 3


def test_failed_task_logs_is_the_instances_own_log(emulator):
    script(emulator, "EXPIRED")
    h = hook()
    for _ in range(5):
        run = h.get_run(KEY, project_id=DEMO_PROJECT_ID)
    assert run.state is RunState.FAILED
    ((header, text),) = h.failed_task_logs(run, max_task_runs=5, max_bytes=65536)
    assert KEY in header and "EXPIRED" in header and "tries 1/3" in header
    assert "[ERROR] SQL execution failed" in text
    assert h.failed_task_logs(run, max_task_runs=0, max_bytes=65536) == []


# -- the sensor in all three modes ------------------------------------------------------------------


def sensor(**kwargs: Any) -> WeDataTaskInstanceSensor:
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("timeout", 30)
    kwargs.setdefault("project_id", DEMO_PROJECT_ID)
    return WeDataTaskInstanceSensor(task_id="wait", **kwargs)


def test_sensor_by_key_waits_through_a_retry_and_succeeds(emulator):
    script(emulator, "RETRY_COMPLETED")
    result = sensor(instance_key=KEY).execute(context())
    assert result["raw_state"] == "COMPLETED" and result["run_id"] == KEY
    states = [r for r in emulator.control.requests(vendor="wedata", action="GetTaskInstance")]
    assert len(states) == 5  # FAILED_RETRY did not end the wait


def test_sensor_by_key_fails_naming_the_instance_and_error(emulator):
    script(emulator, "EXPIRED")
    with pytest.raises(AirflowFailException) as exc:
        sensor(instance_key=KEY).execute(context())
    assert KEY in str(exc.value) and "'EXPIRED'" in str(exc.value) and "orders_tmp" in str(exc.value)


def test_sensor_by_task_waits_for_an_instance_that_does_not_exist_yet(emulator):
    s = sensor(
        wedata_task_id=TASK_ID, schedule_time="2025-08-06T02:00:00+08:00", workflow_id=DEMO_WORKFLOW_ID
    )
    ctx = context()
    assert s.poke(ctx).is_done is False  # not there yet: a wait, not an error
    assert "run_id" not in pushed(ctx)
    script(emulator, states=["RUNNING", "COMPLETED"])
    assert s.poke(ctx).is_done is False
    assert pushed(ctx)["run_id"] == KEY
    result = s.poke(ctx)
    assert result.is_done and result.xcom_value["run_id"] == KEY
    # Once found, the wait goes on by key: one listing per poke before, none after.
    assert len(emulator.control.requests(vendor="wedata", action="ListTaskInstances")) == 2


def test_sensor_by_task_times_out_when_no_instance_appears(emulator):
    s = sensor(wedata_task_id=TASK_ID, schedule_time=SCHEDULE, timeout=0.3, poke_interval=0.05)
    with pytest.raises(AirflowSensorTimeout):
        s.execute(context())


def test_sensor_reschedule_mode_by_task(emulator, request):
    from importlib.metadata import version

    if int(version("apache-airflow").split(".")[0]) < 3:  # Airflow 2 reads reschedules from the DB
        request.getfixturevalue("airflow_db")
    try:
        from airflow.sdk.exceptions import AirflowRescheduleException
    except ImportError:  # Airflow 2
        from airflow.exceptions import AirflowRescheduleException

    script(emulator, states=["RUNNING"])
    ctx = context()
    with pytest.raises(AirflowRescheduleException):
        sensor(wedata_task_id=TASK_ID, schedule_time=SCHEDULE, mode="reschedule", poke_interval=30).execute(
            ctx
        )
    assert pushed(ctx)["run_id"] == KEY


@pytest.mark.asyncio
async def test_deferred_sensor_by_task_looks_then_defers_to_the_shared_trigger(emulator):
    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

    s = sensor(wedata_task_id=TASK_ID, schedule_time=SCHEDULE, deferrable=True)
    ctx = context()
    with pytest.raises(TaskDeferred) as exc:
        s.execute(ctx)
    assert exc.value.method_name == "resume_looking"  # nothing yet: a timer, then look again
    deadline = exc.value.kwargs["deadline"]
    script(emulator, states=["WAIT_RUN", "RUNNING", "COMPLETED"])
    with pytest.raises(TaskDeferred) as exc:
        s.resume_looking(ctx, None, deadline=deadline)
    trigger = exc.value.trigger
    assert isinstance(trigger, WorkflowRunTrigger) and exc.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    assert kwargs["run_id"] == KEY and kwargs["deadline"] == deadline
    assert kwargs["hook_class_path"].endswith("wedata_task_instance.WeDataTaskInstanceHook")
    assert pushed(ctx)["run_id"] == KEY
    # A restarted triggerer rebuilds the trigger from its kwargs alone and waits on the same key.
    rebuilt = WorkflowRunTrigger(**kwargs)
    rebuilt.poll_interval = 0.01
    events = [event async for event in rebuilt.run()]
    assert [e.payload["status"] for e in events] == ["success"]
    assert s.execute_complete(ctx, events[0].payload)["raw_state"] == "COMPLETED"


def test_deferred_sensor_by_key_defers_at_once(emulator):
    script(emulator, states=["RUNNING"])
    with pytest.raises(TaskDeferred) as exc:
        sensor(instance_key=KEY, deferrable=True).execute(context())
    assert exc.value.trigger.serialize()[1]["run_params"] == {"project_id": DEMO_PROJECT_ID}


def test_a_key_that_renders_empty_is_a_clear_error(emulator):
    s = sensor(instance_key="{{ ti.xcom_pull('nothing') }}")
    s.run_id = ""
    with pytest.raises(InvalidRequestError, match="instance_key is empty"):
        s.poke(context())


# -- the get operator ---------------------------------------------------------------------------------


def test_get_operator_by_task_and_time_pushes_key_and_link(emulator):
    from airflow_provider_cloudflows.operators.wedata import WeDataGetTaskInstanceOperator

    script(emulator, states=["COMPLETED"])
    ctx = context()
    op = WeDataGetTaskInstanceOperator(
        task_id="get", project_id=DEMO_PROJECT_ID, wedata_task_id=TASK_ID, schedule_time=SCHEDULE
    )
    result = op.execute(ctx)
    assert result["run_id"] == KEY and result["raw_state"] == "COMPLETED"
    assert pushed(ctx)["run_id"] == KEY and "instanceKey=" in pushed(ctx)["console_url"]
    missing = WeDataGetTaskInstanceOperator(
        task_id="get2",
        project_id=DEMO_PROJECT_ID,
        wedata_task_id=TASK_ID,
        schedule_time="2025-08-07 02:00:00",
    )
    with pytest.raises(
        AirflowFailException, match=r"no .* task instance of task 20240627201611119 scheduled at"
    ):
        missing.execute(context())
