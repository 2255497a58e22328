"""Errors retrying cannot fix fail at once: ONE request (the emulator's request log proves it), and a
message that names the vendor's error code and the run - through the hook, the poking sensor and
the trigger alike.
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest import mock

import pytest
from reliability_support import (
    CLOUD_INFINITE,
    DATAWORKS,
    ICE,
    VENDOR_IDS,
    VENDORS,
    WEDATA,
    VendorCase,
    collect_events,
)

from airflow_provider_cloudflows.emulator import config
from airflow_provider_cloudflows.errors import (
    AuthError,
    CloudflowsError,
    InvalidRequestError,
    NotFoundError,
)

# The action each vendor's get_run calls first (what a missing permission is denied on).
GET_ACTION = {
    "ice": "GetWorkflowTask",
    "dataworks": "GetWorkflowInstance",
    "wedata": "GetTriggerWorkflowRun",
    "cloud_infinite": "DescribeMediaWorkflowExecution",
}
# (error class, vendor code) per failure and vendor.
EXPECTED: dict[str, dict[str, tuple[type[CloudflowsError], str]]] = {
    "wrong_secret": {
        "ice": (AuthError, "SignatureDoesNotMatch"),
        "dataworks": (AuthError, "SignatureDoesNotMatch"),
        "wedata": (AuthError, "AuthFailure.SignatureFailure"),
        "cloud_infinite": (AuthError, "SignatureDoesNotMatch"),
    },
    "unknown_key": {
        "ice": (AuthError, "InvalidAccessKeyId.NotFound"),
        "dataworks": (AuthError, "InvalidAccessKeyId.NotFound"),
        "wedata": (AuthError, "AuthFailure.SecretIdNotFound"),
        "cloud_infinite": (AuthError, "InvalidAccessKeyId"),
    },
    "no_permission": {
        "ice": (AuthError, "Forbidden.RAM"),
        "dataworks": (AuthError, "Forbidden.RAM"),
        "wedata": (AuthError, "AuthFailure.UnauthorizedOperation"),
        "cloud_infinite": (AuthError, "AccessDenied"),
    },
    "unknown_run": {
        "ice": (NotFoundError, "InvalidTaskId.NotFound"),
        "dataworks": (NotFoundError, "Invalid.WorkflowInstance.NotFound"),
        "wedata": (NotFoundError, "ResourceNotFound"),
        "cloud_infinite": (NotFoundError, "NoSuchResource"),
    },
}
FAILURES = list(EXPECTED)


@pytest.fixture
def vendor_emulator(cloudflows_emulator, monkeypatch, request):
    vendor: VendorCase = request.param
    monkeypatch.setenv(vendor.conn_env, vendor.connection_json(cloudflows_emulator))
    return vendor, cloudflows_emulator


def _arrange(failure: str, vendor: VendorCase, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Set the failure up; returns the run id to ask for."""
    run_id = vendor.run_id(1)
    final = next(iter(vendor.outcomes))
    if failure != "unknown_run":
        emulator.control.script_runs([vendor.spec(run_id, final)])
    else:
        run_id = vendor.run_id(999_999)
    if failure == "wrong_secret":
        monkeypatch.setenv(vendor.conn_env, vendor.connection_json(emulator, password="wrong-secret"))
    elif failure == "unknown_key":
        key = (
            "LTAI5tNoSuchKey000000000"
            if vendor.family == "alibabacloud"
            else "AKIDNoSuchKey000000000000000000"
        )
        monkeypatch.setenv(vendor.conn_env, vendor.connection_json(emulator, login=key))
    elif failure == "no_permission":
        if vendor.family == "alibabacloud":
            key, secret = config.ALIBABA_DEMO_ACCESS_KEY_ID, config.ALIBABA_DEMO_ACCESS_KEY_SECRET
        else:
            key, secret = config.TENCENT_DEMO_SECRET_ID, config.TENCENT_DEMO_SECRET_KEY
        emulator.control.set_credentials(
            **{vendor.family: {key: {"secret": secret, "denied_actions": [GET_ACTION[vendor.name]]}}}
        )
    return run_id


def _one_request(emulator: Any, vendor: VendorCase, code: str, run_id: str) -> None:
    records = emulator.control.requests(vendor=vendor.name)
    assert len(records) == 1, [(r["action"], r["status"], r["error_code"]) for r in records]
    assert records[0]["error_code"] == code
    assert records[0]["action"] == GET_ACTION[vendor.name]


def _names_code_and_run(text: str, code: str, run_id: str) -> None:
    assert code in text, text
    assert str(run_id) in text, text


@pytest.mark.parametrize("vendor_emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
@pytest.mark.parametrize("failure", FAILURES)
def test_hook_fails_in_one_request(vendor_emulator, failure, monkeypatch):
    vendor, emulator = vendor_emulator
    run_id = _arrange(failure, vendor, emulator, monkeypatch)
    error_class, code = EXPECTED[failure][vendor.name]
    hook = vendor.hook_class()()
    with pytest.raises(error_class) as caught:
        hook.get_run(run_id, **vendor.run_params)
    assert not caught.value.retryable
    assert caught.value.code == code
    _names_code_and_run(str(caught.value), code, run_id)
    _one_request(emulator, vendor, code, run_id)


@pytest.mark.parametrize("vendor_emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
@pytest.mark.parametrize("failure", FAILURES)
def test_poking_sensor_fails_in_one_request(vendor_emulator, failure, monkeypatch):
    vendor, emulator = vendor_emulator
    run_id = _arrange(failure, vendor, emulator, monkeypatch)
    error_class, code = EXPECTED[failure][vendor.name]
    sensor = vendor.sensor(run_id, poke_interval=0.01, timeout=30, mode="poke")
    with pytest.raises(error_class) as caught:
        sensor.execute({"ti": mock.MagicMock()})
    _names_code_and_run(str(caught.value), code, run_id)
    _one_request(emulator, vendor, code, run_id)


@pytest.mark.parametrize("vendor_emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
@pytest.mark.parametrize("failure", FAILURES)
def test_trigger_ends_with_an_error_event_after_one_request(vendor_emulator, failure, monkeypatch):
    import time

    vendor, emulator = vendor_emulator
    run_id = _arrange(failure, vendor, emulator, monkeypatch)
    _, code = EXPECTED[failure][vendor.name]
    trigger = vendor.sensor(run_id, poke_interval=0.01, timeout=30).build_trigger(deadline=time.time() + 30)
    events = asyncio.run(collect_events(trigger, 20))
    assert [e["status"] for e in events] == ["error"]
    _names_code_and_run(events[0]["message"], code, run_id)
    _one_request(emulator, vendor, code, run_id)


# -- a required parameter the vendor wants and did not get ------------------------------------------


def _request_missing_a_parameter(vendor: VendorCase, hook: Any, run_id: str) -> Any:
    if vendor is ICE:
        return hook.request("GetWorkflowTask", query={"TaskId": ""}, run_id=run_id)
    if vendor is DATAWORKS:
        return hook.request("GetWorkflowInstance", method="GET", query={}, run_id=run_id)
    if vendor is WEDATA:
        return hook.request("GetTriggerWorkflowRun", {"WorkflowExecutionId": run_id}, run_id=run_id)
    assert vendor is CLOUD_INFINITE
    return hook.request(
        "GET",
        "/workflowexecution",
        [],
        action="DescribeMediaWorkflowExecutions",
        bucket=hook.bucket_for(None),
        run_id=run_id,
    )


MISSING_CODE = {
    "ice": "MissingParameter",
    "dataworks": "MissingParameter",
    "wedata": "MissingParameter",
    "cloud_infinite": "InvalidArgument",
}


@pytest.mark.parametrize("vendor_emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_missing_required_parameter_fails_in_one_request(vendor_emulator):
    vendor, emulator = vendor_emulator
    run_id = vendor.run_id(3)
    hook = vendor.hook_class()()
    with pytest.raises(InvalidRequestError) as caught:
        hook.call(_request_missing_a_parameter(vendor, hook, run_id))
    code = MISSING_CODE[vendor.name]
    assert caught.value.code == code
    _names_code_and_run(str(caught.value), code, run_id)
    records = emulator.control.requests(vendor=vendor.name)
    assert [r["error_code"] for r in records] == [code]


@pytest.mark.parametrize("vendor_emulator", VENDORS, ids=VENDOR_IDS, indirect=True)
def test_an_empty_run_id_is_refused_before_any_request(vendor_emulator):
    vendor, emulator = vendor_emulator
    with pytest.raises(InvalidRequestError):
        vendor.hook_class()().get_run("", **vendor.run_params)
    assert emulator.control.requests(vendor=vendor.name) == []
