"""A bounded log of every vendor API request the emulator served (for assertions in tests)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class RequestRecord:
    seq: int  # arrival order, from 1; the fault draw of a request uses the same order
    time: float  # time.monotonic() at arrival
    method: str
    path: str
    vendor: str | None = None
    action: str | None = None
    status: int | None = None  # None when the connection was reset without a response
    fault: str | None = None
    key_id: str | None = None  # access key id / SecretId that signed the request, once verified
    run_id: str | None = None
    error_code: str | None = None  # the vendor error code sent back, if any
    duration_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self, maxlen: int = 100_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        # Bumped by clear(): a request still in flight when the log is cleared (a slow answer, a
        # test's reset) must not file its record, with its old seq, into the fresh log.
        self._generation = 0

    def start(self, method: str, path: str) -> RequestRecord:
        """A record for an arriving request; `finish` files it once the response is decided."""
        with self._lock:
            seq = next(self._seq)
        record = RequestRecord(seq=seq, time=time.monotonic(), method=method, path=path)
        record._generation = self._generation  # type: ignore[attr-defined]  # not a field: not in to_json
        return record

    def finish(self, record: RequestRecord) -> None:
        record.duration_ms = round((time.monotonic() - record.time) * 1000, 3)
        with self._lock:
            if getattr(record, "_generation", self._generation) == self._generation:
                self._records.append(record)

    def records(
        self,
        *,
        since: int | None = None,
        vendor: str | None = None,
        action: str | None = None,
        fault: str | None = None,
    ) -> list[RequestRecord]:
        """Records in arrival order; `since` keeps those with seq > since."""
        with self._lock:
            items = list(self._records)
        out = [
            r
            for r in items
            if (since is None or r.seq > since)
            and (vendor is None or r.vendor == vendor)
            and (action is None or r.action == action)
            and (fault is None or r.fault == fault)
        ]
        out.sort(key=lambda r: r.seq)
        return out

    def last_seq(self) -> int:
        with self._lock:
            return max((r.seq for r in self._records), default=0)

    def clear(self, *, restart_seq: bool = False) -> None:
        with self._lock:
            self._generation += 1
            self._records.clear()
            if restart_seq:
                self._seq = itertools.count(1)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
