"""Run the emulator: in a background thread (`EmulatorServer`), in a child process
(`run_subprocess`), or in the foreground (`serve`, used by `python -m ...emulator`).

uvicorn settings are chosen for many concurrent keep-alive pollers: httptools (h11 when it
is not installed), keep-alive kept for 75 s so idle pollers keep their connections, no
concurrency limit, a deep accept backlog and no access log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from airflow_provider_cloudflows.emulator.config import FAMILIES, EmulatorConfig
from airflow_provider_cloudflows.emulator.guard import check_bind_host

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

    from airflow_provider_cloudflows.emulator.control_client import EmulatorControl
    from airflow_provider_cloudflows.emulator.services.base import Service
    from airflow_provider_cloudflows.emulator.state import ConnectionRegistry, EmulatorState

KEEP_ALIVE_SECONDS = 75
BACKLOG = 4096
READY_LINE_PREFIX = "cloudflows emulator listening on "


def _base_protocol() -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


def tracking_protocol(registry: ConnectionRegistry) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with TCP_NODELAY, filing each connection for the "reset" fault."""
    base: Any = _base_protocol()

    class TrackingProtocol(base):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                # The asyncio loop leaves Nagle on for accepted sockets; with headers and body
                # written separately, every keep-alive response would then wait ~40 ms for the
                # client's delayed ACK.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)
            self._cloudflows_peer = self.client
            registry.opened(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.closed(getattr(self, "_cloudflows_peer", None))
            super().connection_lost(exc)

    return TrackingProtocol


def bind_socket(host: str, port: int, *, allow_non_loopback: bool = False) -> socket.socket:
    """A listening socket on `host`; a host beyond loopback needs `allow_non_loopback`."""
    check_bind_host(host, allow_non_loopback=allow_non_loopback)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def uvicorn_config(app: Starlette, *, loop: str = "auto", log_level: str = "warning") -> uvicorn.Config:
    import uvicorn

    state: EmulatorState = app.state.emulator
    return uvicorn.Config(
        app,
        http=tracking_protocol(state.connections),
        loop=loop,  # type: ignore[arg-type]
        lifespan="off",
        access_log=False,
        server_header=False,
        # The app stamps `date` from the emulated vendor clock (see app.VendorApp).
        date_header=False,
        log_level=log_level,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=None,
        backlog=BACKLOG,
        timeout_graceful_shutdown=5,
    )


def wait_healthy(url: str, timeout: float = 30.0, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the emulator stopped while starting")
        try:
            if httpx.get(f"{url}/_emulator/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"the emulator at {url} did not become healthy in {timeout} s: {last!r}")


def _new_loop() -> asyncio.AbstractEventLoop:
    # A private loop (uvloop when available) so the server thread never touches the global policy.
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


class EmulatorServer:
    """The emulator on a background thread with its own event loop.

    >>> with EmulatorServer() as server:
    ...     server.control.script_run("ice", "t-1", ["Init", "Processing", "Succeed"])
    ...     hook_endpoint = server.url
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        services: Iterable[type[Service]] | None = None,
        log_level: str = "warning",
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self._services = None if services is None else list(services)
        self._log_level = log_level
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._control: EmulatorControl | None = None
        self.url = ""
        self.app: Starlette | None = None

    @property
    def state(self) -> EmulatorState:
        if self.app is None:
            raise RuntimeError("the emulator is not started")
        return self.app.state.emulator

    @property
    def control(self) -> EmulatorControl:
        from airflow_provider_cloudflows.emulator.control_client import EmulatorControl

        if self._control is None:
            if not self.url:
                raise RuntimeError("the emulator is not started")
            self._control = EmulatorControl(self.url)
        return self._control

    def start(self, timeout: float = 30.0) -> EmulatorServer:
        import uvicorn

        from airflow_provider_cloudflows.emulator.app import create_app

        if self._thread is not None:
            return self
        self.app = create_app(self.config, services=self._services)
        sock = bind_socket(self.host, self.port, allow_non_loopback=self.config.allow_non_loopback)
        self.url = url_of(sock)
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(self.app, loop="none", log_level=self._log_level))
        self._server = server
        errors: list[BaseException] = []

        def run() -> None:
            loop = _new_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.serve(sockets=[sock]))
            except BaseException as exc:  # surfaced by start()
                errors.append(exc)
            finally:
                loop.close()
                sock.close()

        self._thread = threading.Thread(target=run, name=f"cloudflows-emulator-{self.port}", daemon=True)
        self._thread.start()
        try:
            wait_healthy(self.url, timeout, alive=self._thread.is_alive)
        except Exception:
            self.stop()
            if errors:
                raise RuntimeError("the emulator failed to start") from errors[0]
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._server = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r})"


def serve(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8790,
    *,
    log_level: str = "warning",
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted; `announce` gets the URL once listening.

    A host beyond loopback needs `config.allow_non_loopback` (guard.check_bind_host).
    """
    import uvicorn

    from airflow_provider_cloudflows.emulator.app import create_app

    config = config or EmulatorConfig()
    sock = bind_socket(host, port, allow_non_loopback=config.allow_non_loopback)
    app = create_app(config)
    if announce is not None:
        announce(url_of(sock))
    uvicorn.Server(uvicorn_config(app, log_level=log_level)).run(sockets=[sock])


class EmulatorProcess:
    """An emulator in a child process (`python -m airflow_provider_cloudflows.emulator`)."""

    def __init__(self, process: subprocess.Popen[str], url: str, config_path: Path | None) -> None:
        self.process = process
        self.url = url
        self._config_path = config_path
        self._control: EmulatorControl | None = None

    @property
    def control(self) -> EmulatorControl:
        from airflow_provider_cloudflows.emulator.control_client import EmulatorControl

        if self._control is None:
            self._control = EmulatorControl(self.url)
        return self._control

    def stop(self, timeout: float = 10.0) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self._config_path is not None:
            with contextlib.suppress(OSError):
                self._config_path.unlink()
            self._config_path = None

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorProcess(pid={self.process.pid}, url={self.url!r})"


def run_subprocess(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int | None = None,
    python: str = sys.executable,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    demo_runs: bool = False,
) -> EmulatorProcess:
    """Start the emulator in a child process (port 0: a free one) and wait until it is healthy.

    `demo_runs=True` preloads the demo runs (`--demo-runs`).
    """
    config_path: Path | None = None
    args = [python, "-m", "airflow_provider_cloudflows.emulator", "--host", host, "--port", str(port)]
    if demo_runs:
        args.append("--demo-runs")
    if config is not None:
        fd, name = tempfile.mkstemp(prefix="cloudflows-emulator-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(config.to_json())
        config_path = Path(name)
        args += ["--config", name]
    if seed is not None:
        args += ["--seed", str(seed)]
    args += list(extra_args)
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, bufsize=1
    )
    found: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        # Reads the ready line, then keeps the pipe empty so the child never blocks on it.
        assert process.stdout is not None
        for line in process.stdout:
            if not found and line.startswith(READY_LINE_PREFIX):
                found.append(line[len(READY_LINE_PREFIX) :].strip())
                ready.set()
        ready.set()

    threading.Thread(target=drain, name="cloudflows-emulator-stdout", daemon=True).start()
    emulator = EmulatorProcess(process, "", config_path)
    if not ready.wait(timeout) or not found:
        emulator.stop()
        raise RuntimeError(f"the emulator process did not start (exit code {process.poll()})")
    emulator.url = found[0]
    try:
        wait_healthy(emulator.url, timeout, alive=lambda: process.poll() is None)
    except Exception:
        emulator.stop()
        raise
    return emulator


def announce_ready(url: str) -> None:
    print(READY_LINE_PREFIX + url, flush=True)


def describe(config: EmulatorConfig) -> str:
    """A short, secret-free summary for the CLI banner."""
    return json.dumps(
        {
            **{f"{family}_keys": sorted(config.credentials_of(family)) for family in FAMILIES},
            "runs": len(config.runs),
            "faults": None if config.faults is None else config.faults.model_dump(mode="json"),
            "seed": config.seed,
        }
    )
