"""A retried start operator never starts a second remote run: it adopts the run an earlier try started.

Each try is a fresh operator with a task instance that has the same identity (dag id, task id,
run id, map index) and a higher try_number, the way Airflow runs a retry (with no XComs left).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cloudflows.hooks.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
MEDIA = {"Type": "Media", "Media": "m-0001"}


@dataclass
class FakeTi:
    dag_id: str = "etl"
    task_id: str = "start"
    run_id: str = "manual__2026-12-01"
    map_index: int = -1
    try_number: int = 1
    xcom_push: mock.MagicMock = field(default_factory=mock.MagicMock)

    def pushed(self) -> dict[str, Any]:
        return {c.kwargs["key"]: c.kwargs["value"] for c in self.xcom_push.call_args_list}


def context(ti: FakeTi) -> dict[str, Any]:
    dag_run = mock.MagicMock(start_date=datetime.now(UTC))
    return {"ti": ti, "dag_run": dag_run}


def fast(op: Any) -> Any:
    """The operator's hook with quick retries and no sleeping between them."""
    hook = op.hook_class(retry_policy=FAST)
    hook.sleep = lambda _s: None
    op.__dict__["hook"] = hook
    return op


@pytest.fixture
def logged():
    """The start operators' log lines, as text."""
    from airflow_provider_cloudflows.operators.base import StartWorkflowRunOperator

    with mock.patch.object(StartWorkflowRunOperator, "log", new_callable=mock.PropertyMock) as log:

        class Lines:
            @property
            def text(self) -> str:
                return "\n".join(
                    str(args[0]) % args[1:] if len(args) > 1 else str(args[0])
                    for _name, args, _ in log.return_value.method_calls
                )

        yield Lines()


def first_request_only_seed(rate: float = 0.01, following: int = 30) -> int:
    """A fault seed whose first draw faults and the next `following` draws do not."""
    for seed in range(100_000):
        r = random.Random(seed)
        if r.random() < rate and all(r.random() >= rate for _ in range(following)):
            return seed
    raise AssertionError("no seed")


# -- ICE ------------------------------------------------------------------------------------------


@pytest.fixture
def ice(cloudflows_emulator, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    return cloudflows_emulator


def ice_op(**kwargs: Any) -> Any:
    from airflow_provider_cloudflows.operators.ice import IceStartWorkflowOperator

    kwargs = {"user_data": {"emulator_step_seconds": 0.3}, "poll_interval": 0.05, "timeout": 30, **kwargs}
    return fast(IceStartWorkflowOperator(task_id="start", workflow_id="wf-9", task_input=MEDIA, **kwargs))


def ice_starts(emulator) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor="ice", action="StartWorkflow")


def test_ice_retry_adopts_the_task_still_running(ice, logged) -> None:
    with pytest.raises(AirflowFailException, match="did not finish"):
        ice_op(timeout=0).execute(context(FakeTi()))
    (first,) = ice_starts(ice)
    ti = FakeTi(try_number=2)
    task_id = ice_op().execute(context(ti))
    assert task_id == first["run_id"] and len(ice_starts(ice)) == 1
    assert ti.pushed()["run"]["raw_state"] == "Succeed"
    assert "Adopted the workflow task started by an earlier try, still going" in logged.text


def test_ice_retry_adopts_a_task_that_succeeded(ice, logged) -> None:
    first = ice_op(wait_for_completion=False, user_data={"emulator_step_seconds": 0.02})
    task_id = first.execute(context(FakeTi()))
    time.sleep(0.2)
    assert ice_op(wait_for_completion=False).execute(context(FakeTi(try_number=2))) == task_id
    assert len(ice_starts(ice)) == 1
    assert "which succeeded" in logged.text


def test_ice_retry_starts_afresh_after_a_failed_task(ice, logged) -> None:
    failing = {"emulator_step_seconds": 0.02, "emulator_outcome": "Failed"}
    with pytest.raises(AirflowFailException):
        ice_op(user_data=failing).execute(context(FakeTi()))
    second = ice_op(user_data={"emulator_step_seconds": 0.02}).execute(context(FakeTi(try_number=2)))
    starts = ice_starts(ice)
    assert len(starts) == 2 and starts[1]["run_id"] == second != starts[0]["run_id"]
    assert "failed" in logged.text and "starting a new one" in logged.text


def test_ice_user_data_is_kept_next_to_the_mark(ice) -> None:
    task_id = ice_op(wait_for_completion=False, user_data='{"NotifyAddress":"https://x/cb"}').execute(
        context(FakeTi())
    )
    import json

    user_data = json.loads(ice_op().hook.get_run(task_id).detail["WorkflowTask"]["UserData"])
    assert user_data["NotifyAddress"] == "https://x/cb"
    assert user_data["AirflowTaskInstance"].startswith("airflow-")


def test_ice_another_task_instance_is_not_adopted(ice) -> None:
    ice_op(wait_for_completion=False).execute(context(FakeTi(map_index=0)))
    ice_op(wait_for_completion=False).execute(context(FakeTi(map_index=1, try_number=2)))
    assert len(ice_starts(ice)) == 2


def test_ice_a_start_whose_answer_is_lost_is_found_not_resent(ice, logged) -> None:
    ice.control.set_faults(0.01, seed=first_request_only_seed(), kinds=["truncated"], vendors=["ice"])
    task_id = ice_op(wait_for_completion=False).execute(context(FakeTi()))
    (start,) = ice_starts(ice)
    assert start["fault"] == "truncated" and start["run_id"] == task_id
    assert "outcome is unknown" in logged.text and "Adopted" in logged.text


def test_ice_an_outage_while_waiting_is_ridden_out(ice, logged) -> None:
    op = ice_op(user_data={"emulator_step_seconds": 0.05})
    real_get_run = op.hook.get_run
    calls = []

    def get_run(run_id: str, **params: Any) -> Any:
        calls.append(run_id)
        if len(calls) == 1:
            ice.control.set_faults(1.0, kinds=["http503"], vendors=["ice"])
            try:
                return real_get_run(run_id, **params)
            finally:
                ice.control.clear_faults()
        return real_get_run(run_id, **params)

    op.hook.get_run = get_run
    task_id = op.execute(context(FakeTi()))
    assert len(calls) >= 2 and len(ice_starts(ice)) == 1
    assert "will poll again" in logged.text
    assert task_id == ice_starts(ice)[0]["run_id"]


# -- WeData ---------------------------------------------------------------------------------------


@pytest.fixture
def wedata(cloudflows_emulator, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", cloudflows_emulator.tencentcloud_connection_json()
    )
    return cloudflows_emulator


def wedata_op(**kwargs: Any) -> Any:
    from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator

    kwargs = {
        "workflow_params": {"emulator_step_seconds": "0.3"},
        "poll_interval": 0.05,
        "timeout": 30,
        **kwargs,
    }
    return fast(
        WeDataStartWorkflowRunOperator(task_id="start", project_id="p-1", workflow_id="wf-1", **kwargs)
    )


def wedata_starts(emulator) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor="wedata", action="CreateTriggerWorkflowRun")


def test_wedata_retry_adopts_the_run_still_going(wedata, logged) -> None:
    with pytest.raises(AirflowFailException, match="did not finish"):
        wedata_op(timeout=0).execute(context(FakeTi()))
    (first,) = wedata_starts(wedata)
    ti = FakeTi(try_number=2)
    assert wedata_op().execute(context(ti)) == first["run_id"]
    assert len(wedata_starts(wedata)) == 1 and ti.pushed()["run"]["raw_state"] == "SUCCESS"
    assert "still going" in logged.text


def test_wedata_retry_adopts_a_run_that_succeeded_and_restarts_a_failed_one(wedata, logged) -> None:
    quick = {"emulator_step_seconds": "0.02"}
    done = wedata_op(workflow_params=quick).execute(context(FakeTi()))
    assert wedata_op(wait_for_completion=False).execute(context(FakeTi(try_number=2))) == done
    assert "which succeeded" in logged.text
    other = FakeTi(task_id="other")
    with pytest.raises(AirflowFailException):
        wedata_op(workflow_params={**quick, "emulator_outcome": "FAILED"}).execute(context(other))
    again = wedata_op(workflow_params=quick).execute(context(FakeTi(task_id="other", try_number=2)))
    starts = wedata_starts(wedata)
    assert len(starts) == 3 and starts[2]["run_id"] == again
    assert "starting a new one" in logged.text


def test_wedata_user_params_are_kept_next_to_the_mark(wedata) -> None:
    op = wedata_op(wait_for_completion=False, workflow_params={"day": "2026-12-01"})
    run_id = op.execute(context(FakeTi()))
    (run,) = op.hook.list_runs("p-1", workflow_id="wf-1")
    assert run.run_id == run_id
    params = run.detail["TriggerWorkflowRun"]["WorkflowParams"]
    assert "2026-12-01" in params and "airflow_task_instance" in params


# -- Cloud Infinite -------------------------------------------------------------------------------


@pytest.fixture
def ci(cloudflows_emulator, monkeypatch: pytest.MonkeyPatch):
    from airflow_provider_cloudflows.emulator.services.cloud_infinite import DEMO_BUCKET

    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        cloudflows_emulator.tencentcloud_connection_json(region="ap-chongqing", bucket=DEMO_BUCKET),
    )
    return cloudflows_emulator


def ci_op(object_key: str = "input/movie.mp4", **kwargs: Any) -> Any:
    from airflow_provider_cloudflows.operators.cloud_infinite import CloudInfiniteTriggerWorkflowOperator

    kwargs = {"poll_interval": 0.05, "timeout": 30, **kwargs}
    return fast(
        CloudInfiniteTriggerWorkflowOperator(
            task_id="start", workflow_id="w-1", object_key=object_key, **kwargs
        )
    )


def ci_starts(emulator) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor="cloud_infinite", action="TriggerWorkflow")


def test_ci_retry_adopts_the_execution_still_running(ci, logged) -> None:
    with pytest.raises(AirflowFailException, match="did not finish"):
        ci_op(timeout=0).execute(context(FakeTi()))
    (first,) = ci_starts(ci)
    assert ci_op(wait_for_completion=False).execute(context(FakeTi(try_number=2))) == first["run_id"]
    assert len(ci_starts(ci)) == 1 and "still going" in logged.text


def test_ci_retry_after_a_failed_execution_triggers_again(ci, logged) -> None:
    op = ci_op("input/fail.mp4", wait_for_completion=False)
    first = op.execute(context(FakeTi()))
    deadline = time.time() + 20
    while op.hook.get_run(first).raw_state != "Failed" and time.time() < deadline:
        time.sleep(0.1)
    second = ci_op("input/fail.mp4", wait_for_completion=False).execute(context(FakeTi(try_number=2)))
    assert second != first and len(ci_starts(ci)) == 2
    assert "starting a new one" in logged.text


# -- DataWorks ------------------------------------------------------------------------------------


def dataworks_op(**kwargs: Any) -> Any:
    from airflow_provider_cloudflows.emulator.services.dataworks import DEMO_PROJECT_ID, DEMO_WORKFLOW_ID
    from airflow_provider_cloudflows.operators.dataworks import DataWorksCreateWorkflowInstancesOperator

    kwargs = {
        "workflow_parameters": {"emulator_step_seconds": 0.3},
        "poll_interval": 0.05,
        "timeout": 30,
        **kwargs,
    }
    return fast(
        DataWorksCreateWorkflowInstancesOperator(
            task_id="start", project_id=DEMO_PROJECT_ID, workflow_id=DEMO_WORKFLOW_ID, **kwargs
        )
    )


def dataworks_creates(emulator) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor="dataworks", action="CreateWorkflowInstances")


def test_dataworks_retry_adopts_the_instance_still_running(ice, logged) -> None:
    with pytest.raises(AirflowFailException, match="did not finish"):
        dataworks_op(timeout=0).execute(context(FakeTi()))
    ti = FakeTi(try_number=2)
    ids = dataworks_op().execute(context(ti))
    assert len(dataworks_creates(ice)) == 1 and ti.pushed()["run"]["raw_state"] == "Success"
    assert ti.pushed()["instance_ids"] == ids and ti.pushed()["run"]["run_id"] == str(ids[0])
    assert "still going" in logged.text


def test_dataworks_retry_adopts_success_and_restarts_failure(ice, logged) -> None:
    quick = {"emulator_step_seconds": 0.02}
    done = dataworks_op(workflow_parameters=quick).execute(context(FakeTi()))
    assert dataworks_op(wait_for_completion=False).execute(context(FakeTi(try_number=2))) == done
    assert "which succeeded" in logged.text and len(dataworks_creates(ice)) == 1
    failing = {**quick, "emulator_outcome": "Failure"}
    with pytest.raises(AirflowFailException):
        dataworks_op(workflow_parameters=failing).execute(context(FakeTi(task_id="other")))
    again = dataworks_op(workflow_parameters=quick).execute(context(FakeTi(task_id="other", try_number=2)))
    assert len(dataworks_creates(ice)) == 3 and again != done
    assert "starting a new one" in logged.text


def test_dataworks_backfill_instances_are_adopted_together(ice) -> None:
    periods = {"BizDates": [{"StartBizDate": "2026-11-01", "EndBizDate": "2026-11-03"}]}
    kwargs = {"instance_type": "SupplementData", "periods": periods, "wait_for_completion": False}
    ids = dataworks_op(**kwargs).execute(context(FakeTi()))
    assert len(ids) == 3
    assert sorted(dataworks_op(**kwargs).execute(context(FakeTi(try_number=2)))) == sorted(ids)
    assert len(dataworks_creates(ice)) == 1


def test_wedata_a_start_answered_by_a_500_is_sent_once_then_looked_for(wedata, logged) -> None:
    wedata.control.set_faults(0.01, seed=first_request_only_seed(), kinds=["http500"], vendors=["wedata"])
    run_id = wedata_op(wait_for_completion=False).execute(context(FakeTi()))
    actions = [r["action"] for r in wedata.control.requests(vendor="wedata")]
    # One start, answered 500 (and not re-sent by the hook); the lookup finds nothing; one more start.
    assert actions == ["CreateTriggerWorkflowRun", "ListTriggerWorkflowRuns", "CreateTriggerWorkflowRun"]
    first, second = wedata_starts(wedata)
    assert first["fault"] == "http500" and second["run_id"] == run_id
    assert (
        "outcome is unknown" in logged.text and "No workflow run was started by that request" in logged.text
    )
