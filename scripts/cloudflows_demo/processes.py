"""Starting and stopping the demo's processes, so that none outlives it.

Every process runs in its own process group and is killed, group and all, on exit, on Ctrl-C,
on SIGTERM/SIGHUP and on failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloudflows_demo import ROOT


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if this runner is killed without a chance to clean up."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _primary_group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


@dataclass
class Managed:
    """A started process and the log that takes its stdout and stderr."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    long_running: bool


class ProcessSet:
    """Every process we start, each leading its own process group; `stop_all` kills every group.

    Airflow components fork workers and supervisors; killing the group (not just the leader)
    is what leaves nothing behind.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._procs: list[Managed] = []

    def __enter__(self) -> ProcessSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        cwd: Path = ROOT,
        long_running: bool = True,
        user: str | None = None,
    ) -> Managed:
        """Start `argv` in a process group of its own; with `user` (when root), as that user."""
        log_path = self.log_dir / f"{name}.log"
        as_user = {} if user is None else {"user": user, "group": _primary_group(user), "extra_groups": []}
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                **as_user,
            )
        managed = Managed(name, popen, log_path, long_running)
        self._procs.append(managed)
        return managed

    def run(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        timeout: float,
        cwd: Path = ROOT,
        user: str | None = None,
    ) -> Managed:
        """Run a command to completion (killed, with its group, at the timeout)."""
        managed = self.start(name, argv, env, cwd=cwd, long_running=False, user=user)
        try:
            managed.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(managed.popen.pid, signal.SIGKILL)
            managed.popen.wait()
        finally:
            # Its own children (e.g. task supervisors) go with it.
            self._kill_group(managed.popen.pid, signal.SIGKILL)
        return managed

    def check_alive(self) -> None:
        """Fail fast when an Airflow component died, naming it and its log."""
        for managed in self._procs:
            if managed.long_running and managed.popen.poll() is not None:
                raise RuntimeError(
                    f"{managed.name} exited with status {managed.popen.returncode}; "
                    f"see {managed.log_path}:\n{tail(managed.log_path)}"
                )

    def kill(self, name: str) -> None:
        """SIGKILL a process and its group at once (a crash, not a shutdown) and forget it."""
        for managed in [m for m in self._procs if m.name == name]:
            self._kill_group(managed.popen.pid, signal.SIGKILL)
            managed.popen.wait(timeout=30)
            self._procs.remove(managed)

    def signal(self, managed: Managed, sig: signal.Signals) -> bool:
        """Send `sig` to the process's whole group (e.g. SIGKILL a triggerer and its runner)."""
        return self._kill_group(managed.popen.pid, sig)

    def stop(self, managed: Managed, grace: float = 20.0) -> None:
        """Stop one process group as `stop_all` does, and forget it."""
        self._kill_group(managed.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        with contextlib.suppress(subprocess.TimeoutExpired):
            managed.popen.wait(timeout=grace)
        while time.monotonic() < deadline and self._group_alive(managed.popen.pid):
            time.sleep(0.2)
        self._kill_group(managed.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            managed.popen.wait(timeout=5)
        if managed in self._procs:
            self._procs.remove(managed)

    @staticmethod
    def _kill_group(pgid: int, sig: signal.Signals) -> bool:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop_all(self, grace: float = 20.0) -> None:
        """SIGTERM every group (newest first), wait up to `grace` seconds, then SIGKILL what is left."""
        for managed in reversed(self._procs):
            self._kill_group(managed.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for managed in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                managed.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
        while time.monotonic() < deadline and any(self._group_alive(m.popen.pid) for m in self._procs):
            time.sleep(0.2)
        for managed in self._procs:
            self._kill_group(managed.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                managed.popen.wait(timeout=5)
        self._procs.clear()


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit, SIGINT into KeyboardInterrupt, so `finally` blocks
    kill what we started."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Also when started in the background of a script, where SIGINT is ignored by default.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def ignoring_signals() -> Iterator[None]:
    """Let cleanup finish: a second Ctrl-C must not leave half-killed process groups behind."""
    previous = {
        sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log, indented: error messages show why a process failed right away."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def free_port() -> int:
    """A free port of 127.0.0.1, so a developer's own Airflow on the default ports is never touched."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
