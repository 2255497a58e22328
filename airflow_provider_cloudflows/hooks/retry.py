"""How long to wait between attempts; one policy object shared by sync and async calls."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from airflow_provider_cloudflows.errors import CloudflowsError, InvalidRequestError, ThrottledError

MAX_ATTEMPTS = 20
MAX_DELAY = 600.0


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
    def from_extras(cls, extras: dict, *, conn_id: str = "", vendor: str = "cloud") -> RetryPolicy:
        """Connection extras may tune retries: `retry_max_attempts` (1-20), `retry_base_delay` and
        `retry_max_delay` (seconds, above 0 and at most 600). Anything else is a clear error, not
        a hot loop or an overflow."""
        kwargs: dict[str, int | float] = {}
        for key, attr, kind, low, high in (
            ("retry_max_attempts", "max_attempts", int, 1, MAX_ATTEMPTS),
            ("retry_base_delay", "base_delay", float, 0.0, MAX_DELAY),
            ("retry_max_delay", "max_delay", float, 0.0, MAX_DELAY),
        ):
            raw = extras.get(key)
            if raw in (None, ""):
                continue
            try:
                value = kind(raw) if not isinstance(raw, bool) else None
            except (TypeError, ValueError, OverflowError):
                value = None
            ok = value is not None and math.isfinite(value) and (low <= value if kind is int else low < value)
            if not ok or value > high or (kind is int and str(raw).strip() != str(value)):
                what = (
                    f"a whole number from {low} to {high}"
                    if kind is int
                    else f"seconds above 0, at most {high:g}"
                )
                raise InvalidRequestError(
                    f"connection {conn_id!r}: extra {key!r} is {raw!r}; it must be {what}", vendor=vendor
                )
            kwargs[attr] = value
        policy = cls(**kwargs)  # type: ignore[arg-type]
        if policy.base_delay > policy.max_delay:
            raise InvalidRequestError(
                f"connection {conn_id!r}: extra 'retry_base_delay' ({policy.base_delay:g} s) is larger than "
                f"'retry_max_delay' ({policy.max_delay:g} s)",
                vendor=vendor,
            )
        return policy
