"""An in-memory vendor for testing the vendor-neutral machinery (hook core, trigger, sensor, operators).

It speaks a tiny JSON protocol over httpx.MockTransport, so the real retry loop, error decoding and
operation driver run; only the network is replaced. Signing is vendor-specific and tested elsewhere
against the official SDKs, so this fake uses a trivial header auth that the transport checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from airflow_provider_cloudflows.connections.credentials import CloudCredentials
from airflow_provider_cloudflows.errors import InvalidResponseError
from airflow_provider_cloudflows.hooks.base import CloudflowsHook
from airflow_provider_cloudflows.hooks.operations import sync_and_async
from airflow_provider_cloudflows.protocols.base import WireProtocol
from airflow_provider_cloudflows.protocols.codes import classify
from airflow_provider_cloudflows.protocols.request import ApiRequest, Operation
from airflow_provider_cloudflows.runs import RunState, StateTable, TaskRun, WorkflowRun
from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor

FAKE_STATES = StateTable(
    "Fake",
    {
        "WAIT": RunState.QUEUED,
        "RUN": RunState.RUNNING,
        "HOLD": RunState.PAUSED,
        "OK": RunState.SUCCEEDED,
        "SKIP": RunState.SUCCEEDED,
        "BAD": RunState.FAILED,
        "STOP": RunState.CANCELLED,
    },
)


@dataclass
class FakeBackend:
    """Scripted runs: each GET advances a run one state; `faults` are answered first, one per request."""

    runs: dict[str, list[str]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    faults: list[Any] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("x-fake-key") != "good-secret":
            return httpx.Response(403, json={"code": "AccessDenied", "message": "bad key"})
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        path = request.url.path
        if request.method == "POST" and path == "/start":
            run_id = f"run-{len(self.started) + 1}"
            self.started.append(run_id)
            self.runs[run_id] = ["WAIT", "RUN", "OK"]
            return httpx.Response(200, json={"run_id": run_id})
        if request.method == "POST" and path.startswith("/stop/"):
            self.stopped.append(path.removeprefix("/stop/"))
            return httpx.Response(200, json={})
        run_id = path.removeprefix("/runs/")
        if run_id not in self.runs:
            return httpx.Response(404, json={"code": "NoSuchRun", "message": f"run {run_id} not found"})
        states = self.runs[run_id]
        n = self.polls.get(run_id, 0)
        self.polls[run_id] = n + 1
        state = states[min(n, len(states) - 1)]
        tasks = [{"name": "extract", "state": "OK"}, {"name": "load", "state": state}]
        return httpx.Response(200, json={"run_id": run_id, "state": state, "tasks": tasks})


BACKEND = FakeBackend()


class _HeaderAuth(httpx.Auth):
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request):
        request.headers["x-fake-key"] = self._secret
        yield request


class FakeProtocol(WireProtocol):
    """A tiny JSON protocol: `{"code", "message"}` errors, a header that carries the secret."""

    def signer(self, credentials: CloudCredentials) -> httpx.Auth:
        return _HeaderAuth(credentials.secret)

    def decode(self, request: ApiRequest, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise InvalidResponseError(
                "not JSON", vendor=self.vendor, action=request.action, http_status=response.status_code
            ) from None
        if response.is_success:
            return body
        raise classify(body.get("code"), response.status_code, ())(
            body.get("message", ""),
            vendor=self.vendor,
            action=request.action,
            http_status=response.status_code,
            code=body.get("code"),
        )


class FakeHook(CloudflowsHook):
    conn_name_attr = "fake_conn_id"
    default_conn_name = "fake_default"
    conn_type = "fake"
    hook_name = "Fake"
    vendor = "Fake"
    protocol = FakeProtocol("Fake")

    backend: FakeBackend = BACKEND

    def transport(self, url: httpx.URL) -> httpx.MockTransport:  # type: ignore[override]
        return httpx.MockTransport(self.backend.handle)

    async def async_transport(self, url: httpx.URL) -> httpx.MockTransport:
        return httpx.MockTransport(self.backend.handle)

    @sync_and_async
    def get_run(self, run_id: str, **params: Any) -> Operation[WorkflowRun]:
        body = yield ApiRequest("GET", f"https://fake.example/runs/{run_id}", "GetRun", run_id=run_id)
        return WorkflowRun(
            vendor=self.vendor,
            run_id=body["run_id"],
            state=FAKE_STATES(body["state"]),
            raw_state=body["state"],
            error_code="E42" if body["state"] == "BAD" else None,
            error_message="it broke" if body["state"] == "BAD" else None,
            task_runs=[
                TaskRun(name=t["name"], state=FAKE_STATES(t["state"]), raw_state=t["state"])
                for t in body["tasks"]
            ],
            detail=body,
        )

    def start(self) -> str:
        return self.call(ApiRequest("POST", "https://fake.example/start", "Start", idempotent=False))[
            "run_id"
        ]

    def stop(self, run_id: str) -> None:
        self.call(ApiRequest("POST", f"https://fake.example/stop/{run_id}", "Stop"))

    def console_url(self, run: WorkflowRun) -> str | None:
        return f"https://console.fake.example/runs/{run.run_id}"


class FakeRunSensor(WorkflowRunSensor):
    hook_class = FakeHook
    run_noun = "fake run"


FAKE_CONN = json.dumps(
    {
        "conn_type": "fake",
        "login": "key-id",
        "password": "good-secret",
        # Fast retries, set the way users tune them: through the connection extras.
        "extra": {"retry_base_delay": 0.001, "retry_max_delay": 0.01, "retry_max_attempts": 4},
    }
)
