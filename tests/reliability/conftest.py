"""Reliability tests: fault soaks, fail-fast errors, restarts, timeouts, bad bodies, secrets, clock skew."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: longer soak tests (still part of every CI run; deselect with -m 'not slow')"
    )
