"""How long to wait between attempts; one policy object shared by sync and async calls."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from airflow_provider_cloudflows.errors import CloudflowsError, ThrottledError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; a vendor's retry-after hint wins when larger.

    Full jitter (a uniform draw below the exponential ceiling) spreads out the many sensors and
    triggers that hit the same throttled API at once, instead of having them retry in lockstep.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def should_retry(self, error: CloudflowsError, attempt: int) -> bool:
        return error.retryable and attempt < self.max_attempts

    def delay(self, attempt: int, error: CloudflowsError | None = None) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        wait = self._random.uniform(ceiling / 2, ceiling)
        if isinstance(error, ThrottledError) and error.retry_after:
            wait = max(wait, min(error.retry_after, self.max_delay))
        return wait

    @classmethod
    def from_extras(cls, extras: dict) -> RetryPolicy:
        """Connection extras may tune retries: `retry_max_attempts`, `retry_base_delay`, `retry_max_delay`."""
        kwargs = {}
        for key, attr, kind in (
            ("retry_max_attempts", "max_attempts", int),
            ("retry_base_delay", "base_delay", float),
            ("retry_max_delay", "max_delay", float),
        ):
            if extras.get(key) not in (None, ""):
                kwargs[attr] = kind(extras[key])
        return cls(**kwargs)
