"""Reliability tests: fault soaks, fail-fast errors, restarts, timeouts, bad bodies, secrets, clock skew."""
