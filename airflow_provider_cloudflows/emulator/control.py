"""The control API under /_emulator/ (JSON) and `EmulatorControl`, its synchronous Python client.

GET    /_emulator/health                          services, counts, current faults
POST   /_emulator/runs                            script one run ({...}), or many ([...] or {"runs": [...]})
GET    /_emulator/runs?vendor=                    every run, as snapshots (no poll counted)
GET    /_emulator/runs/{vendor}/{run_id}          one run's snapshot (no poll counted)
POST   /_emulator/runs/{vendor}/{run_id}/stop     jump to {"state", "task_state"?, "error_code"?, ...}
DELETE /_emulator/runs/{vendor}/{run_id}
POST   /_emulator/reset                           runs, request log, faults, nonces, credentials
GET    /_emulator/requests?since=&vendor=&action=&fault=
DELETE /_emulator/requests
GET    /_emulator/faults    PUT (FaultConfig JSON)    DELETE
PUT    /_emulator/credentials                     {"alibabacloud": {id: {secret, security_token?,
                                                   denied_actions?}}, "tencentcloud": {...}, "replace": false}
GET    /_emulator/clock    PUT {"offset_seconds": 900}    DELETE
                                                  the vendors' clock, offset from this machine's
GET    /_emulator/bytes?size=N                    N bytes of filler: what a bare HTTP client pays
                                                  to fetch a body of that size (benchmarks)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airflow_provider_cloudflows.emulator.config import (
    FAMILIES,
    VENDORS,
    CredentialConfig,
    FaultConfig,
    ScriptedRunSpec,
    ScriptedTaskRunSpec,
)
from airflow_provider_cloudflows.emulator.store import RunNotFound

MAX_FILLER_BYTES = 10 * 1024 * 1024

if TYPE_CHECKING:
    from airflow_provider_cloudflows.emulator.app import Router
    from airflow_provider_cloudflows.emulator.state import EmulatorState


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str
    task_state: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class ClockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offset_seconds: float


class _CredentialsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def sections(self) -> dict[str, dict[str, CredentialConfig]]:
        """The families this update names, with their keys."""
        return {family: section for family in FAMILIES if (section := getattr(self, family)) is not None}


# The PUT /credentials body: an optional key table per credential family, then `replace`.
CredentialsUpdate = create_model(  # type: ignore[call-overload]
    "CredentialsUpdate",
    __base__=_CredentialsUpdate,
    **{family: (dict[str, CredentialConfig] | None, None) for family in FAMILIES},
    replace=(bool, False),
)


def _bad_request(exc: ValidationError | ValueError) -> JSONResponse:
    if isinstance(exc, ValidationError):
        detail: Any = json.loads(exc.json(include_url=False, include_input=False))
    else:
        detail = str(exc)
    return JSONResponse({"error": "invalid request", "detail": detail}, status_code=422)


async def _json(request: Request) -> Any:
    body = await request.body()
    return json.loads(body) if body else {}


def build_control_app(state: EmulatorState, router: Router) -> Starlette:
    from airflow_provider_cloudflows.emulator.app import service_summary

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "services": service_summary(router),
                "runs": len(state.store),
                "requests": len(state.log),
                "connections": {
                    "open": len(state.connections),
                    "opened_total": state.connections.opened_total,
                    "peak": state.connections.peak,
                },
                "faults": state.faults.to_json(),
            }
        )

    async def create_runs(request: Request) -> JSONResponse:
        try:
            payload = await _json(request)
            items = payload.get("runs", [payload]) if isinstance(payload, dict) else payload
            specs = [ScriptedRunSpec.model_validate(item) for item in items]
        except ValidationError as exc:
            return _bad_request(exc)
        except (ValueError, AttributeError, TypeError) as exc:
            return _bad_request(ValueError(f"expected a run object or a list of them: {exc}"))
        for spec in specs:
            state.script_run(spec.model_dump())
        snaps = [state.store.peek(spec.vendor, spec.run_id).to_json() for spec in specs]
        return JSONResponse({"runs": snaps}, status_code=201)

    async def list_runs(request: Request) -> JSONResponse:
        vendors = [request.query_params["vendor"]] if "vendor" in request.query_params else None
        runs = [
            state.store.snapshot_of(run).to_json()
            for vendor in (vendors or VENDORS)
            for run in state.store.list(vendor)
        ]
        return JSONResponse({"runs": runs})

    def _not_found(exc: RunNotFound) -> JSONResponse:
        return JSONResponse({"error": "not found", "detail": str(exc)}, status_code=404)

    async def get_run(request: Request) -> JSONResponse:
        vendor, run_id = request.path_params["vendor"], request.path_params["run_id"]
        try:
            return JSONResponse(state.store.peek(vendor, run_id).to_json())
        except RunNotFound as exc:
            return _not_found(exc)

    async def delete_run(request: Request) -> Response:
        state.store.delete(request.path_params["vendor"], request.path_params["run_id"])
        return Response(status_code=204)

    async def stop_run(request: Request) -> JSONResponse:
        vendor, run_id = request.path_params["vendor"], request.path_params["run_id"]
        try:
            stop = StopRequest.model_validate(await _json(request))
        except (ValidationError, ValueError) as exc:
            return _bad_request(exc)
        try:
            snap = state.store.stop(vendor, run_id, **stop.model_dump())
        except RunNotFound as exc:
            return _not_found(exc)
        return JSONResponse(snap.to_json())

    async def reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"status": "reset"})

    async def list_requests(request: Request) -> JSONResponse:
        q = request.query_params
        try:
            since = int(q["since"]) if q.get("since") else None
        except ValueError as exc:
            return _bad_request(exc)
        records = state.log.records(
            since=since, vendor=q.get("vendor"), action=q.get("action"), fault=q.get("fault")
        )
        return JSONResponse({"requests": [r.to_json() for r in records], "last_seq": state.log.last_seq()})

    async def clear_requests(request: Request) -> Response:
        state.log.clear()
        return Response(status_code=204)

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(state.faults.to_json())

    async def put_faults(request: Request) -> JSONResponse:
        try:
            faults = FaultConfig.model_validate(await _json(request))
        except (ValidationError, ValueError) as exc:
            return _bad_request(exc)
        state.set_faults(faults)
        return JSONResponse(state.faults.to_json())

    async def delete_faults(request: Request) -> JSONResponse:
        state.set_faults(None)
        return JSONResponse(state.faults.to_json())

    async def put_credentials(request: Request) -> JSONResponse:
        try:
            update = CredentialsUpdate.model_validate(await _json(request))
        except (ValidationError, ValueError) as exc:
            return _bad_request(exc)
        for family, section in update.sections().items():
            state.set_credentials(family, section, replace=update.replace)
        # Key ids only: secrets are never echoed.
        return JSONResponse({family: sorted(creds) for family, creds in state.credentials.items()})

    def clock_json() -> JSONResponse:
        return JSONResponse({"offset_seconds": state.clock_offset_seconds, "server_time": state.clock()})

    async def get_clock(request: Request) -> JSONResponse:
        return clock_json()

    async def put_clock(request: Request) -> JSONResponse:
        try:
            update = ClockUpdate.model_validate(await _json(request))
        except (ValidationError, ValueError) as exc:
            return _bad_request(exc)
        state.clock_offset_seconds = update.offset_seconds
        return clock_json()

    async def delete_clock(request: Request) -> JSONResponse:
        state.clock_offset_seconds = 0.0
        return clock_json()

    async def filler_bytes(request: Request) -> Response:
        try:
            size = int(request.query_params.get("size", "0"))
        except ValueError as exc:
            return _bad_request(exc)
        if not 0 <= size <= MAX_FILLER_BYTES:
            return _bad_request(ValueError(f"size must be within 0..{MAX_FILLER_BYTES}"))
        return Response(b"x" * size, media_type="application/octet-stream")

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/runs", create_runs, methods=["POST"]),
        Route("/runs", list_runs, methods=["GET"]),
        Route("/runs/{vendor}/{run_id}", get_run, methods=["GET"]),
        Route("/runs/{vendor}/{run_id}", delete_run, methods=["DELETE"]),
        Route("/runs/{vendor}/{run_id}/stop", stop_run, methods=["POST"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/requests", list_requests, methods=["GET"]),
        Route("/requests", clear_requests, methods=["DELETE"]),
        Route("/faults", get_faults, methods=["GET"]),
        Route("/faults", put_faults, methods=["PUT"]),
        Route("/faults", delete_faults, methods=["DELETE"]),
        Route("/credentials", put_credentials, methods=["PUT"]),
        Route("/clock", get_clock, methods=["GET"]),
        Route("/clock", put_clock, methods=["PUT"]),
        Route("/clock", delete_clock, methods=["DELETE"]),
        Route("/bytes", filler_bytes, methods=["GET"]),
    ]
    return Starlette(routes=routes)


# --------------------------------------------------------------------------- client


class EmulatorControl:
    """Synchronous client for the control API.

    >>> control = EmulatorControl("http://127.0.0.1:8790")
    >>> control.script_run("wedata", "run-1", ["PENDING", "RUNNING", "SUCCESS"])
    >>> control.requests(vendor="wedata")
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=f"{self.base_url}/_emulator", timeout=timeout)

    def __enter__(self) -> EmulatorControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"EmulatorControl({self.base_url!r})"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise EmulatorControlError(response.status_code, response.text)
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def script_run(
        self,
        vendor: str,
        run_id: str | int,
        states: Sequence[str],
        *,
        advance: str = "poll",
        step_seconds: float = 1.0,
        task_runs: Iterable[ScriptedTaskRunSpec | Mapping[str, Any]] = (),
        error_code: str | None = None,
        error_message: str | None = None,
        fields: Mapping[str, Any] | None = None,
        created_at: float | None = None,
    ) -> dict[str, Any]:
        """Script one run; returns its first snapshot."""
        spec = ScriptedRunSpec(
            vendor=vendor,
            run_id=str(run_id),
            states=list(states),
            advance=advance,  # type: ignore[arg-type]
            step_seconds=step_seconds,
            task_runs=[ScriptedTaskRunSpec.model_validate(t) for t in task_runs],
            error_code=error_code,
            error_message=error_message,
            fields=dict(fields or {}),
            created_at=created_at,
        )
        return self.script_runs([spec])[0]

    def script_runs(self, specs: Iterable[ScriptedRunSpec | Mapping[str, Any]]) -> list[dict[str, Any]]:
        payload = [ScriptedRunSpec.model_validate(s).model_dump(mode="json") for s in specs]
        return self._call("POST", "/runs", json={"runs": payload})["runs"]

    def get_run(self, vendor: str, run_id: str | int) -> dict[str, Any]:
        return self._call("GET", f"/runs/{vendor}/{run_id}")

    def runs(self, vendor: str | None = None) -> list[dict[str, Any]]:
        params = {"vendor": vendor} if vendor else {}
        return self._call("GET", "/runs", params=params)["runs"]

    def stop_run(self, vendor: str, run_id: str | int, state: str, **kwargs: Any) -> dict[str, Any]:
        return self._call("POST", f"/runs/{vendor}/{run_id}/stop", json={"state": state, **kwargs})

    def delete_run(self, vendor: str, run_id: str | int) -> None:
        self._call("DELETE", f"/runs/{vendor}/{run_id}")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def requests(
        self,
        *,
        since: int | None = None,
        vendor: str | None = None,
        action: str | None = None,
        fault: str | None = None,
    ) -> list[dict[str, Any]]:
        params = {
            k: v for k, v in {"since": since, "vendor": vendor, "action": action, "fault": fault}.items() if v
        }
        return self._call("GET", "/requests", params=params)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/faults")

    def set_faults(
        self,
        rate: float,
        *,
        seed: int = 0,
        kinds: Sequence[str] | None = None,
        vendors: Sequence[str] | None = None,
        slow_seconds: float | None = None,
        retry_after_ms: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"rate": rate, "seed": seed, "vendors": list(vendors) if vendors else None}
        if kinds is not None:
            body["kinds"] = list(kinds)
        if slow_seconds is not None:
            body["slow_seconds"] = slow_seconds
        if retry_after_ms is not None:
            body["retry_after_ms"] = retry_after_ms
        return self._call("PUT", "/faults", json=body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_credentials(
        self, *, replace: bool = False, **families: Mapping[str, Mapping[str, Any]] | None
    ) -> dict[str, list[str]]:
        """Add (or with `replace`, set) keys per family: `alibabacloud={id: {"secret": ...}}`, ..."""
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown:
            raise TypeError(f"set_credentials() got unknown families {unknown}; known: {', '.join(FAMILIES)}")
        body: dict[str, Any] = {
            family: dict(section) if (section := families.get(family)) is not None else None
            for family in FAMILIES
        }
        body["replace"] = replace
        return self._call("PUT", "/credentials", json=body)

    def clock(self) -> dict[str, float]:
        """{"offset_seconds", "server_time"}: the emulated vendors' clock."""
        return self._call("GET", "/clock")

    def set_clock_offset(self, offset_seconds: float) -> dict[str, float]:
        """Run the vendors' clock `offset_seconds` ahead of this machine's (negative: behind)."""
        return self._call("PUT", "/clock", json={"offset_seconds": offset_seconds})

    def reset_clock(self) -> dict[str, float]:
        return self._call("DELETE", "/clock")


class EmulatorControlError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"control API answered HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body
