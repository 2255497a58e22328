"""Inputs that could send a signed request elsewhere, or ask for something other than what the user
meant, are refused before any request; answers that never end or nest too deep end in typed errors.

Against a scripted server on 127.0.0.1 (scripted_server.py) that counts every connection: a
refused input must not even connect.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from scripted_server import ScriptedServer, Seen, scripted_server

from airflow_provider_cloudflows.errors import CloudflowsError, InvalidRequestError, InvalidResponseError
from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
from airflow_provider_cloudflows.hooks.ice import IceHook
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.wedata import WeDataHook

NO_RETRY = RetryPolicy(max_attempts=1)
BUCKET = "examplebucket-1250000000"


def _connection(
    monkeypatch: pytest.MonkeyPatch, conn_type: str, conn_id: str = "checked", **extra: Any
) -> str:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": conn_type, "login": "id", "password": "key", "extra": extra}),
    )
    return conn_id


def _not_found(seen: Seen) -> tuple[Any, ...]:
    return 404, b'{"Code": "NotFound", "Message": "no such run"}'


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server(_not_found) as running:
        yield running


def _get_run(hook: Any) -> Any:
    if isinstance(hook, IceHook):
        return hook.get_run("d0c0ffee000000000000000000000001")
    if isinstance(hook, DataWorksHook):
        return hook.get_run(1001)
    if isinstance(hook, WeDataHook):
        return hook.get_run("e-1", project_id="1")
    return hook.get_run("i-1", bucket=BUCKET)


# -- 1. region and bucket never reach a host name unchecked ----------------------------------------


@pytest.mark.parametrize("hook_class", [IceHook, DataWorksHook])
def test_an_alibaba_region_that_would_move_the_host_is_refused_before_connecting(
    monkeypatch, server, hook_class
) -> None:
    conn_id = _connection(monkeypatch, "alibabacloud", region="cn-shanghai")
    region = f"x@127.0.0.1:{server.port}/"  # https://ice.x@127.0.0.1:<port>/.aliyuncs.com/
    hook = hook_class(conn_id, region=region, retry_policy=NO_RETRY)
    with pytest.raises(InvalidRequestError) as caught:
        _get_run(hook)
    assert repr(region) in str(caught.value) and "e.g. 'cn-shanghai'" in str(caught.value)
    assert server.connections == 0


@pytest.mark.parametrize(
    "region", ["cn-shanghai\n", " cn-shanghai", "CN-SHANGHAI", "cn_shanghai", "-cn", "cn.shanghai", "cn-上海"]
)
def test_a_region_is_checked_as_a_whole_also_with_an_endpoint(monkeypatch, server, region) -> None:
    conn_id = _connection(monkeypatch, "alibabacloud", region=region, endpoint=server.url)
    with pytest.raises(InvalidRequestError, match="is not a region name"):
        _get_run(IceHook(conn_id, retry_policy=NO_RETRY))
    assert server.connections == 0


@pytest.mark.parametrize("hook_class", [WeDataHook, CloudInfiniteHook])
def test_a_tencent_region_is_checked_before_it_becomes_a_signed_header_or_host(
    monkeypatch, server, hook_class
) -> None:
    conn_id = _connection(monkeypatch, "tencentcloud", region="../x", endpoint=server.url)
    with pytest.raises(InvalidRequestError) as caught:
        _get_run(hook_class(conn_id, retry_policy=NO_RETRY))
    assert "'../x'" in str(caught.value) and "e.g. 'ap-" in str(caught.value)
    assert server.connections == 0


def test_a_good_region_still_reaches_the_server(monkeypatch, server) -> None:
    conn_id = _connection(monkeypatch, "tencentcloud", region="ap-guangzhou", endpoint=server.url)
    with pytest.raises(CloudflowsError):  # the server answers 404; only the request matters
        _get_run(WeDataHook(conn_id, retry_policy=NO_RETRY))
    assert [s.headers["x-tc-region"] for s in server.seen] == ["ap-guangzhou"]


def test_a_region_in_a_cloud_infinite_endpoint_template_is_checked(monkeypatch, server) -> None:
    # Before: the template branch pasted the region unchecked, so it could name any host and port.
    conn_id = _connection(
        monkeypatch, "tencentcloud", region=f"127.0.0.1:{server.port}", endpoint="http://{region}"
    )
    with pytest.raises(InvalidRequestError, match="is not a region name"):
        _get_run(CloudInfiniteHook(conn_id, retry_policy=NO_RETRY))
    assert server.connections == 0


def test_a_cloud_infinite_endpoint_template_with_region_needs_a_region(monkeypatch, server) -> None:
    conn_id = _connection(monkeypatch, "tencentcloud", endpoint=server.url + "/{region}/{bucket}")
    with pytest.raises(InvalidRequestError, match="needs a region"):
        _get_run(CloudInfiniteHook(conn_id, retry_policy=NO_RETRY))
    assert server.connections == 0


@pytest.mark.parametrize(
    "bucket", [f"{BUCKET}\n", "127.0.0.1:80/x-1", "Example-1250000000", "examplebucket-١٢٥", "examplebucket"]
)
def test_a_bucket_is_checked_as_a_whole_in_every_branch(monkeypatch, server, bucket) -> None:
    for endpoint in (server.url, server.url + "/{bucket}"):
        conn_id = _connection(monkeypatch, "tencentcloud", region="ap-chongqing", endpoint=endpoint)
        hook = CloudInfiniteHook(conn_id, retry_policy=NO_RETRY)
        with pytest.raises(InvalidRequestError, match="BucketName-APPID"):
            hook.get_run("i-1", bucket=bucket)
        with pytest.raises(InvalidRequestError, match="BucketName-APPID"):
            hook.protocol.base(hook.credentials, bucket)
    assert server.connections == 0


# -- 2. Cloud Infinite RunIds stay one path segment ---------------------------------------------------


@pytest.mark.parametrize(
    "run_id", [".", "..", "a/..", "../x", "i 1", "i\n", "i%2e", "i?x=1", "i#", "\uff491"]
)
def test_a_cloud_infinite_run_id_that_is_not_one_plain_segment_is_refused(
    monkeypatch, server, run_id
) -> None:
    conn_id = _connection(monkeypatch, "tencentcloud", region="ap-chongqing", endpoint=server.url)
    with pytest.raises(InvalidRequestError) as caught:
        CloudInfiniteHook(conn_id, retry_policy=NO_RETRY).get_run(run_id, bucket=BUCKET)
    assert repr(run_id) in str(caught.value) and "not a Cloud Infinite RunId" in str(caught.value)
    assert server.connections == 0


def test_a_cloud_infinite_run_id_as_issued_is_requested_as_one_segment(monkeypatch, server) -> None:
    conn_id = _connection(monkeypatch, "tencentcloud", region="ap-chongqing", endpoint=server.url)
    with pytest.raises(CloudflowsError):  # the server answers 404
        CloudInfiniteHook(conn_id, retry_policy=NO_RETRY).get_run(
            "i166ee19017b011eda8a5525400c540df", bucket=BUCKET
        )
    assert [s.target for s in server.seen] == ["/workflowexecution/i166ee19017b011eda8a5525400c540df"]


# -- 4. messages name the argument the user wrote -------------------------------------------------------


def test_a_cloud_infinite_run_id_that_renders_empty_says_so(monkeypatch, server) -> None:
    from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor

    conn_id = _connection(monkeypatch, "tencentcloud", region="ap-chongqing", endpoint=server.url)
    sensor = CloudInfiniteWorkflowExecutionSensor(
        task_id="wait", run_id="{{ ti.xcom_pull('start') }}", bucket=BUCKET, tencentcloud_conn_id=conn_id
    )
    sensor.run_id = ""  # what Airflow's rendering sets when the template renders empty
    with pytest.raises(InvalidRequestError, match="run_id is empty"):
        sensor.poke({})
    assert server.connections == 0
    with pytest.raises(ValueError, match="run_id is empty"):
        CloudInfiniteWorkflowExecutionSensor(task_id="wait2", run_id=" ", bucket=BUCKET)


# -- 3. DataWorks ids and the connection's type ----------------------------------------------------------


@pytest.mark.parametrize("instance_id", [" 1001 ", "1001\n", "\u0661\u0660\u0660\u0661", "+1001", "1_001"])
def test_a_dataworks_id_is_ascii_digits_only(monkeypatch, server, instance_id) -> None:
    conn_id = _connection(monkeypatch, "alibabacloud", region="cn-shanghai", endpoint=server.url)
    with pytest.raises(InvalidRequestError, match="ASCII digits only"):
        DataWorksHook(conn_id, retry_policy=NO_RETRY).get_run(instance_id)
    assert server.connections == 0


@pytest.mark.parametrize(
    ("hook_class", "conn_type", "wanted"),
    [
        (WeDataHook, "alibabacloud", "tencentcloud"),
        (CloudInfiniteHook, "alibabacloud", "tencentcloud"),
        (IceHook, "tencentcloud", "alibabacloud"),
        (DataWorksHook, "tencentcloud", "alibabacloud"),
    ],
)
def test_the_other_clouds_connection_type_is_named_before_any_request(
    monkeypatch, server, hook_class, conn_type, wanted
) -> None:
    conn_id = _connection(monkeypatch, conn_type, region="ap-guangzhou", endpoint=server.url, bucket=BUCKET)
    with pytest.raises(InvalidRequestError) as caught:
        _get_run(hook_class(conn_id, retry_policy=NO_RETRY))
    message = str(caught.value)
    assert f"is of type {conn_type!r}" in message and f"needs a {wanted!r} connection" in message
    assert server.connections == 0
    ok, text = hook_class(conn_id, retry_policy=NO_RETRY).test_connection()
    assert not ok and f"needs a {wanted!r} connection" in text


@pytest.mark.parametrize("workflow_task_id", ["", "  ", None])
def test_an_empty_ice_workflow_task_id_is_named_as_the_user_wrote_it(
    monkeypatch, server, workflow_task_id
) -> None:
    from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor

    conn_id = _connection(monkeypatch, "alibabacloud", region="cn-shanghai", endpoint=server.url)
    with pytest.raises(InvalidRequestError, match=r"workflow_task_id \(the ICE TaskId\) must not be empty"):
        IceHook(conn_id, retry_policy=NO_RETRY).get_run(workflow_task_id)
    sensor = IceWorkflowTaskSensor(task_id="wait", workflow_task_id="t", alibabacloud_conn_id=conn_id)
    sensor.workflow_task_id = workflow_task_id  # as a template that renders empty leaves it
    with pytest.raises(InvalidRequestError, match="workflow_task_id"):
        sensor.poke({})
    assert server.connections == 0


# -- 5. listings always end ----------------------------------------------------------------------------


def _json(body: Any) -> tuple[Any, ...]:
    return 200, json.dumps(body).encode(), {"Content-Type": "application/json"}


def _logged(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    return capsys.readouterr().out + capsys.readouterr().err + caplog.text


def _counted(answer: Any) -> Any:
    """An answer that also knows how many requests it served (its `n`-th call gets `n`)."""
    calls = {"n": 0}

    def counted(seen: Seen) -> tuple[Any, ...]:
        calls["n"] += 1
        return answer(seen, calls["n"])

    return counted


def test_dataworks_task_paging_ends_when_a_page_repeats(monkeypatch, capsys, caplog) -> None:
    def answer(seen: Seen, n: int) -> tuple[Any, ...]:
        if seen.headers.get("x-acs-action") == "GetWorkflowInstance":
            instance = {"Id": 1001, "Status": "Success", "BizDate": 1700000000000, "ProjectId": 7}
            return _json({"RequestId": "r", "WorkflowInstance": instance})
        # Always page one again, and always "more to come".
        page = {"TaskInstances": [{"Id": 1, "Status": "Success"}], "PageSize": 1, "TotalCount": 30}
        return _json({"RequestId": "r", "PagingInfo": page})

    with scripted_server(_counted(answer)) as server:
        conn_id = _connection(monkeypatch, "alibabacloud", region="cn-shanghai", endpoint=server.url)
        run = DataWorksHook(conn_id, task_page_size=1, retry_policy=NO_RETRY).get_run(1001)
    assert len(run.task_runs) == 1
    assert len(server.seen) == 3  # the instance, page 1, page 2 (nothing new: the end)
    assert "ListTaskInstances listing stopped early" in _logged(capsys, caplog)


def test_wedata_list_runs_ends_when_a_page_repeats(monkeypatch, capsys, caplog) -> None:
    def answer(seen: Seen, n: int) -> tuple[Any, ...]:
        data = {"Items": [{"ExecutionId": "e-1"}], "TotalCount": 30, "TotalPageNumber": 30}
        return _json({"Response": {"RequestId": "r", "Data": data}})

    with scripted_server(_counted(answer)) as server:
        conn_id = _connection(monkeypatch, "tencentcloud", region="ap-guangzhou", endpoint=server.url)
        runs = list(WeDataHook(conn_id, retry_policy=NO_RETRY).list_runs("1", page_size=1))
    assert [r.run_id for r in runs] == ["e-1"]
    assert len(server.seen) == 2
    assert "ListTriggerWorkflowRuns listing stopped early" in _logged(capsys, caplog)


def test_ice_list_runs_ends_when_new_tokens_bring_no_new_tasks(monkeypatch, capsys, caplog) -> None:
    def answer(seen: Seen, n: int) -> tuple[Any, ...]:
        task = {"TaskId": "t-1", "Status": "Succeed"}  # the server itself ends after 30 pages
        return _json({"RequestId": "r", "TaskList": [task] if n <= 30 else [], "NextToken": f"token-{n}"})

    with scripted_server(_counted(answer)) as server:
        conn_id = _connection(monkeypatch, "alibabacloud", region="cn-shanghai", endpoint=server.url)
        runs = list(IceHook(conn_id, retry_policy=NO_RETRY).list_runs())
    assert [r.run_id for r in runs] == ["t-1"]
    assert len(server.seen) == 2
    assert "no new ids" in _logged(capsys, caplog)


def test_cloud_infinite_list_runs_ends_when_new_tokens_bring_no_new_runs(monkeypatch, capsys, caplog) -> None:
    def answer(seen: Seen, n: int) -> tuple[Any, ...]:
        items = "".join(
            f"<WorkflowExecutionList><RunId>{i}</RunId><State>Success</State></WorkflowExecutionList>"
            for i in ("i1", "i2")
        )
        token = f"token-{n}" if n <= 30 else ""  # the server itself ends after 30 pages
        body = f"<Response>{items}<NextToken>{token}</NextToken></Response>"
        return 200, body.encode(), {"Content-Type": "application/xml"}

    with scripted_server(_counted(answer)) as server:
        conn_id = _connection(monkeypatch, "tencentcloud", region="ap-chongqing", endpoint=server.url)
        hook = CloudInfiniteHook(conn_id, retry_policy=NO_RETRY)
        runs = list(hook.list_runs("w-1", size=2, bucket=BUCKET))
    assert [r.run_id for r in runs] == ["i1", "i2"]
    assert len(server.seen) == 2
    assert "no new ids" in _logged(capsys, caplog)


def test_a_listing_reads_at_most_the_maximum_page_count(monkeypatch, capsys, caplog) -> None:
    from airflow_provider_cloudflows.hooks import paging

    monkeypatch.setattr(paging, "MAX_PAGES", 5, raising=False)

    def answer(seen: Seen, n: int) -> tuple[Any, ...]:
        # New tasks and tokens on every page; the server itself ends after 40 pages.
        tasks = [{"TaskId": f"t-{n}", "Status": "Succeed"}] if n <= 40 else []
        return _json({"RequestId": "r", "TaskList": tasks, "NextToken": f"token-{n}"})

    with scripted_server(_counted(answer)) as server:
        conn_id = _connection(monkeypatch, "alibabacloud", region="cn-shanghai", endpoint=server.url)
        runs = list(IceHook(conn_id, retry_policy=NO_RETRY).list_runs())
    assert len(runs) == 5 and len(server.seen) == 5
    assert "maximum of 5 pages" in _logged(capsys, caplog)


# -- 6. answers nested too deep are typed errors at the hook, never a failure at XCom -------------------


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _deep_answer(hook_class: type, depth: int) -> bytes:
    deep = _deep(depth)
    if hook_class is IceHook:
        return f'{{"RequestId":"r","WorkflowTask":{{"TaskId":"t","Status":"Succeed","X":{deep}}}}}'.encode()
    if hook_class is DataWorksHook:
        return f'{{"RequestId":"r","WorkflowInstance":{{"Id":1001,"Status":"Running","X":{deep}}}}}'.encode()
    if hook_class is WeDataHook:
        return f'{{"Response":{{"RequestId":"r","Data":{{"X":{deep}}}}}}}'.encode()
    inner = "<a>" * depth + "x" + "</a>" * depth
    return (
        "<Response><WorkflowExecution><RunId>i1</RunId><State>Success</State><WorkflowId>w</WorkflowId>"
        f"<X>{inner}</X></WorkflowExecution></Response>"
    ).encode()


@pytest.mark.parametrize("depth", [230, 300, 5000])
@pytest.mark.parametrize("hook_class", [IceHook, DataWorksHook, WeDataHook, CloudInfiniteHook])
def test_an_answer_nested_too_deep_is_an_invalid_response(monkeypatch, hook_class, depth) -> None:
    body = _deep_answer(hook_class, depth)
    with scripted_server(lambda seen: (200, body)) as server:
        conn_type = "alibabacloud" if hook_class in (IceHook, DataWorksHook) else "tencentcloud"
        conn_id = _connection(monkeypatch, conn_type, region="cn-shanghai", endpoint=server.url)
        with pytest.raises(InvalidResponseError, match="nested deeper than 200 levels"):
            _get_run(hook_class(conn_id, retry_policy=NO_RETRY))
    assert len(server.seen) == 1


@pytest.mark.parametrize("hook_class", [IceHook, DataWorksHook, CloudInfiniteHook])
def test_an_answer_nested_within_the_bound_is_read_and_can_be_dumped(monkeypatch, hook_class) -> None:
    body = _deep_answer(hook_class, 150)
    with scripted_server(lambda seen: (200, body)) as server:
        conn_type = "alibabacloud" if hook_class in (IceHook, DataWorksHook) else "tencentcloud"
        conn_id = _connection(monkeypatch, conn_type, region="cn-shanghai", endpoint=server.url)
        hook = hook_class(conn_id, retry_policy=NO_RETRY)
        run = hook.get_run(1001, with_task_runs=False) if hook_class is DataWorksHook else _get_run(hook)
    json.dumps(run.model_dump(mode="json"))


def test_an_ice_json_text_field_nested_too_deep_stays_text_and_the_run_can_be_dumped(monkeypatch) -> None:
    task = {"TaskId": "t", "Status": "Succeed", "ActivityResults": _deep(300), "UserData": _deep(230)}
    body = json.dumps({"RequestId": "r", "WorkflowTask": task}).encode()
    with scripted_server(lambda seen: (200, body)) as server:
        conn_id = _connection(monkeypatch, "alibabacloud", region="cn-shanghai", endpoint=server.url)
        run = IceHook(conn_id, retry_policy=NO_RETRY).get_run("t")
    json.dumps(run.model_dump(mode="json"))
