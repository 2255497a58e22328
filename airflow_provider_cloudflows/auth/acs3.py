"""Alibaba Cloud ACS3-HMAC-SHA256 request signing (plus the legacy RPC HMAC-SHA1 signature).

Each step of the scheme is a pure function so that the client signer and the emulator's
verifier share one implementation and every step can be checked against published vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from airflow_provider_cloudflows.auth._base import SigningAuth, parse_query, split_authorization

ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Headers the signer always covers besides every x-acs-* header.
_BASE_SIGNED = ("host", "content-type")


def percent_encode(s: str) -> str:
    """RFC 3986 encoding as Alibaba defines it: only unreserved characters stay literal."""
    return quote(s, safe="~", encoding="utf-8")


def encode_query(params: Iterable[tuple[str, str]] | Mapping[str, str]) -> str:
    """Query string for the URL, encoded exactly as the canonical query will encode it.

    httpx keeps already percent-encoded bytes untouched, so a URL built from this string puts
    the same bytes on the wire that the signature covers.
    """
    pairs = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)


def canonical_query_string(params: Iterable[tuple[str, str]]) -> str:
    """Sort by key (UTF-8 byte order, which equals code point order) and encode keys and values."""
    ordered = sorted(params, key=lambda kv: (kv[0].encode("utf-8"), kv[1].encode("utf-8")))
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in ordered)


def canonical_uri(path: str) -> str:
    """Encoded path; RPC-style APIs always use '/'."""
    return quote(path, safe="/~", encoding="utf-8") if path else "/"


def canonical_request(
    method: str,
    canonical_uri: str,
    canonical_query: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    hashed_payload: str,
) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    names = sorted(h.lower() for h in signed_headers)
    canonical_headers = "".join(f"{name}:{lowered[name].strip()}\n" for name in names)
    return "\n".join(
        [method.upper(), canonical_uri, canonical_query, canonical_headers, ";".join(names), hashed_payload]
    )


def string_to_sign(canonical_request: str) -> str:
    return f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"


def sign(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(access_key_id: str, signed_headers: Sequence[str], signature: str) -> str:
    names = ";".join(sorted(h.lower() for h in signed_headers))
    return f"{ALGORITHM} Credential={access_key_id},SignedHeaders={names},Signature={signature}"


@dataclass(frozen=True)
class Acs3Authorization:
    access_key_id: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> Acs3Authorization:
    """Split an ACS3 Authorization header; ValueError when it does not follow the scheme."""
    fields = split_authorization(value, ALGORITHM)
    return Acs3Authorization(
        access_key_id=fields["Credential"],
        signed_headers=fields["SignedHeaders"].split(";"),
        signature=fields["Signature"],
    )


def rpc_v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    query = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    return f"{method.upper()}&%2F&{percent_encode(query)}"


def rpc_v1_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """Legacy RPC signature (SignatureVersion 1.0, HMAC-SHA1); `params` excludes Signature."""
    digest = hmac.new(
        f"{secret}&".encode(), rpc_v1_string_to_sign(method, params).encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def format_date(epoch: float) -> str:
    return time.strftime(DATE_FORMAT, time.gmtime(epoch))


def _default_nonce() -> str:
    return secrets.token_hex(16)


class Acs3Auth(SigningAuth):
    """Signs httpx requests with ACS3-HMAC-SHA256.

    The caller (hook) sets x-acs-action, x-acs-version and content-type; this adds the
    timestamp, nonce, payload hash, token and Authorization headers.
    """

    _public_attrs = ("access_key_id",)

    requires_request_body = True

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = _default_nonce,
        extra_signed_headers: Iterable[str] = (),
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self._token = security_token
        self._clock = clock
        self._nonce = nonce
        self._extra_signed = tuple(h.lower() for h in extra_signed_headers)

    def sign_request(self, request: httpx.Request) -> None:
        self.ensure_host(request)
        headers = request.headers
        headers["x-acs-date"] = format_date(self._clock())
        headers["x-acs-signature-nonce"] = self._nonce()
        hashed_payload = hashlib.sha256(request.content).hexdigest()
        headers["x-acs-content-sha256"] = hashed_payload
        if self._token:
            headers["x-acs-security-token"] = self._token
        # One pass over the raw headers: httpx.Headers decodes every header on each lookup,
        # which was a measurable share of a poll's CPU (benchmarks/poll_cost.py).
        plain = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers.raw}
        signed = sorted(
            name
            for name in plain
            if name in _BASE_SIGNED or name.startswith("x-acs-") or name in self._extra_signed
        )
        query = canonical_query_string(parse_query(request.url.query.decode("ascii")))
        creq = canonical_request(
            request.method, canonical_uri(request.url.path), query, plain, signed, hashed_payload
        )
        signature = sign(self._secret, string_to_sign(creq))
        headers["Authorization"] = authorization(self.access_key_id, signed, signature)
