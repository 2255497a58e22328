"""A StartWorkflow whose outcome is unknown is never re-sent blind by the hook's retries."""

from __future__ import annotations

import httpx
import pytest
from ice_gateway import Gateway, error, hook_with

from airflow_provider_cloudflows.errors import ServiceUnavailableError, ThrottledError

pytestmark = pytest.mark.usefixtures("connection")

MEDIA = {"Type": "Media", "Media": "m-1"}


def starts(gateway: Gateway) -> int:
    return sum(1 for r in gateway.requests if r.headers.get("x-acs-action") == "StartWorkflow")


def test_a_500_with_a_retry_hint_sends_start_workflow_once() -> None:
    gateway = Gateway(lambda _r, _q: error(500, "InternalError", "boom", headers={"x-acs-retry-after": "10"}))
    with pytest.raises(ServiceUnavailableError) as info:
        hook_with(gateway).start_run("wf-1", MEDIA)
    assert not isinstance(info.value, ThrottledError) and info.value.http_status == 500
    assert starts(gateway) == 1


def test_a_read_with_the_same_answer_is_still_throttled_and_retried() -> None:
    gateway = Gateway(lambda _r, _q: error(500, "InternalError", "boom", headers={"x-acs-retry-after": "10"}))
    with pytest.raises(ThrottledError):
        hook_with(gateway).get_run("t-1")
    assert len(gateway.requests) == 3  # FAST: three attempts


def test_an_explicit_throttle_answer_is_retried_for_a_start() -> None:
    answers = [error(400, "Throttling.User", "slow", headers={"x-acs-retry-after": "5"})]

    def respond(_r: httpx.Request, _q: dict[str, str]) -> httpx.Response:
        return answers.pop() if answers else httpx.Response(200, json={"RequestId": "r", "TaskId": "t-9"})

    gateway = Gateway(respond)
    assert hook_with(gateway).start_run("wf-1", MEDIA) == "t-9"
    assert starts(gateway) == 2


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadTimeout("read timed out"), httpx.RemoteProtocolError("peer closed mid-answer")],
)
def test_a_start_lost_after_sending_is_not_resent(exc: Exception) -> None:
    def respond(request: httpx.Request, _q: dict[str, str]) -> httpx.Response:
        raise type(exc)(str(exc), request=request)

    gateway = Gateway(respond)
    with pytest.raises(ServiceUnavailableError):
        hook_with(gateway).start_run("wf-1", MEDIA)
    assert starts(gateway) == 1


def test_a_start_that_never_connected_is_retried() -> None:
    calls = []

    def respond(request: httpx.Request, _q: dict[str, str]) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"RequestId": "r", "TaskId": "t-2"})

    gateway = Gateway(respond)
    assert hook_with(gateway).start_run("wf-1", MEDIA) == "t-2"
    assert starts(gateway) == 2
