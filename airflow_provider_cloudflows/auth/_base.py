"""Shared plumbing for the request signers."""

from __future__ import annotations

from collections.abc import Generator
from urllib.parse import parse_qsl

import httpx


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decode a query string as received; '+' means space, as the vendor SDKs send spaces."""
    return parse_qsl(raw_query, keep_blank_values=True)


def split_authorization(value: str, algorithm: str) -> dict[str, str]:
    """`<algorithm> Credential=..,SignedHeaders=..,Signature=..` into its three fields.

    ValueError when the algorithm differs, a field is missing, empty, repeated or unknown.
    """
    name, sep, rest = value.strip().partition(" ")
    if not sep or name != algorithm:
        raise ValueError(f"unsupported signature algorithm, expected {algorithm}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, val = part.strip().partition("=")
        if not eq or key in fields:
            raise ValueError("malformed Authorization component")
        fields[key] = val
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise ValueError("Authorization must carry exactly Credential, SignedHeaders and Signature")
    if not all(fields.values()):
        raise ValueError("empty Authorization component")
    return fields


class SigningAuth(httpx.Auth):
    """An httpx.Auth whose whole flow is one in-place `sign_request` call."""

    # Only these attributes appear in repr/str; secrets and tokens never do.
    _public_attrs: tuple[str, ...] = ()
    _token: str | None = None

    def sign_request(self, request: httpx.Request) -> None:
        raise NotImplementedError

    @staticmethod
    def ensure_host(request: httpx.Request) -> None:
        # httpx derives Host from the URL (with any non-default port) when building the
        # request; this covers requests whose headers were replaced afterwards.
        if "host" not in request.headers:
            request.headers["host"] = request.url.netloc.decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign_request(request)
        yield request

    def __repr__(self) -> str:
        shown = "".join(f"{name}={getattr(self, name)!r}, " for name in self._public_attrs)
        return f"{type(self).__name__}({shown}security_token={'***' if self._token else None})"

    def __str__(self) -> str:
        return repr(self)
