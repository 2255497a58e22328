"""WeData against the local emulator: the hook, the official SDK, errors, throttling, start/stop, lists."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_cloudflows.emulator.services.wedata import DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, run_spec
from airflow_provider_cloudflows.errors import AuthError, InvalidRequestError, NotFoundError, ThrottledError
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.wedata import WeDataHook
from airflow_provider_cloudflows.runs import RunState

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
RUN_ID = "d0bf2249-3eb2-4ccf-9646-5de0a4b8cf54"


@pytest.fixture
def emulator(cloudflows_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    return cloudflows_emulator


def script(emulator: Any, execution_id: str = RUN_ID, outcome: str = "SUCCESS", **kwargs: Any) -> None:
    emulator.control.script_runs([run_spec(execution_id, outcome, **kwargs)])


def hook() -> WeDataHook:
    return WeDataHook(retry_policy=FAST)


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


def sdk_get(client: Any, execution_id: str, project_id: str = DEMO_PROJECT_ID) -> Any:
    from tencentcloud.wedata.v20250806 import models

    req = models.GetTriggerWorkflowRunRequest()
    req.ProjectId = project_id
    req.WorkflowExecutionId = execution_id
    return client.GetTriggerWorkflowRun(req)


# -- reading ----------------------------------------------------------------------------------------


def test_scripted_run_progresses_per_poll(emulator):
    script(emulator)
    h = hook()
    seen = [h.get_run(RUN_ID, project_id=DEMO_PROJECT_ID) for _ in range(5)]
    assert [r.raw_state for r in seen] == ["PENDING", "RUNNING", "RUNNING", "RUNNING", "SUCCESS"]
    assert [r.state for r in seen][-1] is RunState.SUCCEEDED
    final = seen[-1]
    assert [t.name for t in final.task_runs] == ["extract", "transform", "load"]
    assert all(t.raw_state == "SUCCESS" and t.job_id for t in final.task_runs)
    assert final.workflow_id == DEMO_WORKFLOW_ID
    assert final.created_at is not None and final.finished_at is not None
    assert final.started_at <= final.finished_at
    assert emulator.control.requests(vendor="wedata", action="GetTriggerWorkflowRun")[0]["run_id"] == RUN_ID


def test_failed_run_carries_error_codes(emulator):
    script(emulator, outcome="FAILED")
    h = hook()
    for _ in range(3):
        h.get_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    run = h.get_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    assert run.state is RunState.FAILED and run.error_code == "TASK_FAILED"
    failed = run.failed_task_runs()
    assert [(t.name, t.error_code) for t in failed] == [("transform", "E1001")]
    assert "orders_tmp" in failed[0].error_message
    assert run.detail["BizStateEnumInfos"] == [
        {"LabelKey": "FAILED", "LabelValue": "失败", "Count": 1},
        {"LabelKey": "PENDING", "LabelValue": "等待资源", "Count": 1},
        {"LabelKey": "SUCCESS", "LabelValue": "成功", "Count": 1},
    ]


@pytest.mark.asyncio
async def test_sync_and_async_read_identically(emulator):
    script(emulator, advance="time", step_seconds=3600)  # frozen on its first state for the test
    sync_run = hook().get_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    async_run = await hook().aget_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    # Each answer has its own RequestId; everything else is the same.
    assert async_run.detail.pop("RequestId") != sync_run.detail.pop("RequestId")
    assert async_run == sync_run


@pytest.mark.parametrize("project_id", [DEMO_PROJECT_ID, "999"])
def test_unknown_run_is_not_found_naming_run_and_project(emulator, project_id):
    script(emulator)
    missing = "00000000-0000-4000-8000-000000000000" if project_id == DEMO_PROJECT_ID else RUN_ID
    with pytest.raises(NotFoundError) as exc:
        hook().get_run(missing, project_id=project_id)
    assert exc.value.code == "ResourceNotFound"
    assert missing in str(exc.value) and project_id in str(exc.value)
    assert exc.value.request_id


def test_missing_project_id_is_missing_parameter(emulator):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.wedata.v20250806 import models

    req = models.GetTriggerWorkflowRunRequest()
    req.WorkflowExecutionId = RUN_ID
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_client(emulator).GetTriggerWorkflowRun(req)
    assert exc.value.code == "MissingParameter"


def test_invalid_project_id_type_is_invalid_parameter(emulator):
    h = hook()
    request = h.request("GetTriggerWorkflowRun", {"ProjectId": ["x"], "WorkflowExecutionId": RUN_ID})
    with pytest.raises(InvalidRequestError) as exc:
        h.call(request)
    assert exc.value.code.startswith("InvalidParameter")


def test_wrong_secret_is_auth_error(emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        emulator.tencentcloud_connection_json().replace(emulator.tencent_secret_key, "wrong-secret"),
    )
    with pytest.raises(AuthError) as exc:
        hook().get_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    assert exc.value.code == "AuthFailure.SignatureFailure"
    assert "wrong-secret" not in str(exc.value)


def test_throttling_then_success(emulator):
    script(emulator)
    emulator.control.set_faults(rate=1.0, kinds=["throttle"], vendors=["wedata"])
    h = hook()
    h.sleep = lambda seconds: emulator.control.clear_faults()  # the throttle lifts while we back off
    run = h.get_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    assert run.raw_state == "PENDING"
    log = emulator.control.requests(vendor="wedata", action="GetTriggerWorkflowRun")
    assert [r["fault"] for r in log] == ["throttle", None]


def test_persistent_throttling_gives_up_with_throttled_error(emulator):
    script(emulator)
    emulator.control.set_faults(rate=1.0, kinds=["throttle"], vendors=["wedata"])
    with pytest.raises(ThrottledError) as exc:
        hook().get_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    assert exc.value.code == "RequestLimitExceeded"
    assert len(emulator.control.requests(vendor="wedata")) == FAST.max_attempts


# -- starting, stopping, listing -------------------------------------------------------------------


def test_start_run_progresses_by_time(emulator):
    h = hook()
    execution_id = h.start_run(
        DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, params={"emulator_step_seconds": "0.05", "bizdate": "20250101"}
    )
    deadline = time.time() + 5
    run = h.get_run(execution_id, project_id=DEMO_PROJECT_ID)
    while not run.state.is_terminal and time.time() < deadline:
        time.sleep(0.05)
        run = h.get_run(execution_id, project_id=DEMO_PROJECT_ID)
    assert run.raw_state == "SUCCESS"
    assert '"ParamKey":"bizdate"' in run.detail["TriggerWorkflowRun"]["WorkflowParams"]
    (create,) = emulator.control.requests(vendor="wedata", action="CreateTriggerWorkflowRun")
    assert create["run_id"] == execution_id


def test_start_run_selected_tasks(emulator):
    h = hook()
    execution_id = h.start_run(DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, task_ids=["extract", "load"])
    run = h.get_run(execution_id, project_id=DEMO_PROJECT_ID)
    assert [t.name for t in run.task_runs] == ["extract", "load"]
    assert run.detail["TriggerWorkflowRun"]["SelectedTaskIds"] == ["extract", "load"]


def test_start_run_of_unknown_workflow_is_not_found(emulator):
    with pytest.raises(NotFoundError):
        hook().start_run(DEMO_PROJECT_ID, "missing-workflow")


def test_stop_runs_fails_the_run(emulator):
    h = hook()
    execution_id = h.start_run(DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, params={"emulator_step_seconds": "60"})
    results = h.stop_runs(DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, [execution_id, "no-such-run"])
    assert [(r.ItemId, r.OpStatus) for r in results] == [(execution_id, True), ("no-such-run", False)]
    assert "no-such-run" in results[1].ErrorMessage
    run = h.get_run(execution_id, project_id=DEMO_PROJECT_ID)
    assert run.raw_state == "FAILED" and run.state is RunState.FAILED
    assert {t.raw_state for t in run.task_runs} == {"FAILED"}
    again = h.stop_runs(DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, [execution_id])
    assert again[0].OpStatus is False  # already finished


def test_list_runs_pages_through_everything(emulator):
    emulator.control.script_runs(
        [
            {**run_spec(f"00000000-0000-4000-8000-00000000000{i}"), "created_at": 1_750_000_000 + i}
            for i in range(7)
        ]
        + [run_spec("11111111-0000-4000-8000-000000000000", project_id="other-project")]
    )
    h = hook()
    runs = list(h.list_runs(DEMO_PROJECT_ID, workflow_id=DEMO_WORKFLOW_ID, page_size=3))
    assert [r.run_id[-1] for r in runs] == ["6", "5", "4", "3", "2", "1", "0"]  # CreateTime DESC
    pages = [r["seq"] for r in emulator.control.requests(vendor="wedata", action="ListTriggerWorkflowRuns")]
    assert len(pages) == 3
    one = h.list_runs(DEMO_PROJECT_ID, filters={"ExecutionId": ["00000000-0000-4000-8000-000000000003"]})
    assert [r.run_id for r in one] == ["00000000-0000-4000-8000-000000000003"]
    assert list(h.list_runs("empty-project")) == []


def test_list_rejects_oversized_pages(emulator):
    with pytest.raises(InvalidRequestError):
        list(hook().list_runs(DEMO_PROJECT_ID, page_size=500))


# -- the official SDK ------------------------------------------------------------------------------


@pytest.mark.sdk
def test_official_sdk_and_hook_read_the_same_run(emulator):
    # Time-based and slow, so both clients see the same step.
    script(emulator, outcome="FAILED", advance="time", step_seconds=3600)
    response = sdk_get(sdk_client(emulator), RUN_ID)
    run = hook().get_run(RUN_ID, project_id=DEMO_PROJECT_ID)
    brief = response.Data.TriggerWorkflowRun
    assert brief.ExecutionId == run.run_id
    assert brief.ExecutionState == run.raw_state
    assert brief.WorkflowId == run.workflow_id
    assert brief.WorkflowName == run.name
    assert brief.ErrorCodeStr == run.error_code
    assert int(brief.CreateTime) == int(run.created_at.timestamp() * 1000)
    tasks = response.Data.TriggerTaskRuns
    assert [
        (t.ExecutionId, t.TaskName, t.TaskType, t.ExecutionState, t.JobId, t.ErrorCode) for t in tasks
    ] == [(t.task_run_id, t.name, t.task_type, t.raw_state, t.job_id, t.error_code) for t in run.task_runs]
    # Every field the SDK parsed equals what the hook kept in the run's detail.
    sdk_brief = {k: v for k, v in vars(brief).items() if v is not None}
    assert {k.lstrip("_"): v for k, v in sdk_brief.items()} == run.detail["TriggerWorkflowRun"]
    infos = [(i.LabelKey, i.LabelValue, i.Count) for i in response.Data.BizStateEnumInfos]
    assert infos == [(i["LabelKey"], i["LabelValue"], i["Count"]) for i in run.detail["BizStateEnumInfos"]]


@pytest.mark.sdk
def test_official_sdk_with_wrong_secret_gets_signature_failure(emulator):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    script(emulator)
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_get(sdk_client(emulator, secret="not-the-secret"), RUN_ID)
    assert exc.value.code == "AuthFailure.SignatureFailure"


@pytest.mark.sdk
def test_official_sdk_unknown_run_is_resource_not_found(emulator):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_get(sdk_client(emulator), "00000000-0000-4000-8000-000000000000")
    assert exc.value.code == "ResourceNotFound"


@pytest.mark.sdk
def test_official_sdk_start_list_and_kill(emulator):
    from tencentcloud.wedata.v20250806 import models

    client = sdk_client(emulator)
    create = models.CreateTriggerWorkflowRunRequest()
    create.ProjectId, create.WorkflowId = DEMO_PROJECT_ID, DEMO_WORKFLOW_ID
    param = models.SchedulingParameter()
    param.ParamKey, param.ParamValue = "emulator_step_seconds", "60"
    create.AdvancedParams = [param]
    execution_id = client.CreateTriggerWorkflowRun(create).Data.WorkflowExecutionId
    listing = models.ListTriggerWorkflowRunsRequest()
    listing.ProjectId, listing.PageNumber, listing.PageSize = DEMO_PROJECT_ID, 1, 10
    page = client.ListTriggerWorkflowRuns(listing).Data
    assert page.TotalCount == 1 and page.TotalPageNumber == 1
    assert page.Items[0].ExecutionId == execution_id
    kill = models.KillTriggerWorkflowRunsRequest()
    kill.ProjectId, kill.WorkflowId, kill.WorkflowExecutionIdList = (
        DEMO_PROJECT_ID,
        DEMO_WORKFLOW_ID,
        [execution_id],
    )
    (result,) = client.KillTriggerWorkflowRuns(kill).Data
    assert result.OpStatus is True and result.ItemId == execution_id
    assert hook().get_run(execution_id, project_id=DEMO_PROJECT_ID).raw_state == "FAILED"


# -- sensor and trigger against the emulator -------------------------------------------------------


@pytest.mark.asyncio
async def test_deferred_sensor_trigger_yields_exactly_one_event(emulator):
    from airflow.providers.common.compat.sdk import TaskDeferred

    from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

    script(emulator)
    sensor = WeDataWorkflowRunSensor(
        task_id="wait", execution_id=RUN_ID, project_id=DEMO_PROJECT_ID, deferrable=True, poke_interval=0.01
    )
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute({"ti": None})
    trigger = exc.value.trigger
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    assert events[0].payload["status"] == "success"
    result = sensor.execute_complete({}, events[0].payload)
    assert result["raw_state"] == "SUCCESS"
    assert len(emulator.control.requests(vendor="wedata", action="GetTriggerWorkflowRun")) == 5


def test_poking_sensor_fails_naming_run_state_and_error(emulator):
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

    script(emulator, outcome="FAILED")
    sensor = WeDataWorkflowRunSensor(
        task_id="wait", execution_id=RUN_ID, project_id=DEMO_PROJECT_ID, deferrable=False, poke_interval=0.01
    )
    with pytest.raises(AirflowFailException) as exc:
        sensor.execute({"ti": None})
    message = str(exc.value)
    assert RUN_ID in message and "'FAILED'" in message and "TASK_FAILED" in message
    assert "transform (FAILED: E1001)" in message


def test_official_sdk_and_hook_list_runs_of_several_workflows_in_a_schedule_window(emulator):
    from datetime import UTC, datetime

    from tencentcloud.wedata.v20250806 import models

    base = 1_767_225_600  # 2026-01-01T00:00:00Z
    specs = []
    for i, (workflow, hour) in enumerate([("wf-a", 1), ("wf-b", 2), ("wf-a", 3), ("wf-c", 2), ("wf-a", 9)]):
        spec = run_spec(f"00000000-0000-4000-8000-00000000010{i}", workflow_id=workflow)
        spec["fields"]["ScheduleTime"] = base + hour * 3600
        spec["created_at"] = base + 100 * i
        specs.append(spec)
    emulator.control.script_runs(specs)
    after, before = datetime.fromtimestamp(base + 3600, UTC), datetime.fromtimestamp(base + 3 * 3600, UTC)
    runs = list(
        hook().list_runs(
            DEMO_PROJECT_ID,
            workflow_id=["wf-a", "wf-b"],
            scheduled_after=after,
            scheduled_before=before,
            order_by="ScheduleTime",
        )
    )
    req = models.ListTriggerWorkflowRunsRequest()
    req.ProjectId = DEMO_PROJECT_ID
    filters = []
    for name, values in (
        ("WorkflowId", ["wf-a", "wf-b"]),
        ("ScheduleTimeGreaterEqual", ["2026-01-01 09:00:00"]),  # China time: 01:00Z
        ("ScheduleTimeLessEqual", ["2026-01-01 11:00:00"]),
    ):
        f = models.Filter()
        f.Name, f.Values = name, values
        filters.append(f)
    order = models.OrderField()
    order.Name, order.Direction = "ScheduleTime", "DESC"
    req.Filters, req.OrderFields, req.PageSize, req.PageNumber = filters, [order], 10, 1
    data = sdk_client(emulator).ListTriggerWorkflowRuns(req).Data
    assert [i.ExecutionId[-1] for i in data.Items] == [r.run_id[-1] for r in runs] == ["2", "1", "0"]
    assert data.TotalCount == 3
    assert [r.workflow_id for r in runs] == ["wf-a", "wf-b", "wf-a"]
    assert runs[0].detail["TriggerWorkflowRun"]["ScheduleTime"] == str((base + 3 * 3600) * 1000)
    (sent,) = emulator.control.requests(vendor="wedata", action="ListTriggerWorkflowRuns")[:1]
    assert sent["status"] == 200


def test_list_runs_by_end_time_reads_scripted_finish_times(emulator):
    base = 1_767_225_600.0
    specs = []
    for i, offset in enumerate([300, 100, 200]):
        spec = run_spec(f"00000000-0000-4000-8000-00000000020{i}")
        spec["finishes_at"] = base + offset
        specs.append(spec)
    emulator.control.script_runs(specs)
    runs = list(hook().list_runs(DEMO_PROJECT_ID, order_by="EndTime"))
    assert [r.run_id[-1] for r in runs] == ["0", "2", "1"]
    assert [r.finished_at.timestamp() for r in runs] == [base + 300, base + 200, base + 100]
    assert {r.raw_state for r in runs} == {"SUCCESS"}


@pytest.mark.asyncio
async def test_alist_runs_lists_what_list_runs_lists(emulator):
    emulator.control.script_runs(
        [
            {**run_spec(f"00000000-0000-4000-8000-00000000030{i}"), "created_at": 1_750_000_000 + i}
            for i in range(5)
        ]
    )
    listed = [run async for run in hook().alist_runs(DEMO_PROJECT_ID, page_size=2, limit=4)]
    assert [r.run_id[-1] for r in listed] == ["4", "3", "2", "1"]
    assert listed == list(hook().list_runs(DEMO_PROJECT_ID, page_size=2, limit=4))
    assert len(emulator.control.requests(vendor="wedata", action="ListTriggerWorkflowRuns")) == 4


# -- rerun (official SDK) ---------------------------------------------------------------------------


def test_sdk_reruns_a_failed_run_and_reads_the_async_job(emulator):
    from tencentcloud.wedata.v20250806 import models

    script(emulator, outcome="FAILED")
    for _ in range(4):  # to the end of the script: FAILED
        sdk_get(sdk_client(emulator), RUN_ID)
    client = sdk_client(emulator)
    req = models.RerunTriggerWorkflowRunAsyncRequest()
    req.ProjectId, req.WorkflowId, req.WorkflowExecutionId = DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, RUN_ID
    req.ExecuteType = "2"
    req.TaskIds = ["transform", f"{DEMO_WORKFLOW_ID[:8]}_load"]
    async_id = client.RerunTriggerWorkflowRunAsync(req).Data.AsyncId
    job = models.GetOpsAsyncJobRequest()
    job.ProjectId, job.AsyncId = DEMO_PROJECT_ID, async_id
    statuses = [client.GetOpsAsyncJob(job).Data.Status for _ in range(2)]
    assert statuses == ["RUNNING", "SUCCESS"]
    data = sdk_get(client, RUN_ID).Data
    assert data.TriggerWorkflowRun.ExecutionState == "RUNNING" and data.TriggerWorkflowRun.RerunTimes == 1
    assert [(t.TaskName, t.RerunTimes) for t in data.TriggerTaskRuns] == [
        ("extract", 0),
        ("transform", 1),
        ("load", 1),
    ]
    final = [sdk_get(client, RUN_ID).Data.TriggerWorkflowRun.ExecutionState for _ in range(2)][-1]
    assert final == "SUCCESS"


def test_sdk_rerun_of_a_running_run_ends_fail_with_the_reason(emulator):
    from tencentcloud.wedata.v20250806 import models

    script(emulator)
    client = sdk_client(emulator)
    req = models.RerunTriggerWorkflowRunAsyncRequest()
    req.ProjectId, req.WorkflowId, req.WorkflowExecutionId = DEMO_PROJECT_ID, DEMO_WORKFLOW_ID, RUN_ID
    req.ExecuteType = "1"
    job = models.GetOpsAsyncJobRequest()
    job.ProjectId, job.AsyncId = DEMO_PROJECT_ID, client.RerunTriggerWorkflowRunAsync(req).Data.AsyncId
    client.GetOpsAsyncJob(job)
    detail = client.GetOpsAsyncJob(job).Data
    assert detail.Status == "FAIL" and "still running" in detail.ErrorDesc
