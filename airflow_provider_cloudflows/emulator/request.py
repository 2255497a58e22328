"""A request as the emulator receives it: what the router, the verifiers and the services read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    path: str  # decoded path
    raw_query: str  # still percent-encoded, exactly as received
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def from_httpx(cls, request: httpx.Request) -> IncomingRequest:
        """What a server receives for this (already signed and read) httpx request."""
        return cls(
            method=request.method,
            path=request.url.path,
            raw_query=request.url.query.decode("ascii"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.content,
        )

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def lowered_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}
