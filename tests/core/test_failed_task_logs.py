"""A failed run shows each failed task run's vendor log (or error detail) in the task log.

Against the emulator, for every product and every way of waiting: poke, reschedule, deferred
(the log is read when the task resumes on the worker, never in the triggerer) and the start
operators waiting on the worker or deferred.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, TaskDeferred

from airflow_provider_cloudflows.compat import AIRFLOW_MAJOR
from airflow_provider_cloudflows.emulator.services import cloud_infinite as ci_emulator
from airflow_provider_cloudflows.emulator.services import dataworks as dataworks_emulator
from airflow_provider_cloudflows.emulator.services import ice as ice_emulator
from airflow_provider_cloudflows.emulator.services import wedata as wedata_emulator
from airflow_provider_cloudflows.operators.cloud_infinite import CloudInfiniteTriggerWorkflowOperator
from airflow_provider_cloudflows.operators.dataworks import DataWorksCreateWorkflowInstancesOperator
from airflow_provider_cloudflows.operators.ice import IceStartWorkflowOperator
from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator
from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor
from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor
from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

DATAWORKS_INSTANCE = 4242
DATAWORKS_LOG = (
    "2026-01-01 00:00:01 INFO starting transform\nFAILED: ODPS-0130131 Table not found - orders_tmp\n"
)
ICE_TASK = "d0c0ffee" + "0" * 23 + "9"
WEDATA_RUN = "6c1f2a3b-0000-4000-8000-000000004242"
CI_RUN = "i" + "d" * 32


@dataclass
class Case:
    """One product: how to script a run that fails, its sensor and start operator, what the log shows."""

    vendor: str
    conn: Callable[[Any], tuple[str, str]]
    script: Callable[[Any], None]
    sensor: Callable[..., Any]
    start: Callable[..., Any]
    # The failed task run's header, and lines of what is shown under it.
    header: str
    shown: tuple[str, ...]
    log_action: str | None  # the request that reads a failed task run's log; None: no request
    # What the log shows for a run the start operator starts (the emulator's own log text).
    start_shown: tuple[str, ...] | None = None


def _alibaba(emulator: Any) -> tuple[str, str]:
    return "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", emulator.alibabacloud_connection_json()


def _tencent(emulator: Any) -> tuple[str, str]:
    return "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.tencentcloud_connection_json(
        region=ci_emulator.DEMO_REGION, bucket=ci_emulator.DEMO_BUCKET
    )


def _script_dataworks(emulator: Any) -> None:
    spec = dataworks_emulator.instance_spec(
        DATAWORKS_INSTANCE,
        ["Running", "Failure"],
        [("extract", ["Running", "Success"]), ("transform", ["Running", "Failure"])],
        name="orders",
        bizdate=dataworks_emulator.default_bizdate(1_735_700_000),
        task_logs={"transform": DATAWORKS_LOG},
    )
    emulator.control.script_runs([spec])


CASES = {
    "dataworks": Case(
        vendor="dataworks",
        conn=_alibaba,
        script=_script_dataworks,
        sensor=lambda **kw: DataWorksWorkflowInstanceSensor(instance_id=DATAWORKS_INSTANCE, **kw),
        start=lambda **kw: DataWorksCreateWorkflowInstancesOperator(
            project_id=10001,
            workflow_id=20001,
            name="failing",
            workflow_parameters={"emulator_outcome": "Failure", "emulator_step_seconds": 0.05},
            **kw,
        ),
        header="Alibaba Cloud DataWorks task run transform (id {task_id}, state Failure): log of run 1",
        shown=("FAILED: ODPS-0130131 Table not found - orders_tmp",),
        log_action="GetTaskInstanceLog",
        start_shown=("ERROR ODPS-0130071: Semantic analysis exception",),
    ),
    "wedata": Case(
        vendor="wedata",
        conn=_tencent,
        script=lambda emulator: emulator.control.script_runs(
            [wedata_emulator.run_spec(WEDATA_RUN, "FAILED")]
        ),
        sensor=lambda **kw: WeDataWorkflowRunSensor(
            execution_id=WEDATA_RUN, project_id=wedata_emulator.DEMO_PROJECT_ID, **kw
        ),
        start=lambda **kw: WeDataStartWorkflowRunOperator(
            project_id=wedata_emulator.DEMO_PROJECT_ID,
            workflow_id=wedata_emulator.DEMO_WORKFLOW_ID,
            workflow_params={"emulator_outcome": "FAILED", "emulator_step_seconds": 0.05},
            **kw,
        ),
        header="Tencent Cloud WeData task run transform (id {task_id}, state FAILED): error detail",
        shown=(
            "ErrorCode: E1001",
            "ErrorCodeStr: SQL execution failed: table orders_tmp not found",
            "ExecutionResult: FAILED",
        ),
        log_action=None,
    ),
    "ice": Case(
        vendor="ice",
        conn=_alibaba,
        script=lambda emulator: emulator.control.script_runs(
            [ice_emulator.task_spec(ICE_TASK, outcome="Failed")]
        ),
        sensor=lambda **kw: IceWorkflowTaskSensor(workflow_task_id=ICE_TASK, **kw),
        start=lambda **kw: IceStartWorkflowOperator(
            workflow_id=ice_emulator.DEMO_WORKFLOW_ID,
            task_input={"Type": "Media", "Media": ice_emulator.DEMO_MEDIA_ID},
            user_data={"emulator_outcome": "Failed", "emulator_step_seconds": 0.05},
            **kw,
        ),
        header="Alibaba Cloud ICE task run Snapshot (id {task_id}, state Failed): error detail",
        shown=(
            "error code: InvalidParameter.Input",
            "error message: The input media has no video stream to snapshot.",
        ),
        log_action=None,
    ),
    "cloud_infinite": Case(
        vendor="cloud_infinite",
        conn=_tencent,
        script=lambda emulator: emulator.control.script_runs(
            [ci_emulator.execution_spec(CI_RUN, object_key="in/broken.mp4", outcome="Failed", advance="poll")]
        ),
        sensor=lambda **kw: CloudInfiniteWorkflowExecutionSensor(run_id=CI_RUN, **kw),
        start=lambda **kw: CloudInfiniteTriggerWorkflowOperator(
            workflow_id=ci_emulator.DEMO_WORKFLOW_ID, object_key="in/broken-fail.mp4", **kw
        ),
        header=f"Tencent Cloud Infinite task run {ci_emulator.TRANSCODE} (id {{task_id}}, state Failed): job {{task_id}}",
        shown=("Code: InvalidInput", "Message: the input file has no video stream", "State: Failed"),
        log_action="DescribeMediaJob",
    ),
}


TASK_LOG = logging.getLogger("cloudflows.test.task_log")


class TaskLog(logging.Handler):
    """What the task log would show: every record of the operators' logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]

    def clear(self) -> None:
        self.records.clear()


@pytest.fixture(autouse=True)
def task_log(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every operator's `log` is one plain logger here, collected by its own handler (Airflow's
    logging setup, e.g. a metadata DB reset, leaves it alone); it still propagates, so the
    session's secret-leak check sees it too."""
    monkeypatch.setattr(BaseOperator, "log", property(lambda self: TASK_LOG))
    handler = TaskLog()
    TASK_LOG.addHandler(handler)
    TASK_LOG.setLevel(logging.DEBUG)
    yield handler
    TASK_LOG.removeHandler(handler)


@pytest.fixture(params=list(CASES))
def case(request, cloudflows_emulator, monkeypatch) -> Case:
    chosen = CASES[request.param]
    monkeypatch.setenv(*chosen.conn(cloudflows_emulator))
    chosen.script(cloudflows_emulator)
    return chosen


def context(**extra: Any) -> dict[str, Any]:
    ti = mock.MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = "dag", "task", "manual__1", -1, 1
    ti.max_tries = 0
    ti.get_first_reschedule_date.return_value = None
    return {"ti": ti, **extra}


def shown_logs(task_log: TaskLog) -> list[str]:
    return [
        r.getMessage()
        for r in task_log.records
        if r.name == TASK_LOG.name and r.getMessage().startswith("===== ")
    ]


def failed_task_id(logs: list[str], case: Case) -> str:
    """The id in the header (the emulator makes it up), so the whole header can be compared."""
    (log,) = logs
    return log.split("(id ", 1)[1].split(",", 1)[0]


def assert_shown(task_log: TaskLog, case: Case, shown: tuple[str, ...] | None = None) -> None:
    logs = shown_logs(task_log)
    assert len(logs) == 1, logs
    header, *lines = logs[0].splitlines()
    task_id = failed_task_id(logs, case)
    assert header == f"===== {case.header.format(task_id=task_id)} ====="
    for line in shown or case.shown:
        assert line in lines


def requests(emulator: Any, case: Case) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor=case.vendor, action=case.log_action) if case.log_action else []


def run_trigger(trigger: Any) -> dict[str, Any]:
    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first_event())


# -- sensors --------------------------------------------------------------------------------------


def test_poke_shows_the_failed_task_runs_log(case, cloudflows_emulator, task_log):
    sensor = case.sensor(task_id="wait", poke_interval=0.01)
    with pytest.raises(AirflowFailException, match="failed task runs"):
        for _ in range(10):  # the scripts reach their failed end within a few reads
            sensor.poke(context())
    assert_shown(task_log, case)
    if case.log_action:
        assert len(requests(cloudflows_emulator, case)) == 1


def test_reschedule_mode_shows_the_log(case, task_log, request):
    if AIRFLOW_MAJOR < 3:  # Airflow 2 reads the first reschedule date from the metadata DB
        request.getfixturevalue("airflow_db")
    sensor = case.sensor(task_id="wait", mode="reschedule", poke_interval=0.01, timeout=30)
    ctx = context(task_reschedule_count=0)
    with pytest.raises(AirflowFailException):
        for _ in range(10):
            try:
                sensor.execute(ctx)
            except AirflowFailException:
                raise
            except Exception as reschedule:  # AirflowRescheduleException: the next poke, as Airflow would
                assert type(reschedule).__name__ == "AirflowRescheduleException"
    assert_shown(task_log, case)


def test_deferred_sensor_reads_the_log_on_resume_not_in_the_triggerer(case, cloudflows_emulator, task_log):
    sensor = case.sensor(task_id="wait", deferrable=True, poke_interval=0.01, timeout=30)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    event = run_trigger(deferred.value.trigger)
    assert event["status"] == "failure"
    assert requests(cloudflows_emulator, case) == [] and shown_logs(task_log) == []
    with pytest.raises(AirflowFailException) as failure:
        case.sensor(task_id="wait", deferrable=True).execute_complete(context(), event)
    assert str(failure.value) == event["message"]
    assert_shown(task_log, case)


# -- start operators ------------------------------------------------------------------------------


def _start(case: Case, **kwargs: Any) -> Any:
    op = case.start(task_id="start", poll_interval=0.05, timeout=60, **kwargs)
    op.hook.sleep = lambda seconds: None  # DataWorks' creation polls need no real pause here
    return op


def test_start_operator_waiting_on_the_worker_shows_the_log(case, task_log):
    with pytest.raises(AirflowFailException, match="failed task runs"):
        _start(case).execute(context())
    assert_shown(task_log, case, case.start_shown)


def test_deferred_start_operator_shows_the_log_on_resume(case, cloudflows_emulator, task_log):
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        _start(case, deferrable=True).execute(ctx)
    event = run_trigger(deferred.value.trigger)
    assert event["status"] == "failure" and requests(cloudflows_emulator, case) == []
    with pytest.raises(AirflowFailException):
        _start(case, deferrable=True).execute_complete(ctx, event, **(deferred.value.kwargs or {}))
    assert_shown(task_log, case, case.start_shown)


# -- caps, masking, switching off, failures (DataWorks: the product with a log API) -----------------

BIZDATE = dataworks_emulator.default_bizdate(1_735_700_000)


@pytest.fixture
def dataworks(cloudflows_emulator, monkeypatch) -> Any:
    monkeypatch.setenv(*_alibaba(cloudflows_emulator))
    return cloudflows_emulator


def script_failed(server: Any, instance_id: int, tasks: dict[str, str]) -> None:
    """A finished instance whose named task instances failed with these logs (in-process: a log
    may be bigger than the control API takes in one request)."""
    spec = dataworks_emulator.instance_spec(
        instance_id,
        ["Failure"],
        [(name, ["Failure"]) for name in tasks],
        name=f"wf-{instance_id}",
        bizdate=BIZDATE,
        task_logs=tasks,
    )
    server.state.script_run(spec)


def poke_failure(**kwargs: Any) -> str:
    with pytest.raises(AirflowFailException) as failure:
        DataWorksWorkflowInstanceSensor(task_id="wait", **kwargs).poke(context())
    return str(failure.value)


def log_requests(emulator: Any) -> list[dict[str, Any]]:
    return emulator.control.requests(vendor="dataworks", action="GetTaskInstanceLog")


def test_a_1_mib_log_shows_only_its_last_64_kib(dataworks, cloudflows_emulator_server, task_log):
    lines = [f"{i:07d} {'x' * 55}\n" for i in range(16 * 1024)]  # 64 bytes a line: 1 MiB
    big = "".join(lines)
    assert len(big.encode()) == 1024 * 1024
    script_failed(cloudflows_emulator_server, 5001, {"huge": big})
    poke_failure(instance_id=5001)
    (log,) = shown_logs(task_log)
    header, text = log.split("\n", 1)
    assert header.endswith(": log of run 1, the last 65536 of 1048576 bytes =====")
    assert text == big[-64 * 1024 :]
    assert text.startswith(lines[-1024]) and lines[-1025] not in text


def test_eight_failed_task_runs_show_five_and_say_how_many_were_left_out(
    dataworks, cloudflows_emulator_server, task_log
):
    script_failed(cloudflows_emulator_server, 5002, {f"node_{i}": f"log of node {i}\n" for i in range(1, 9)})
    poke_failure(instance_id=5002)
    logs = shown_logs(task_log)
    assert [log.split("task run ", 1)[1].split(" ", 1)[0] for log in logs] == [
        f"node_{i}" for i in range(1, 6)
    ]
    assert (
        "3 more failed task runs of workflow instance 5002 not shown (max_log_task_runs=5)"
        in task_log.messages
    )
    assert len(log_requests(dataworks)) == 5


def test_both_caps_are_operator_arguments(dataworks, cloudflows_emulator_server, task_log):
    script_failed(cloudflows_emulator_server, 5003, {f"node_{i}": "a" * 500 + "THE END" for i in range(1, 4)})
    poke_failure(instance_id=5003, max_log_bytes=10, max_log_task_runs=2)
    logs = shown_logs(task_log)
    assert len(logs) == 2 and all(log.endswith("the last 10 of 507 bytes =====\naaaTHE END") for log in logs)
    assert (
        "1 more failed task runs of workflow instance 5003 not shown (max_log_task_runs=2)"
        in task_log.messages
    )


@pytest.mark.parametrize("bad", [0, -1, 1.5, "64", True])
def test_caps_that_are_not_positive_whole_numbers_fail_at_parse_time(bad):
    with pytest.raises(ValueError, match="max_log_bytes must be a positive whole number"):
        DataWorksWorkflowInstanceSensor(task_id="wait", instance_id=1, max_log_bytes=bad)
    with pytest.raises(ValueError, match="max_log_task_runs must be a positive whole number"):
        DataWorksCreateWorkflowInstancesOperator(
            task_id="start", project_id=1, workflow_id=1, name="n", max_log_task_runs=bad
        )


def test_a_secret_the_vendor_log_echoes_never_reaches_the_task_log(
    dataworks, cloudflows_emulator_server, task_log
):
    secret = dataworks.alibaba_access_key_secret
    script_failed(
        cloudflows_emulator_server,
        5004,
        {"leaky": f"export ALIBABA_CLOUD_ACCESS_KEY_SECRET={secret}\nboom\n"},
    )
    poke_failure(instance_id=5004)
    (log,) = shown_logs(task_log)
    assert "export ALIBABA_CLOUD_ACCESS_KEY_SECRET=***\nboom" in log
    assert all(secret not in record.getMessage() for record in task_log.records)


def test_fetch_logs_false_sends_no_log_request(dataworks, cloudflows_emulator_server, task_log):
    script_failed(cloudflows_emulator_server, 5005, {"transform": "boom\n"})
    message = poke_failure(instance_id=5005, fetch_logs=False)
    assert "failed task runs: transform (Failure)" in message
    assert log_requests(dataworks) == [] and shown_logs(task_log) == []


def test_a_refused_log_request_is_one_warning_and_the_usual_failure(
    dataworks, cloudflows_emulator_server, task_log
):
    script_failed(cloudflows_emulator_server, 5006, {"transform": "boom\n", "load": "boom\n"})
    usual = poke_failure(instance_id=5006, fetch_logs=False)
    dataworks.control.set_credentials(
        alibabacloud={
            dataworks.alibaba_access_key_id: {
                "secret": dataworks.alibaba_access_key_secret,
                "denied_actions": ["GetTaskInstanceLog"],
            }
        }
    )
    task_log.clear()
    assert poke_failure(instance_id=5006) == usual
    warnings = [r for r in task_log.records if r.levelno >= logging.WARNING and r.name == TASK_LOG.name]
    assert len(warnings) == 1 and shown_logs(task_log) == []
    assert (
        warnings[0]
        .getMessage()
        .startswith(
            "Could not read the logs of the failed task runs of Alibaba Cloud DataWorks workflow instance 5006: "
        )
    )
    assert len(log_requests(dataworks)) == 1  # a refusal is not retried, nor asked again per task


def test_a_slow_log_endpoint_holds_a_failing_task_only_for_the_fetch_budget(
    dataworks, cloudflows_emulator_server, task_log, monkeypatch
):
    import time

    from airflow_provider_cloudflows import task_logs

    script_failed(cloudflows_emulator_server, 5007, {"transform": "boom\n"})
    sensor = DataWorksWorkflowInstanceSensor(task_id="wait", instance_id=5007)
    run = sensor.hook.get_run(5007)
    monkeypatch.setattr(task_logs, "FETCH_BUDGET_SECONDS", 1.0)
    dataworks.control.set_faults(rate=1.0, kinds=["slow"], slow_seconds=5.0)
    started = time.monotonic()
    task_logs.show_failed_task_logs(sensor, run)
    assert time.monotonic() - started < 3.0
    warnings = [r for r in task_log.records if r.levelno >= logging.WARNING and r.name == TASK_LOG.name]
    assert len(warnings) == 1 and "Could not read the logs" in warnings[0].getMessage()


def test_the_connections_own_secret_and_token_are_registered_for_masking():
    import secrets as token_source
    from types import SimpleNamespace

    from airflow.providers.common.compat.sdk import redact

    from airflow_provider_cloudflows.connections.credentials import CloudCredentials
    from airflow_provider_cloudflows.task_logs import mask_connection_secrets

    secret, token = token_source.token_hex(16), token_source.token_hex(16)
    assert redact(f"a {secret} b {token}") == f"a {secret} b {token}"  # nobody masks them yet
    mask_connection_secrets(SimpleNamespace(credentials=CloudCredentials("id", secret, security_token=token)))
    assert redact(f"a {secret} b {token}") == "a *** b ***"


@pytest.mark.parametrize(
    ("text", "max_bytes", "shown"),
    [
        ("short", 64, "short"),
        ("abcdef", 3, "def"),
        ("日本語", 4, "語"),  # a character the cut splits is dropped, not shown half
        ("", 8, ""),
        (None, 8, ""),
    ],
)
def test_excerpt_keeps_the_end_within_the_byte_budget(text, max_bytes, shown):
    from airflow_provider_cloudflows.task_logs import excerpt

    cut = excerpt(text, max_bytes)
    assert cut.text == shown and len(cut.text.encode()) <= max_bytes
    assert cut.total_bytes == len((text or "").encode()) and cut.cut == (cut.total_bytes > max_bytes)


def test_cloud_infinite_queries_one_job_per_failed_node_at_most_max_log_task_runs(
    cloudflows_emulator, monkeypatch, task_log
):
    monkeypatch.setenv(*_tencent(cloudflows_emulator))
    spec = ci_emulator.execution_spec(CI_RUN, object_key="in/many.mp4", outcome="Failed", advance="poll")
    spec["states"] = ["Failed"]
    spec["task_runs"] = [
        {
            "name": f"Transcode_{i}",
            "task_id": f"j{i:032d}",
            "states": ["Failed"],
            "fields": {"Type": "Transcode"},
            "error_code": "InvalidInput",
            "error_message": f"node {i} failed",
        }
        for i in range(1, 8)
    ]
    cloudflows_emulator.control.script_runs([spec])
    with pytest.raises(AirflowFailException):
        CloudInfiniteWorkflowExecutionSensor(task_id="wait", run_id=CI_RUN, max_log_task_runs=5).poke(
            context()
        )
    jobs = cloudflows_emulator.control.requests(vendor="cloud_infinite", action="DescribeMediaJob")
    assert len(jobs) == 5
    assert [log.splitlines()[2] for log in shown_logs(task_log)] == [
        f"Message: node {i} failed" for i in range(1, 6)
    ]
    assert "2 more failed task runs of workflow execution " + CI_RUN + " not shown (max_log_task_runs=5)" in (
        task_log.messages
    )
