"""Everything mutable the emulator holds, in one object shared by the app, the services and control."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, MutableSet
from typing import Any

from airflow_provider_cloudflows.emulator.config import (
    FAMILIES,
    CredentialConfig,
    EmulatorConfig,
    FaultConfig,
)
from airflow_provider_cloudflows.emulator.faults import FaultInjector
from airflow_provider_cloudflows.emulator.requestlog import RequestLog
from airflow_provider_cloudflows.emulator.store import RunStore, ScriptedTaskRun
from airflow_provider_cloudflows.emulator.verify import Credential


class NonceCache(MutableSet[str]):
    """Signature nonces seen within the accepted clock skew; older ones are forgotten.

    A replay older than the skew window is already refused for its timestamp, so keeping a
    nonce longer than that only costs memory in a long benchmark.
    """

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _expire(self) -> None:
        horizon = self._clock() - self._ttl
        while self._seen:
            _, at = next(iter(self._seen.items()))
            if at >= horizon:
                break
            self._seen.popitem(last=False)

    def __contains__(self, nonce: object) -> bool:
        return nonce in self._seen

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._seen))

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, nonce: str) -> None:
        self._expire()
        self._seen[nonce] = self._clock()

    def discard(self, nonce: str) -> None:
        self._seen.pop(nonce, None)

    def clear(self) -> None:
        self._seen.clear()


class ConnectionRegistry:
    """Open client connections by peer address, so a "reset" fault can abort the right one.

    Filled by the server's HTTP protocol class (see server.py); empty when the app runs under
    another server, in which case a reset falls back to raising ConnectionResetError.
    """

    def __init__(self) -> None:
        self._transports: dict[tuple[str, int], asyncio.BaseTransport] = {}
        self._lock = threading.Lock()
        self.opened_total = 0  # connections accepted since start: shows keep-alive reuse
        self.peak = 0

    def opened(self, peer: tuple[str, int] | None, transport: asyncio.BaseTransport) -> None:
        if peer is not None:
            with self._lock:
                self._transports[peer] = transport
                self.opened_total += 1
                self.peak = max(self.peak, len(self._transports))

    def closed(self, peer: tuple[str, int] | None) -> None:
        if peer is not None:
            with self._lock:
                self._transports.pop(peer, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._transports)

    def reset(self, peer: Any) -> bool:
        """Abort the connection with an RST; False when it is unknown."""
        if not peer:
            return False
        with self._lock:
            transport = self._transports.get((peer[0], int(peer[1])))
        if transport is None:
            return False
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        return True


def _credentials(section: Mapping[str, CredentialConfig]) -> dict[str, Credential]:
    return {
        key_id: Credential(secret=cred.secret, security_token=cred.security_token)
        for key_id, cred in section.items()
    }


def _denied(section: Mapping[str, CredentialConfig]) -> dict[str, frozenset[str]]:
    return {key_id: frozenset(cred.denied_actions) for key_id, cred in section.items() if cred.denied_actions}


class EmulatorState:
    def __init__(self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] = time.time):
        self.config = config or EmulatorConfig()
        self._wall_clock = clock
        # Added to the wall clock for signature checks and vendor timestamps (PUT /_emulator/clock),
        # so a test can show what a client whose clock is off gets from the vendor.
        self.clock_offset_seconds = 0.0
        self.store = RunStore(seed=self.config.seed)
        self.log = RequestLog()
        self.connections = ConnectionRegistry()
        self.nonces = NonceCache(ttl_seconds=self.config.alibaba_max_skew_seconds * 2)
        self.credentials: dict[str, dict[str, Credential]] = {}
        self.denied_actions: dict[str, dict[str, frozenset[str]]] = {}
        self.faults = FaultInjector.disabled()
        self._apply_config()

    def clock(self) -> float:
        """The emulated vendor's time: the wall clock plus the configured offset."""
        return self._wall_clock() + self.clock_offset_seconds

    def denied(self, family: str, key_id: str | None) -> frozenset[str]:
        """Actions `key_id` may not call (empty: all)."""
        return self.denied_actions.get(family, {}).get(key_id or "", frozenset())

    def _apply_config(self) -> None:
        sections = {family: self.config.credentials_of(family) for family in FAMILIES}
        self.credentials = {family: _credentials(section) for family, section in sections.items()}
        self.denied_actions = {family: _denied(section) for family, section in sections.items()}
        self.clock_offset_seconds = 0.0
        self.set_faults(self.config.faults)
        for spec in self.config.runs:
            self.script_run(spec.model_dump())

    def set_faults(self, faults: FaultConfig | None) -> None:
        self.faults = FaultInjector.from_config(faults) if faults else FaultInjector.disabled()

    def set_credentials(self, family: str, section: Mapping[str, CredentialConfig], *, replace: bool) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown credential family {family!r}")
        fresh = _credentials(section)
        denied = _denied(section)
        if replace:
            self.credentials[family] = fresh
            self.denied_actions[family] = denied
        else:
            self.credentials[family] = {**self.credentials[family], **fresh}
            kept = {k: v for k, v in self.denied_actions[family].items() if k not in section}
            self.denied_actions[family] = {**kept, **denied}

    def script_run(self, spec: Mapping[str, Any]) -> None:
        """Create a run from the JSON form of config.ScriptedRunSpec (already validated)."""
        self.store.create(
            spec["vendor"],
            spec["run_id"],
            spec["states"],
            advance=spec.get("advance", "poll"),
            step_seconds=spec.get("step_seconds", 1.0),
            task_runs=[ScriptedTaskRun(**task) for task in spec.get("task_runs", [])],
            error_code=spec.get("error_code"),
            error_message=spec.get("error_message"),
            fields=spec.get("fields") or {},
            created_at=spec.get("created_at"),
            finishes_at=spec.get("finishes_at"),
            rerun_outcome=spec.get("rerun_outcome"),
        )

    def reset(self) -> None:
        """Back to the configured start: credentials, preloaded runs, faults, clock; no log, no nonces."""
        self.store.reset()
        self.log.clear(restart_seq=True)
        self.nonces.clear()
        self._apply_config()
