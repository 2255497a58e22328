"""A fake ICE gateway that verifies every ACS3 signature for real, and a hook wired to it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

import httpx

from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.verify import (
    Credential,
    SignatureRejected,
    verify_acs3,
)
from airflow_provider_cloudflows.hooks.ice import IceHook
from airflow_provider_cloudflows.hooks.retry import RetryPolicy

KEY_ID, SECRET = "ice-test-key", "ice-test-secret"
FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)

Responder = Callable[[httpx.Request, dict[str, str]], httpx.Response]


class Gateway:
    """Verifies the signature like ICE's gateway, records requests, answers with a responder."""

    def __init__(self, responder: Responder, secret: str = SECRET) -> None:
        self.responder = responder
        self.credentials = {KEY_ID: Credential(secret=secret)}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        try:
            verify_acs3(IncomingRequest.from_httpx(request), self.credentials, now=time.time())
        except SignatureRejected as rejected:
            return error(rejected.http_status, rejected.code, rejected.message)
        return self.responder(request, dict(parse_qsl(request.url.query.decode())))


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {
        "RequestId": "req-err",
        "HostId": "ice.cn-shanghai.aliyuncs.com",
        "Code": code,
        "Message": message,
    }
    return httpx.Response(status, json=body, headers=headers)


def conn_json(secret: str = SECRET, **extra: object) -> str:
    return json.dumps(
        {
            "conn_type": "alibabacloud",
            "login": KEY_ID,
            "password": secret,
            "extra": {"region": "cn-shanghai", **extra},
        }
    )


def hook_with(gateway: Gateway, **kwargs: object) -> IceHook:
    hook = IceHook(retry_policy=FAST, **kwargs)
    transport = httpx.MockTransport(gateway)
    hook.__dict__["transport"] = lambda _url: transport
    hook.sleep = lambda _s: None
    return hook
