"""The Airflow REST API of a local demo site, and the waits built on it (components, DAGs, runs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from cloudflows_demo.processes import ProcessSet
from cloudflows_demo.report import say


def wait_until(what: str, check: Callable[[], Any], *, timeout: float, interval: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; raise naming `what` at the timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        # A component still starting refuses connections or answers with an error page: poll on
        # and name the last error at the timeout.
        except (httpx.HTTPError, OSError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout:.0f} s waiting for {what}" + (f" ({last_error})" if last_error else "")
    )


class ApiClient:
    """The Airflow REST API as the admin of a local simple-auth-manager site."""

    def __init__(self, base_url: str, procs: ProcessSet | None = None) -> None:
        self.base_url = base_url
        self.procs = procs
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def wait_ready(self, components: Sequence[str], timeout: float = 120) -> None:
        def healthy() -> bool:
            if self.procs:
                self.procs.check_alive()
            response = self.http.get("/api/v2/monitor/health", timeout=3)
            if response.status_code != 200:
                return False
            health = response.json()
            wanted = {"metadatabase", *(c.replace("-", "_") for c in components if c != "api-server")}
            return all(health.get(c, {}).get("status") == "healthy" for c in wanted)

        wait_until("the Airflow components to report healthy", healthy, timeout=timeout)
        token = self.http.get("/auth/token").raise_for_status().json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(path, params=params or None).raise_for_status().json()

    def post(self, path: str, body: Any) -> Any:
        return self.http.post(path, json=body).raise_for_status().json()

    def patch(self, path: str, body: Any) -> Any:
        return self.http.patch(path, json=body).raise_for_status().json()

    def wait_for_dags(self, dag_ids: Sequence[str], timeout: float = 120) -> None:
        def parsed() -> bool:
            if self.procs:
                self.procs.check_alive()
            errors = self.get("/api/v2/importErrors")["import_errors"]
            if errors:
                raise RuntimeError("DAG import errors:\n" + "\n".join(e["stack_trace"] for e in errors))
            known = {d["dag_id"] for d in self.get("/api/v2/dags", limit=1000)["dags"]}
            return set(dag_ids) <= known

        wait_until(f"the dag-processor to parse {', '.join(dag_ids)}", parsed, timeout=timeout, interval=1)

    def trigger(self, dag_id: str) -> str:
        self.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})
        # A logical date (now, as the UI's trigger button sends) so templates may use `ds`.
        body = {"logical_date": datetime.now(UTC).isoformat()}
        return str(self.post(f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def wait_for_runs(self, runs: Mapping[str, str], timeout: float) -> dict[str, str]:
        """Wait until every (dag_id -> run_id) is finished; return their states."""
        states: dict[str, str] = {}

        def finished() -> bool:
            if self.procs:
                self.procs.check_alive()
            for dag_id, run_id in runs.items():
                if states.get(dag_id) in ("success", "failed"):
                    continue
                state = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
                if state != states.get(dag_id):
                    say(f"    {dag_id}: {state}")
                states[dag_id] = state
            return all(s in ("success", "failed") for s in states.values())

        wait_until("the DAG runs to finish", finished, timeout=timeout, interval=2)
        return states
