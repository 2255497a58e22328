"""A vendor call described as data: what a protocol builds and the hook core signs and sends."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request to a vendor API, before signing.

    `url` carries the query string already encoded exactly as it is signed (vendors differ in
    their percent-encoding, and httpx must not re-encode it). `idempotent=False` marks calls
    that start or stop something: those are only retried when the vendor certainly did not act
    (throttled, or the connection was never made).
    """

    method: str
    url: str
    action: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    run_id: str | None = None
    idempotent: bool = True


# A vendor operation is a generator: it yields ApiRequests, receives each decoded payload, and
# returns its result. The hook drives it with a sync or an async transport, so multi-call
# operations (a run, then every page of its task runs) are written once.
Operation = Generator[ApiRequest, Any, T]
