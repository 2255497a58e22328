"""Deterministic fault injection.

Every vendor API request (never a /_emulator/ request) consumes exactly one draw from
random.Random(seed), in arrival order, whether or not its vendor is targeted. So the same
seed and the same request sequence give the same faulted requests, and a draw of u < rate
also picks the kind: kinds[int(u / rate * len(kinds))].

Kinds and what a client sees:
  http500   HTTP 500 with the vendor's InternalError body
  http502   HTTP 502 text/html page from the gateway (not the vendor's error shape)
  http503   HTTP 503 with the vendor's ServiceUnavailable body
  throttle  the vendor's own throttling response (Alibaba Throttling.User + x-acs-retry-after,
            Tencent RequestLimitExceeded, COS 503 SlowDown)
  reset     the TCP connection is reset (RST) before any response byte
  slow      the normal response, after `slow_seconds`
  truncated the normal status and headers, but only the first half of the body (Content-Length
            matches what is sent), so the JSON/XML does not parse
  malformed HTTP 200 with the vendor's content type and a body that is not valid JSON/XML
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable

from airflow_provider_cloudflows.emulator.config import FAULT_KINDS, FaultConfig


class FaultInjector:
    def __init__(
        self,
        rate: float = 0.0,
        seed: int = 0,
        kinds: Iterable[str] | None = None,
        vendors: Iterable[str] | None = None,
        *,
        slow_seconds: float = 2.0,
        retry_after_ms: int = 500,
    ) -> None:
        self.config = FaultConfig(
            rate=rate,
            seed=seed,
            kinds=list(FAULT_KINDS if kinds is None else kinds),
            vendors=None if vendors is None else list(vendors),
            slow_seconds=slow_seconds,
            retry_after_ms=retry_after_ms,
        )
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.draws = 0
        self.injected = 0

    @classmethod
    def from_config(cls, config: FaultConfig) -> FaultInjector:
        return cls(
            config.rate,
            config.seed,
            config.kinds,
            config.vendors,
            slow_seconds=config.slow_seconds,
            retry_after_ms=config.retry_after_ms,
        )

    @classmethod
    def disabled(cls) -> FaultInjector:
        return cls(rate=0.0)

    @property
    def rate(self) -> float:
        return self.config.rate

    @property
    def slow_seconds(self) -> float:
        return self.config.slow_seconds

    @property
    def retry_after_ms(self) -> int:
        return self.config.retry_after_ms

    def draw(self, vendor: str | None) -> str | None:
        """The fault for the next request of `vendor` (None: serve it normally)."""
        config = self.config
        with self._lock:
            self.draws += 1
            if config.rate <= 0.0:
                return None
            u = self._random.random()
            if u >= config.rate:
                return None
            if vendor is None or (config.vendors is not None and vendor not in config.vendors):
                return None
            kinds = config.kinds
            kind = kinds[min(int(u / config.rate * len(kinds)), len(kinds) - 1)]
            self.injected += 1
            return kind

    def to_json(self) -> dict[str, object]:
        return {**self.config.model_dump(mode="json"), "draws": self.draws, "injected": self.injected}
