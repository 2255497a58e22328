"""DataWorksHook against a mock transport that verifies the real ACS3 signature."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from dataworks_support import SEED_GET_WORKFLOW_INSTANCE, SEED_TASK_INSTANCE, SignedDataWorksMock, acs_error

from airflow_provider_cloudflows.errors import (
    AuthError,
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottledError,
    VendorApiError,
)
from airflow_provider_cloudflows.hooks import base as base_module
from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook, parse_instance_id
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.runs import RunState

FAST = RetryPolicy(max_attempts=3, base_delay=0.01)


def instance_body(instance_id: int = 1234, status: str = "Success", **fields: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(SEED_GET_WORKFLOW_INSTANCE))
    body["WorkflowInstance"].update(Id=instance_id, Status=status, **fields)
    return body


def task(i: int, status: str = "Success", instance_id: int = 1234) -> dict[str, Any]:
    return {
        **SEED_TASK_INSTANCE,
        "Id": i,
        "TaskId": 9000 + i,
        "TaskName": f"node_{i}",
        "Status": status,
        "WorkflowInstanceId": instance_id,
    }


class Backend:
    """Answers GetWorkflowInstance / ListTaskInstances from a list of task instances, paging like DataWorks."""

    def __init__(self, status: str = "Success", tasks: list[dict[str, Any]] | None = None) -> None:
        self.status = status
        self.tasks = tasks if tasks is not None else [task(1), task(2)]

    def __call__(self, action: str, params: dict[str, str]) -> httpx.Response:
        if action == "GetWorkflowInstance":
            if params["Id"] != "1234":
                return acs_error(
                    404, "Invalid.WorkflowInstance.NotFound", f"workflow instance {params['Id']} not found"
                )
            return httpx.Response(200, json=instance_body(status=self.status))
        if action == "ListTaskInstances":
            number, size = int(params.get("PageNumber", 1)), int(params.get("PageSize", 10))
            chunk = self.tasks[(number - 1) * size : number * size]
            return httpx.Response(
                200,
                json={
                    "RequestId": "r",
                    "PagingInfo": {
                        "PageNumber": number,
                        "PageSize": size,
                        "TotalCount": len(self.tasks),
                        "TaskInstances": chunk,
                    },
                },
            )
        return acs_error(400, "InvalidAction.NotFound", action)


def make_hook(
    handler: SignedDataWorksMock, monkeypatch: pytest.MonkeyPatch | None = None, **kwargs: Any
) -> DataWorksHook:
    hook = DataWorksHook(retry_policy=kwargs.pop("retry_policy", FAST), **kwargs)
    transport = httpx.MockTransport(handler)
    hook.__dict__["transport"] = lambda _url: transport
    hook.sleeps = []
    hook.sleep = hook.sleeps.append
    if monkeypatch is not None:
        monkeypatch.setattr(base_module, "shared_async_transport", lambda _url: transport)

        async def asleep(seconds: float) -> None:
            hook.sleeps.append(seconds)

        hook.asleep = asleep
    return hook


def test_get_run_request_shape_and_default_host(dataworks_conn):
    mock = SignedDataWorksMock(Backend())
    run = make_hook(mock).get_run(1234)
    assert run.state is RunState.SUCCEEDED and [t.name for t in run.task_runs] == ["node_1", "node_2"]
    action, params, request = mock.calls[0]
    assert action == "GetWorkflowInstance" and request.method == "GET"
    assert str(request.url) == "https://dataworks.cn-shanghai.aliyuncs.com/?Id=1234"
    assert request.headers["x-acs-version"] == "2024-05-18" and request.content == b""
    action, params, request = mock.calls[1]
    assert action == "ListTaskInstances" and request.method == "POST"
    assert request.url.query == b""  # everything in the form body
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "content-type" in request.headers["authorization"]
    assert params == {
        "Bizdate": "1710239005403",
        "ProjectId": "100",
        "WorkflowInstanceId": "1234",
        "ProjectEnv": "Prod",
        "SortBy": "Id Asc",
        "PageSize": "500",
        "PageNumber": "1",
    }


def test_endpoint_override_and_central_region_host(dataworks_conn):
    mock = SignedDataWorksMock(Backend())
    make_hook(mock, endpoint="http://127.0.0.1:9/").get_run(1234, with_task_runs=False)
    assert str(mock.calls[0][2].url) == "http://127.0.0.1:9/?Id=1234"
    dataworks_conn(region="cn-qingdao")
    make_hook(mock).get_run(1234, with_task_runs=False)
    assert mock.calls[1][2].url.host == "dataworks.aliyuncs.com"


def test_task_instances_follow_every_page(dataworks_conn):
    backend = Backend(tasks=[task(i, "Failure" if i == 5 else "Success") for i in range(1, 8)])
    mock = SignedDataWorksMock(backend)
    run = make_hook(mock, task_page_size=3).get_run(1234)
    pages = [(p["PageNumber"], p["PageSize"]) for a, p, _ in mock.calls if a == "ListTaskInstances"]
    assert pages == [("1", "3"), ("2", "3"), ("3", "3")]
    assert [t.task_run_id for t in run.task_runs] == [str(i) for i in range(1, 8)]
    assert [t.name for t in run.failed_task_runs()] == ["node_5"]


def test_empty_page_ends_paging_even_if_total_count_lies(dataworks_conn):
    def answer(action: str, params: dict[str, str]) -> httpx.Response:
        if action == "GetWorkflowInstance":
            return httpx.Response(200, json=instance_body())
        tasks = [task(1)] if params["PageNumber"] == "1" else []
        return httpx.Response(
            200,
            json={
                "PagingInfo": {
                    "PageNumber": int(params["PageNumber"]),
                    "PageSize": 1,
                    "TotalCount": 99,
                    "TaskInstances": tasks,
                }
            },
        )

    mock = SignedDataWorksMock(answer)
    run = make_hook(mock, task_page_size=1).get_run(1234)
    assert len(run.task_runs) == 1 and mock.actions().count("ListTaskInstances") == 2


@pytest.mark.parametrize(
    ("with_task_runs", "status", "lists"),
    [
        (False, "Failure", False),
        (True, "Running", True),
        (["Failure", "Success"], "Running", False),
        (["Failure", "Success"], "Failure", True),
        ("Failure", "Failure", True),
        ("Failure", "Fail", False),
    ],
)
def test_with_task_runs_modes(dataworks_conn, with_task_runs, status, lists):
    mock = SignedDataWorksMock(Backend(status=status))
    run = make_hook(mock).get_run(1234, with_task_runs=with_task_runs)
    assert ("ListTaskInstances" in mock.actions()) is lists
    assert bool(run.task_runs) is lists


@pytest.mark.asyncio
async def test_sync_and_async_give_identical_runs(dataworks_conn, monkeypatch):
    backend = Backend(
        status="Failure", tasks=[task(i, "Failure" if i % 2 else "Success") for i in range(1, 6)]
    )
    mock = SignedDataWorksMock(backend)
    hook = make_hook(mock, monkeypatch, task_page_size=2)
    assert hook.get_run("1234") == await hook.aget_run(1234)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "12.5",
        "",
        " ",
        0,
        -3,
        True,
        None,
        1.0,
        "0",
        " 1001 ",
        "1001\n",
        "+5",
        "1_000",
        "\u0661\u0660",
        2**63,
    ],
)
def test_non_integer_ids_are_refused_clearly(value):
    with pytest.raises(InvalidRequestError, match="positive integer"):
        parse_instance_id(value)


def test_text_ids_from_templates_become_ints(dataworks_conn):
    assert parse_instance_id("42") == 42 and parse_instance_id(42) == 42
    mock = SignedDataWorksMock(Backend())
    make_hook(mock).get_run("1234", with_task_runs=False)
    assert mock.calls[0][1]["Id"] == "1234"
    with pytest.raises(InvalidRequestError):
        make_hook(mock).get_run("{{ ti.xcom_pull('x') }}")
    assert len(mock.calls) == 1  # nothing was sent for the bad id


def test_throttling_honours_retry_after_then_succeeds(dataworks_conn):
    responses = iter(
        [
            acs_error(
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
                {"x-acs-retry-after": "1500"},
            )
        ]
    )

    def answer(action: str, params: dict[str, str]) -> httpx.Response:
        return next(responses, None) or Backend()(action, params)

    mock = SignedDataWorksMock(answer)
    hook = make_hook(mock)
    run = hook.get_run(1234, with_task_runs=False)
    assert run.state is RunState.SUCCEEDED
    assert hook.sleeps == [1.5]  # the header's milliseconds, not the (much shorter) backoff
    assert mock.actions() == ["GetWorkflowInstance", "GetWorkflowInstance"]


@pytest.mark.asyncio
async def test_throttling_honoured_on_the_async_path(dataworks_conn, monkeypatch):
    responses = iter([acs_error(429, "Throttling.Api", "slow down", {"x-acs-retry-after": "2000"})])

    def answer(action: str, params: dict[str, str]) -> httpx.Response:
        return next(responses, None) or Backend()(action, params)

    hook = make_hook(SignedDataWorksMock(answer), monkeypatch)
    assert (await hook.aget_run(1234, with_task_runs=False)).state is RunState.SUCCEEDED
    assert hook.sleeps == [2.0]


def test_throttling_code_without_header_is_retried_then_surfaces(dataworks_conn):
    mock = SignedDataWorksMock(lambda a, p: acs_error(400, "Throttling", "busy"))
    hook = make_hook(mock)
    with pytest.raises(ThrottledError) as err:
        hook.get_run(1234)
    assert err.value.code == "Throttling" and err.value.run_id == "1234"
    assert len(mock.calls) == FAST.max_attempts and len(hook.sleeps) == FAST.max_attempts - 1


def test_bad_signature_is_a_typed_auth_error_and_not_retried(dataworks_conn):
    dataworks_conn(secret="not-the-secret")
    mock = SignedDataWorksMock(Backend())
    hook = make_hook(mock)
    with pytest.raises(AuthError) as err:
        hook.get_run(1234)
    assert err.value.code == "SignatureDoesNotMatch" and err.value.http_status == 400
    assert "not-the-secret" not in str(err.value)
    assert mock.calls == [] and hook.sleeps == []


def test_unknown_instance_is_not_found_naming_the_run(dataworks_conn):
    mock = SignedDataWorksMock(Backend())
    with pytest.raises(NotFoundError) as err:
        make_hook(mock).get_run(999)
    assert err.value.run_id == "999" and "999" in str(err.value)
    assert err.value.code == "Invalid.WorkflowInstance.NotFound"


def test_server_errors_are_retried(dataworks_conn):
    responses = iter(
        [acs_error(503, "ServiceUnavailable", "try later"), httpx.Response(502, text="bad gateway")]
    )

    def answer(action: str, params: dict[str, str]) -> httpx.Response:
        return next(responses, None) or Backend()(action, params)

    hook = make_hook(SignedDataWorksMock(answer))
    assert hook.get_run(1234, with_task_runs=False).state is RunState.SUCCEEDED
    assert len(hook.sleeps) == 2


# -- create / stop -------------------------------------------------------------------------------


class CreateBackend:
    def __init__(self, polls_creating: int = 2, outcome: dict[str, Any] | None = None) -> None:
        self.polls_creating = polls_creating
        self.outcome = outcome or {"Status": "Created", "WorkflowInstanceIds": [501, 502]}

    def __call__(self, action: str, params: dict[str, str]) -> httpx.Response:
        if action == "CreateWorkflowInstances":
            return httpx.Response(200, json={"RequestId": "r", "OperationId": "op-1"})
        if action == "GetCreateWorkflowInstancesResult":
            assert params == {"OperationId": "op-1"}
            if self.polls_creating:
                self.polls_creating -= 1
                return httpx.Response(200, json={"RequestId": "r", "Result": {"Status": "Creating"}})
            return httpx.Response(200, json={"RequestId": "r", "Result": self.outcome})
        return acs_error(400, "InvalidAction.NotFound", action)


def test_start_runs_polls_until_created(dataworks_conn):
    mock = SignedDataWorksMock(CreateBackend(polls_creating=2))
    hook = make_hook(mock)
    ids = hook.start_runs(
        project_id="100",
        workflow_id=7,
        name="nightly",
        default_run_properties={"Mode": "General"},
        workflow_parameters={"k": "v"},
        poll_interval=0.25,
    )
    assert ids == [501, 502]
    assert mock.actions() == ["CreateWorkflowInstances"] + ["GetCreateWorkflowInstancesResult"] * 3
    assert hook.sleeps == [0.25, 0.25]
    _, params, request = mock.calls[0]
    assert request.method == "POST" and request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert params == {
        "Name": "nightly",
        "ProjectId": "100",
        "WorkflowId": "7",
        "Type": "ManualWorkflow",
        "DefaultRunProperties": '{"Mode":"General"}',
        "WorkflowParameters": '{"k":"v"}',
    }
    assert mock.calls[1][2].method == "GET"


def test_create_failure_is_a_clear_error(dataworks_conn):
    backend = CreateBackend(0, {"Status": "CreateFailure", "FailureMessage": "workflow 7 is not deployed"})
    with pytest.raises(VendorApiError, match="workflow 7 is not deployed") as err:
        make_hook(SignedDataWorksMock(backend)).start_runs(project_id=100, workflow_id=7, name="n")
    assert err.value.code == "CreateFailure"


def test_create_is_never_retried_after_a_server_error(dataworks_conn):
    mock = SignedDataWorksMock(lambda a, p: acs_error(500, "InternalError", "boom"))
    with pytest.raises(ServiceUnavailableError):
        make_hook(mock).start_runs(project_id=100, workflow_id=7, name="n")
    assert mock.actions() == ["CreateWorkflowInstances"]


def test_create_is_retried_when_throttled(dataworks_conn):
    responses = iter([acs_error(400, "Throttling.User", "slow", {"x-acs-retry-after": "100"})])
    backend = CreateBackend(0)
    mock = SignedDataWorksMock(lambda a, p: next(responses, None) or backend(a, p))
    hook = make_hook(mock)
    assert hook.start_runs(project_id=100, workflow_id=7, name="n") == [501, 502]
    assert mock.actions()[:2] == ["CreateWorkflowInstances", "CreateWorkflowInstances"]


def test_create_gives_up_after_its_timeout(dataworks_conn):
    hook = make_hook(SignedDataWorksMock(CreateBackend(polls_creating=10**6)))
    with pytest.raises(VendorApiError, match="did not finish creating"):
        hook.start_runs(project_id=100, workflow_id=7, name="n", poll_interval=0, create_timeout=0)


def test_stop_runs_reports_each_failure(dataworks_conn, capsys, caplog):
    def answer(action: str, params: dict[str, str]) -> httpx.Response:
        assert action == "StopWorkflowInstances"
        assert json.loads(params["Ids"]) == [501, 502, 503]
        return httpx.Response(
            200,
            json={
                "RequestId": "r",
                "SuccessInfo": {
                    "501": {"Success": True, "Message": ""},
                    "502": {"Success": False, "Message": "instance already finished"},
                },
            },
        )

    result = make_hook(SignedDataWorksMock(answer)).stop_runs([501, "502", 503], comment="bye")
    assert result.stopped == [501] and not result.ok
    assert result.failed == {
        502: "instance already finished",
        503: "DataWorks reported no result for this instance",
    }
    # Airflow 3 logs hooks through structlog (stdout here); Airflow 2 through logging.
    logged = capsys.readouterr().out + caplog.text
    assert "did not stop workflow instance 502: instance already finished" in logged


def test_console_url(dataworks_conn):
    hook = make_hook(SignedDataWorksMock(Backend()))
    run = hook.get_run(1234, with_task_runs=False)
    assert hook.console_url(run) == (
        "https://dataworks.data.aliyun.com/cn-shanghai/ops?defaultProjectId=100&workflowInstanceId=1234"
    )
