"""`EmulatorControl`: the synchronous Python client of the emulator's control API (control.py).

It speaks HTTP to /_emulator/ only, so it works the same against an emulator in this process, in a
child process, or one started elsewhere (`CLOUDFLOWS_EMULATOR_URL`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from airflow_provider_cloudflows.emulator.config import FAMILIES, ScriptedRunSpec, ScriptedTaskRunSpec

# The body size script_runs keeps each request under: half the emulator's default request cap.
SCRIPT_BATCH_BYTES = 512 * 1024


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
        finishes_at: float | None = None,
    ) -> dict[str, Any]:
        """Script one run; returns its first snapshot.

        `fields` are the vendor's own fields of the run (DataWorks `ProjectId`, `WorkflowId`,
        `BizDate`, `Type`; WeData `ProjectId`, `WorkflowId`, `ScheduleTime`; ICE `WorkflowId`;
        CI `WorkflowId`, `Object`). `created_at` and `finishes_at` are wall-clock epoch seconds:
        the run is created then and reaches its last state at `finishes_at` (in the past: it has
        finished already, at that time).
        """
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
            finishes_at=finishes_at,
        )
        return self.script_runs([spec])[0]

    def script_runs(self, specs: Iterable[ScriptedRunSpec | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Script many runs, in as many requests as keep each body within the emulator's cap."""
        created: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        size = 0
        for spec in specs:
            item = ScriptedRunSpec.model_validate(spec).model_dump(mode="json")
            item_size = len(json.dumps(item)) + 2
            if batch and size + item_size > SCRIPT_BATCH_BYTES:
                created += self._call("POST", "/runs", json={"runs": batch})["runs"]
                batch, size = [], 0
            batch.append(item)
            size += item_size
        if batch or not created:
            created += self._call("POST", "/runs", json={"runs": batch})["runs"]
        return created

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
