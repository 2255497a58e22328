"""One deadline per attempt, for whatever the current thread or task sends (stdlib only).

`attempt_deadline()` sets an absolute deadline; the network backends (hooks/network.py) give
every connect, write and read at most the time left, and one that starts after it fails at once.
Scopes nest and the nearest deadline wins, so a trigger's own deadline bounds its polls and their
retries. Kept apart from the backends so the trigger module can use it without importing httpcore.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token

# (absolute monotonic deadline, the seconds it was set for) of the innermost attempt, if any.
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("cloudflows_attempt_deadline", default=None)


class attempt_deadline:
    """Bound every socket operation in this scope by `seconds` from now (and any outer deadline).

    A class rather than a generator context manager: every request opens one.
    """

    __slots__ = ("seconds", "token")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.token: Token[tuple[float, float] | None] | None = None

    def __enter__(self) -> None:
        if self.seconds is None:
            return
        wanted = (time.monotonic() + self.seconds, self.seconds)
        outer = _deadline.get()
        self.token = _deadline.set(wanted if outer is None or wanted[0] < outer[0] else outer)

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            _deadline.reset(self.token)
            self.token = None


def current_deadline() -> tuple[float, float] | None:
    """(absolute monotonic deadline, the seconds it was set for) of the innermost scope, if any."""
    return _deadline.get()


def time_left() -> float | None:
    """Seconds left before the innermost deadline (None without one); never negative."""
    current = _deadline.get()
    return None if current is None else max(0.0, current[0] - time.monotonic())


def bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` cut to the time left; raises `error` when the deadline has already passed."""
    current = _deadline.get()
    if current is None:
        return timeout
    left = current[0] - time.monotonic()
    if left <= 0:
        raise error(f"the attempt's deadline of {current[1]:g} s passed")
    return left if timeout is None else min(timeout, left)
