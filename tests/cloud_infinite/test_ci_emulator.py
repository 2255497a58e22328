"""CloudInfiniteHook against the local emulator: real HTTP, real signatures, scripted executions."""

from __future__ import annotations

import asyncio
import time

import pytest
from ci_support import REGION, STATE_CASES

from airflow_provider_cloudflows.emulator.services.cloud_infinite import (
    DEMO_BUCKET,
    DEMO_WORKFLOW_ID,
    demo_runs,
    execution_spec,
)
from airflow_provider_cloudflows.errors import AuthError, InvalidRequestError, NotFoundError
from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.runs import RunState

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
VENDOR = "cloud_infinite"


def stable(run_id: str, **kwargs):
    """An execution that stays where its script starts (time-based, very slow steps)."""
    return execution_spec(run_id, advance="time", step_seconds=3600, **kwargs)


def test_get_run_sync_and_async_identical(emulator):
    emulator.control.script_runs([stable("i" + "a" * 32, object_key="in/a.mp4")])
    hook = CloudInfiniteHook(retry_policy=FAST)
    sync_run = hook.get_run("i" + "a" * 32)
    async_run = asyncio.run(CloudInfiniteHook(retry_policy=FAST).aget_run("i" + "a" * 32))
    assert sync_run == async_run
    assert sync_run.state is RunState.RUNNING
    assert [(t.name, t.raw_state, t.job_id) for t in sync_run.task_runs] == [
        ("Start", "Success", "j" + "a" * 32 + "0"),
        ("Transcode_1581665960537", "Running", "j" + "a" * 32 + "1"),
    ]
    assert sync_run.detail["Object"] == "in/a.mp4"
    assert sync_run.workflow_id == DEMO_WORKFLOW_ID


def test_demo_runs_progress_by_poll(emulator):
    emulator.control.script_runs(demo_runs())
    hook = CloudInfiniteHook(retry_policy=FAST)
    seen = [hook.get_run("i166ee19017b011eda8a5525400c540df").raw_state for _ in range(4)]
    assert seen == ["Running", "Running", "Running", "Success"]
    final = hook.get_run("i166ee19017b011eda8a5525400c540df")
    assert [t.raw_state for t in final.task_runs] == ["Success", "Success", "Success"]
    assert all(t.finished_at is not None for t in final.task_runs)
    failed = [hook.get_run("i769bd26517af11ed917f525400a3c59f") for _ in range(3)][-1]
    assert failed.state is RunState.FAILED
    assert failed.error_code == "InvalidInput"
    assert failed.failed_task_runs()[0].name == "Transcode_1581665960537"


@pytest.mark.parametrize(("raw", "state"), [*STATE_CASES, ("Hibernating", RunState.UNKNOWN)])
def test_every_state_through_the_emulator(emulator, raw, state):
    emulator.control.script_run(
        VENDOR,
        "i" + "b" * 32,
        [raw],
        task_runs=[
            {"name": "Transcode_1", "task_id": "j1", "states": [raw], "fields": {"Type": "Transcode"}}
        ],
        fields={"workflow_id": DEMO_WORKFLOW_ID, "object": "in/b.mp4", "bucket": DEMO_BUCKET},
    )
    run = CloudInfiniteHook(retry_policy=FAST).get_run("i" + "b" * 32)
    assert (run.state, run.raw_state) == (state, raw)
    assert run.task_runs[0].state is state


def test_pagination_across_three_pages(emulator):
    base = time.time() - 10_000
    specs = [stable(f"i{n:032x}", object_key=f"in/{n}.mp4", created_at=base + n) for n in range(250)]
    emulator.control.script_runs(specs)
    emulator.control.clear_requests()
    runs = list(CloudInfiniteHook(retry_policy=FAST).list_runs(DEMO_WORKFLOW_ID))
    assert len(runs) == 250 > 100
    assert [r.run_id for r in runs] == [f"i{n:032x}" for n in reversed(range(250))]  # newest first
    pages = emulator.control.requests(vendor=VENDOR, action="DescribeMediaWorkflowExecutions")
    assert len(pages) == 3 and all(p["status"] == 200 for p in pages)


def test_pagination_async_and_ascending(emulator):
    base = time.time() - 10_000
    emulator.control.script_runs(
        [stable(f"i{n:032x}", object_key=f"in/{n}.mp4", created_at=base + n) for n in range(205)]
    )

    async def collect():
        return [
            r
            async for r in CloudInfiniteHook(retry_policy=FAST).alist_runs(
                DEMO_WORKFLOW_ID, order_by_time="Asc"
            )
        ]

    runs = asyncio.run(collect())
    assert [r.run_id for r in runs] == [f"i{n:032x}" for n in range(205)]
    assert runs == list(CloudInfiniteHook(retry_policy=FAST).list_runs(DEMO_WORKFLOW_ID, order_by_time="Asc"))


def test_exact_multiple_of_the_page_size_ends_on_an_empty_token(emulator):
    base = time.time() - 10_000
    emulator.control.script_runs(
        [stable(f"i{n:032x}", object_key="k", created_at=base + n) for n in range(200)]
    )
    emulator.control.clear_requests()
    assert len(list(CloudInfiniteHook(retry_policy=FAST).list_runs(DEMO_WORKFLOW_ID))) == 200
    assert len(emulator.control.requests(vendor=VENDOR, action="DescribeMediaWorkflowExecutions")) == 2


def test_list_filters(emulator):
    now = time.time()
    emulator.control.script_runs(
        [
            execution_spec("i" + "1" * 32, object_key="in/x.mp4", advance="poll", created_at=now - 300),
            execution_spec("i" + "2" * 32, object_key="in/x.mp4", outcome="Failed", created_at=now - 200),
            stable("i" + "3" * 32, object_key="in/y.mp4", created_at=now - 100, batch_job_id="b42"),
            stable("i" + "4" * 32, object_key="in/x.mp4", workflow_id="w" + "0" * 32, created_at=now),
            stable("i" + "5" * 32, object_key="in/x.mp4", bucket="other-1250000000", created_at=now),
        ]
    )
    hook = CloudInfiniteHook(retry_policy=FAST)

    def ids(**kwargs):
        return [r.run_id[1] for r in hook.list_runs(DEMO_WORKFLOW_ID, **kwargs)]

    assert ids() == ["3", "2", "1"]  # other workflow and other bucket excluded
    assert ids(name="in/x.mp4") == ["2", "1"]
    assert ids(job_id="b42") == ["3"]
    assert ids(states="Running") == ["3", "2", "1"]
    assert ids(states=["Success", "Failed"]) == []
    assert ids(created_after=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(now - 250))) == ["3", "2"]
    assert ids(created_before=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(now - 250))) == ["1"]
    assert [r.run_id[1] for r in hook.list_runs(DEMO_WORKFLOW_ID, bucket="other-1250000000")] == ["5"]
    newest = hook.newest_run(DEMO_WORKFLOW_ID, "in/x.mp4")
    assert newest is not None and newest.run_id == "i" + "2" * 32
    assert hook.newest_run(DEMO_WORKFLOW_ID, "in/none.mp4") is None


def test_emulator_refuses_bad_list_params(emulator):
    hook = CloudInfiniteHook(retry_policy=FAST)
    with pytest.raises(InvalidRequestError) as err:
        list(hook.list_runs(DEMO_WORKFLOW_ID, states="Done"))
    assert err.value.code == "InvalidArgument" and err.value.http_status == 400


def test_trigger_creates_an_execution_progressing_by_time(emulator):
    hook = CloudInfiniteHook(retry_policy=FAST)
    run_id = hook.trigger(DEMO_WORKFLOW_ID, "in/new movie.mp4")
    first = hook.get_run(run_id)
    assert first.state is RunState.RUNNING and first.detail["Object"] == "in/new movie.mp4"
    deadline = time.time() + 15
    while not (run := hook.get_run(run_id)).state.is_terminal and time.time() < deadline:
        time.sleep(0.3)
    assert run.state is RunState.SUCCEEDED
    assert [t.name for t in run.task_runs] == ["Start", "Transcode_1581665960537", "Snapshot_1581665960536"]
    assert all(t.job_id and t.job_id.startswith("j") for t in run.task_runs)
    (logged,) = emulator.control.requests(vendor=VENDOR, action="TriggerWorkflow")
    assert logged["run_id"] == run_id and logged["status"] == 200


def test_unknown_run_is_no_such_resource(emulator):
    with pytest.raises(NotFoundError) as err:
        CloudInfiniteHook(retry_policy=FAST).get_run("i" + "f" * 32)
    assert err.value.code == "NoSuchResource" and err.value.http_status == 404
    assert "i" + "f" * 32 in str(err.value)


def test_run_of_another_bucket_is_not_found(emulator):
    emulator.control.script_runs([stable("i" + "6" * 32, object_key="k", bucket="other-1250000000")])
    with pytest.raises(NotFoundError):
        CloudInfiniteHook(retry_policy=FAST).get_run("i" + "6" * 32)
    assert CloudInfiniteHook(retry_policy=FAST).get_run("i" + "6" * 32, bucket="other-1250000000").run_id


def test_bad_secret_is_auth_error_with_the_ci_code(emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        emulator.tencentcloud_connection_json(region=REGION, bucket=DEMO_BUCKET).replace(
            emulator.tencent_secret_key, "wrong-secret"
        ),
    )
    with pytest.raises(AuthError) as err:
        CloudInfiniteHook(retry_policy=FAST).get_run("i" + "a" * 32)
    assert err.value.code == "SignatureDoesNotMatch" and err.value.http_status == 403
    assert len(emulator.control.requests(vendor=VENDOR)) == 1  # auth errors are not retried


def test_throttling_then_success(emulator):
    emulator.control.script_runs([stable("i" + "7" * 32, object_key="k")])
    # Seed 1 draws below 0.5 first (throttle) and above it second (served).
    emulator.control.set_faults(0.5, seed=1, kinds=["throttle"], vendors=[VENDOR])
    hook = CloudInfiniteHook(retry_policy=FAST)
    assert hook.get_run("i" + "7" * 32).state is RunState.RUNNING
    log = emulator.control.requests(vendor=VENDOR)
    assert [(r["status"], r["fault"]) for r in log] == [(503, "throttle"), (200, None)]
