"""Every answer is read with a size cap and every attempt has one deadline, sync and async alike.

Against a hostile local server (hostile_server.py): an oversized body, a gzip bomb and an answer
that trickles a byte at a time, through a real product hook, its signer and its pools.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from hostile_server import gzip_bomb, hostile_server, url

from airflow_provider_cloudflows.errors import (
    InvalidRequestError,
    ResponseTooLargeError,
    ServiceUnavailableError,
)
from airflow_provider_cloudflows.hooks.deadline import attempt_deadline
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.hooks.wedata import WeDataHook
from airflow_provider_cloudflows.protocols.base import response_preview

ONE_MIB = 1024 * 1024
RETRIES = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)
NO_RETRY = RetryPolicy(max_attempts=1)


def _connection(monkeypatch: pytest.MonkeyPatch, **extra: object) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HOSTILE",
        json.dumps(
            {
                "conn_type": "tencentcloud",
                "login": "id",
                "password": "key",
                "extra": {"region": "ap-guangzhou", **extra},
            }
        ),
    )


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, max_response_bytes=ONE_MIB)


@pytest.fixture(params=["oversized", "gzip_bomb"])
def too_large(request: pytest.FixtureRequest) -> Iterator[object]:
    with hostile_server(request.param) as server:
        yield server


def _hook(server: object, **kwargs: object) -> WeDataHook:
    return WeDataHook("hostile", endpoint=url(server), **kwargs)  # type: ignore[arg-type]


def test_a_body_past_the_cap_stops_there_and_is_not_retried(capped: None, too_large) -> None:
    gzip_bomb()  # built before measuring: the server runs in this process
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLargeError) as caught:
            _hook(too_large, retry_policy=RETRIES).get_run("e-1", project_id="1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "1,048,576 bytes" in str(caught.value) and "max_response_bytes" in str(caught.value)
    assert caught.value.vendor == "Tencent Cloud WeData" and not caught.value.retryable
    assert too_large.requests == 1
    # The bomb inflates to 100 MiB and the plain body is 32 MiB: neither was held whole.
    assert peak < 12 * ONE_MIB, f"peak {peak:,} bytes"


@pytest.mark.asyncio
async def test_the_async_path_has_the_same_cap(capped: None, too_large) -> None:
    with pytest.raises(ResponseTooLargeError) as caught:
        await _hook(too_large, retry_policy=RETRIES).aget_run("e-1", project_id="1")
    assert "1,048,576 bytes" in str(caught.value)
    assert too_large.requests == 1


def test_the_default_cap_is_16_mib(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch)
    with hostile_server("oversized") as server, pytest.raises(ResponseTooLargeError) as caught:
        _hook(server, retry_policy=NO_RETRY).get_run("e-1", project_id="1")
    assert "16,777,216 bytes" in str(caught.value)


def test_an_answer_within_the_cap_reads_as_usual(capped: None) -> None:
    with hostile_server("ok") as server:
        hook = _hook(server)
        assert hook.call(hook.request("GetTriggerWorkflowRun", {})) == {"RequestId": "r-1"}


def test_a_trickling_answer_cannot_outlast_the_attempt(capped: None) -> None:
    # One byte every 0.1 s never trips a per-read timeout; the attempt's deadline still ends it.
    with hostile_server("trickle") as server:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as caught:
            _hook(server, retry_policy=NO_RETRY, timeout=1.0).get_run("e-1", project_id="1")
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3, elapsed
    assert "deadline of 1 s passed" in str(caught.value)


@pytest.mark.asyncio
async def test_a_trickling_answer_cannot_outlast_the_attempt_async(capped: None) -> None:
    with hostile_server("trickle") as server:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as caught:
            await _hook(server, retry_policy=NO_RETRY, timeout=1.0).aget_run("e-1", project_id="1")
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3, elapsed
    assert "deadline of 1 s passed" in str(caught.value)


@pytest.mark.asyncio
async def test_a_callers_own_deadline_bounds_the_poll_and_its_retries(capped: None) -> None:
    """What a trigger does with the time left before its own timeout: a 30 s attempt gets 0.5 s."""
    with hostile_server("trickle") as server:
        hook = _hook(server, retry_policy=RETRIES)
        waits: list[float] = []

        async def record(seconds: float) -> None:
            waits.append(seconds)

        hook.asleep = record
        started = time.monotonic()
        with attempt_deadline(0.5), pytest.raises(ServiceUnavailableError):
            await hook.aget_run("e-1", project_id="1")
        elapsed = time.monotonic() - started
    assert elapsed < 2, elapsed
    assert server.requests == 1 and waits == []  # no retry is even scheduled once the time is up


@pytest.mark.parametrize("value", ["lots", 0, -5, 2 * 1024**3, "1.5", True])
def test_max_response_bytes_is_checked(monkeypatch: pytest.MonkeyPatch, value: object) -> None:
    _connection(monkeypatch, max_response_bytes=value)
    with pytest.raises(InvalidRequestError) as caught:
        WeDataHook("hostile").read_limits  # noqa: B018 - the property reads the extra
    assert repr(value) in str(caught.value) and "'max_response_bytes'" in str(caught.value)


def test_response_preview_decodes_no_more_than_it_shows() -> None:
    class NoText(httpx.Response):
        @property
        def text(self) -> str:  # decoding the whole body is what the preview must not do
            raise AssertionError("the whole body was decoded")

    response = NoText(502, content=("é" * 5_000_000).encode())
    assert response_preview(response, limit=50) == f"HTTP 502 {'é' * 50!r}"


def _gzip_answer(body: bytes, encoding: str = "gzip") -> httpx.Response:
    from airflow_provider_cloudflows.hooks.transport import PoolTransport, ReadLimits, send

    class Raw(httpx.BaseTransport):  # hands out the raw bytes, unread, as a network answer would
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            headers = {"Content-Encoding": encoding, "Content-Length": str(len(body))}
            return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))

    assert not isinstance(Raw(), PoolTransport)
    return send(Raw(), httpx.Request("GET", "http://127.0.0.1:9/"), ReadLimits(max_response_bytes=ONE_MIB))


def test_a_gzip_answer_is_decoded_once_and_its_headers_say_so() -> None:
    import gzip

    response = _gzip_answer(gzip.compress(b'{"ok": true}'))
    assert response.json() == {"ok": True}
    assert "content-encoding" not in response.headers and response.headers["content-length"] == "12"


def test_a_cut_gzip_answer_is_an_invalid_response() -> None:
    import gzip

    from airflow_provider_cloudflows.errors import InvalidResponseError

    with pytest.raises(InvalidResponseError, match="ends early"):
        _gzip_answer(gzip.compress(b'{"ok": true}' * 100)[:-12])


def test_stacked_encodings_are_refused() -> None:
    import gzip

    from airflow_provider_cloudflows.errors import InvalidResponseError

    with pytest.raises(InvalidResponseError, match="only one of gzip or deflate"):
        _gzip_answer(gzip.compress(gzip.compress(b"{}")), encoding="gzip, gzip")


def test_a_deadline_belongs_to_the_thread_that_set_it() -> None:
    """A sensor's deadline scope never bounds another thread's requests (each worker its own)."""
    import threading

    from airflow_provider_cloudflows.hooks.deadline import time_left

    seen: list[float | None] = []
    with attempt_deadline(5):
        assert 0 < (time_left() or 0) <= 5
        thread = threading.Thread(target=lambda: seen.append(time_left()))
        thread.start()
        thread.join()
    assert seen == [None] and time_left() is None


@pytest.mark.asyncio
async def test_a_triggers_poll_ends_by_the_triggers_own_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deferred sensor 1.5 s from its timeout, polling a trickling API with 30 s attempts."""
    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

    with hostile_server("trickle") as server:
        _connection(monkeypatch, endpoint=url(server), retry_max_attempts=3, retry_base_delay=0.01)
        trigger = WorkflowRunTrigger(
            hook_class_path="airflow_provider_cloudflows.hooks.wedata.WeDataHook",
            conn_id="hostile",
            run_id="e-1",
            run_params={"project_id": "1"},
            poll_interval=0.2,
            deadline=time.time() + 1.5,
        )
        started = time.monotonic()
        events = [event.payload async for event in trigger.run()]
        elapsed = time.monotonic() - started
    assert [e["status"] for e in events] == ["timeout"]
    assert elapsed < 4, elapsed  # not the 30 s a single attempt may take
