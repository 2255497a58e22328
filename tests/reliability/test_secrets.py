"""No secret key, security token or full signature ever leaves the signer.

Every vendor's flows run against the emulator with DEBUG logging captured (records, stdout and
stderr), with long-term and with STS credentials, through success, failure, deferral, retried
faults and a rejected secret. The Authorization headers actually sent are captured with httpx
event hooks; none of them, nor their signatures, the secret or the token, may appear in any log
record, printed line, exception message, repr of a hook or its credentials, trigger
serialization, trigger event or XCom value.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import traceback
from typing import Any
from unittest import mock

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from reliability_support import FAILURE, SUCCESS, VENDOR_IDS, VENDORS, VendorCase, collect_events

from airflow_provider_cloudflows.emulator import config
from airflow_provider_cloudflows.errors import CloudflowsError
from airflow_provider_cloudflows.hooks import base as hook_base
from airflow_provider_cloudflows.hooks.transport import AsyncPoolTransport, PoolTransport

CREDENTIALS = {
    ("alibabacloud", "plain"): (
        config.ALIBABA_DEMO_ACCESS_KEY_ID,
        config.ALIBABA_DEMO_ACCESS_KEY_SECRET,
        None,
    ),
    ("alibabacloud", "sts"): (
        config.ALIBABA_DEMO_STS_ACCESS_KEY_ID,
        config.ALIBABA_DEMO_STS_ACCESS_KEY_SECRET,
        config.ALIBABA_DEMO_STS_SECURITY_TOKEN,
    ),
    ("tencentcloud", "plain"): (config.TENCENT_DEMO_SECRET_ID, config.TENCENT_DEMO_SECRET_KEY, None),
    ("tencentcloud", "sts"): (
        config.TENCENT_DEMO_STS_SECRET_ID,
        config.TENCENT_DEMO_STS_SECRET_KEY,
        config.TENCENT_DEMO_STS_TOKEN,
    ),
}
# The hex or base64 signature inside each scheme's Authorization header.
SIGNATURE = re.compile(r"(?:Signature=|q-signature=)([0-9A-Za-z+/=]+)")
TOKEN_HEADERS = ("x-acs-security-token", "x-tc-token", "x-cos-security-token", "x-ci-security-token")


class Seen:
    """Everything a secret must not reach, and the secrets actually used on the wire."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.sent_headers: list[dict[str, str]] = []

    def capture(self, request: httpx.Request) -> None:
        self.sent_headers.append({k.lower(): v for k, v in request.headers.items()})

    def wrap(self, transport: Any) -> Any:
        """The same pool, recording the headers of every request sent through it."""
        seen = self

        if isinstance(transport, AsyncPoolTransport):

            class RecordingAsync(AsyncPoolTransport):
                def __init__(self) -> None:
                    self.pool = transport.pool

                async def read(self, request: httpx.Request, limits: Any) -> httpx.Response:
                    seen.capture(request)
                    return await transport.read(request, limits)

            return RecordingAsync()

        class Recording(PoolTransport):
            def __init__(self) -> None:
                self.pool = transport.pool

            def read(self, request: httpx.Request, limits: Any) -> httpx.Response:
                seen.capture(request)
                return transport.read(request, limits)

        return Recording()

    def watch(self, hook: Any) -> None:
        """Record every request `hook` sends on its own (sync) transport."""
        router = hook.transport
        hook.__dict__["transport"] = lambda url: self.wrap(router(url))

    def add(self, *values: Any) -> None:
        for value in values:
            self.texts.append(value if isinstance(value, str) else repr(value))

    def add_error(self, err: BaseException) -> None:
        self.add(str(err), repr(err), "".join(traceback.format_exception(err)))

    def forbidden(self, secret: str, token: str | None) -> list[str]:
        found = [secret] + ([token] if token else [])
        for headers in self.sent_headers:
            auth = headers.get("authorization")
            if auth:
                found.append(auth)
                found += SIGNATURE.findall(auth)
            found += [headers[h] for h in TOKEN_HEADERS if h in headers]
        return [f for f in found if len(f) >= 8]


@pytest.fixture
def everything(caplog):
    """Every log record at any level; `caplog.text` renders arguments and tracebacks."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "airflow_provider_cloudflows", "airflow"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _xcoms(ti: mock.MagicMock) -> list[Any]:
    return [
        c.kwargs.get("value", c.args[1] if len(c.args) > 1 else None) for c in ti.xcom_push.call_args_list
    ]


def _poke_flow(vendor: VendorCase, run_id: str, seen: Seen) -> None:
    ti = mock.MagicMock()
    sensor = vendor.sensor(run_id, poke_interval=0.01, timeout=30, mode="poke")
    seen.watch(sensor.hook)
    seen.add(
        repr(sensor.hook), repr(sensor.hook.credentials), repr(vars(sensor.hook)), repr(sensor.hook.auth)
    )
    try:
        value = sensor.execute({"ti": ti})
    except AirflowFailException as err:
        seen.add_error(err)
    else:
        seen.add(json.dumps(value))
    seen.add(*map(json.dumps, _xcoms(ti)))


def _deferred_flow(vendor: VendorCase, run_id: str, seen: Seen) -> None:
    ti = mock.MagicMock()
    sensor = vendor.sensor(run_id, poke_interval=0.01, timeout=30, deferrable=True)
    seen.watch(sensor.hook)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({"ti": ti})
    trigger = deferred.value.trigger
    seen.add(json.dumps(trigger.serialize()), repr(trigger))

    shared = hook_base.shared_async_transport
    with mock.patch.object(hook_base, "shared_async_transport", lambda url: seen.wrap(shared(url))):
        events = asyncio.run(collect_events(trigger, 30))
    seen.add(*map(json.dumps, events))
    try:
        value = sensor.execute_complete({"ti": ti}, events[0])
    except AirflowFailException as err:
        seen.add_error(err)
    else:
        seen.add(json.dumps(value))
    seen.add(*map(json.dumps, _xcoms(ti)))


@pytest.mark.parametrize("kind", ["plain", "sts"])
@pytest.mark.parametrize("vendor", VENDORS, ids=VENDOR_IDS)
def test_no_secret_token_or_signature_leaves_the_signer(
    vendor, kind, cloudflows_emulator, monkeypatch, everything, capfd
):
    emulator = cloudflows_emulator
    key_id, secret, token = CREDENTIALS[(vendor.family, kind)]
    extra = {"security_token": token} if token else {}
    monkeypatch.setenv(
        vendor.conn_env, vendor.connection_json(emulator, login=key_id, password=secret, **extra)
    )
    seen = Seen()
    specs = vendor.mixed_specs(4)
    emulator.control.script_runs([spec for _, _, spec in specs])
    assert {verdict for _, verdict, _ in specs} == {SUCCESS, FAILURE}

    # Success and failure, poking and deferred; then the same through retried faults.
    for run_id, _, _ in specs[:2]:
        _poke_flow(vendor, run_id, seen)
    emulator.control.script_runs([spec for _, _, spec in specs])
    for run_id, _, _ in specs[:2]:
        _deferred_flow(vendor, run_id, seen)
    emulator.control.set_faults(0.5, seed=7, kinds=["http502", "throttle", "malformed", "truncated", "reset"])
    for run_id, _, _ in specs[2:]:
        _poke_flow(vendor, run_id, seen)
    emulator.control.clear_faults()

    # A rejected secret: the vendor's error must not carry ours back into a message.
    monkeypatch.setenv(
        vendor.conn_env, vendor.connection_json(emulator, login=key_id, password="wrong-secret", **extra)
    )
    hook = vendor.hook_class()()
    seen.watch(hook)
    with pytest.raises(CloudflowsError) as rejected:
        hook.get_run(specs[0][0], **vendor.run_params)
    seen.add_error(rejected.value)
    seen.add(repr(hook), repr(hook.credentials), repr(vars(hook)))

    out, err = capfd.readouterr()
    seen.add(out, err, everything.text)
    # Airflow 3 renders hook loggers through structlog to the streams: both are checked.
    assert any("Attempt 1/" in t for t in seen.texts), "the faults produced no retry log"
    assert len(seen.sent_headers) >= 10
    if token:
        assert any(token in h.values() for h in seen.sent_headers), "the STS token was not sent"

    forbidden = seen.forbidden(secret, token) + seen.forbidden("wrong-secret", None)
    leaks = sorted({f[:12] + "..." for f in forbidden for text in seen.texts if f in text})
    assert not leaks, f"secrets leaked: {leaks}"


def test_the_detector_finds_a_planted_signature_token_and_secret():
    seen = Seen()
    seen.capture(
        httpx.Request(
            "GET",
            "http://127.0.0.1/",
            headers={
                "Authorization": "TC3-HMAC-SHA256 Credential=AKID/2025-01-01/wedata/tc3_request, "
                "SignedHeaders=content-type;host, Signature=" + "ab" * 32,
                "X-TC-Token": "token-0123456789",
            },
        )
    )
    seen.add("retrying after Signature=" + "ab" * 32, "token-0123456789 in a message", "the-secret-value")
    forbidden = seen.forbidden("the-secret-value", None)
    assert "ab" * 32 in forbidden and "token-0123456789" in forbidden
    assert all(any(f in t for t in seen.texts) for f in ["ab" * 32, "token-0123456789", "the-secret-value"])
