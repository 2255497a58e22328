"""The control API under /_emulator/ (JSON); `EmulatorControl` (control_client.py) is its Python client.

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
from typing import TYPE_CHECKING, Any

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
)

# The client used to live here; importing it from this module still works.
from airflow_provider_cloudflows.emulator.control_client import EmulatorControl as EmulatorControl
from airflow_provider_cloudflows.emulator.control_client import EmulatorControlError as EmulatorControlError
from airflow_provider_cloudflows.emulator.store import RunNotFound

MAX_FILLER_BYTES = 10 * 1024 * 1024

if TYPE_CHECKING:
    from airflow_provider_cloudflows.emulator.routing import Router
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
    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "services": router.summary(),
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
