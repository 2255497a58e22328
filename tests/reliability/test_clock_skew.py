"""A request the vendor refuses for its time says this machine's clock is off, and by how much.

The emulator's vendor clock is offset (PUT /_emulator/clock) instead of mocking the signer, so the
real TC3 / COS signatures are refused by the real verifiers for their time.
"""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest
from reliability_support import CLOUD_INFINITE, WEDATA, VendorCase

from airflow_provider_cloudflows.errors import ClockSkewError
from airflow_provider_cloudflows.protocols.base import clock_skew_error

OFFSET = 900  # well past TC3's five minutes and COS's signature window


@pytest.fixture
def tencent(cloudflows_emulator, monkeypatch):
    def use(vendor: VendorCase):
        monkeypatch.setenv(vendor.conn_env, vendor.connection_json(cloudflows_emulator))
        run_id = vendor.run_id(5)
        cloudflows_emulator.control.script_runs([vendor.spec(run_id, next(iter(vendor.outcomes)))])
        return cloudflows_emulator, run_id

    return use


def _skew_error(vendor: VendorCase, run_id: str) -> ClockSkewError:
    with pytest.raises(ClockSkewError) as caught:
        vendor.hook_class()().get_run(run_id, **vendor.run_params)
    return caught.value


@pytest.mark.parametrize(
    ("vendor", "server_offset", "code"),
    [
        (WEDATA, OFFSET, "AuthFailure.SignatureExpire"),
        (WEDATA, -OFFSET, "AuthFailure.SignatureExpire"),
        # COS signs a window [now - 60 s, now + 600 s]: a server behind it is "too skewed", a
        # server past its end calls the request expired.
        (CLOUD_INFINITE, -OFFSET, "RequestTimeTooSkewed"),
        (CLOUD_INFINITE, OFFSET, "AccessDenied"),
    ],
    ids=["wedata-server-ahead", "wedata-server-behind", "ci-server-behind", "ci-server-ahead"],
)
def test_time_refusal_names_the_skew(tencent, vendor, server_offset, code):
    emulator, run_id = tencent(vendor)
    emulator.control.set_clock_offset(server_offset)
    err = _skew_error(vendor, run_id)
    assert err.code == code
    assert not err.retryable
    # The machine is behind a server that runs ahead, and the other way round.
    assert err.skew_seconds is not None and abs(err.skew_seconds + server_offset) <= 5, err.skew_seconds
    direction = "behind" if server_offset > 0 else "ahead of"
    assert f"this machine's clock is {OFFSET} s {direction} the server's" in str(err) or (
        f"s {direction} the server's" in str(err)
    )
    assert str(run_id) in str(err)
    records = emulator.control.requests(vendor=vendor.name)
    assert [r["error_code"] for r in records] == [code]  # refused once, not retried

    emulator.control.reset_clock()
    assert vendor.hook_class()().get_run(run_id, **vendor.run_params).run_id == run_id


@pytest.mark.parametrize("vendor", [WEDATA, CLOUD_INFINITE], ids=["wedata", "cloud_infinite"])
def test_a_small_offset_is_accepted(tencent, vendor):
    emulator, run_id = tencent(vendor)
    emulator.control.set_clock_offset(30)
    assert vendor.hook_class()().get_run(run_id, **vendor.run_params).run_id == run_id
    assert emulator.control.clock()["offset_seconds"] == 30


def test_the_server_time_comes_from_the_date_header_when_the_message_has_none():
    """The vendor's documented SignatureExpire message gives no time; its gateway's Date header does."""
    sent = int(time.time())
    request = httpx.Request(
        "POST", "https://wedata.tencentcloudapi.com/", headers={"X-TC-Timestamp": str(sent)}
    )
    response = httpx.Response(200, headers={"Date": formatdate(sent + 600, usegmt=True)}, request=request)
    err = clock_skew_error(
        "Signature expired. Timestamp and server time cannot differ by more than 5 minutes.",
        response,
        request_time_header="X-TC-Timestamp",
        vendor="WeData",
        code="AuthFailure.SignatureExpire",
    )
    assert err.skew_seconds == -600
    assert "this machine's clock is 600 s behind the server's" in str(err)


def test_without_any_server_time_the_error_still_says_the_clock_is_off():
    request = httpx.Request("POST", "https://wedata.tencentcloudapi.com/")
    err = clock_skew_error(
        "Signature expired.", httpx.Response(200, request=request), request_time_header=None, vendor="WeData"
    )
    assert err.skew_seconds is None
    assert "clock is off" in str(err)
