"""Tencent Cloud API 3.0 TC3-HMAC-SHA256 request signing.

Each step is a pure function shared by the client signer and the emulator's verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from airflow_provider_cloudflows.auth._base import SigningAuth, split_authorization

ALGORITHM = "TC3-HMAC-SHA256"
TERMINATOR = "tc3_request"
SIGNED_HEADERS = ("content-type", "host")
JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# The SDK's opt-out of payload hashing; a verifier must honour it.
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def utc_date(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def canonical_request(
    method: str,
    canonical_query: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload: bytes,
) -> str:
    # Tencent's spec lowercases and trims both names and values of the signed headers;
    # the canonical URI is always "/" in API 3.0.
    lowered = {k.lower(): v for k, v in headers.items()}
    names = [h.lower() for h in signed_headers]
    canonical_headers = "".join(f"{name}:{lowered[name].strip().lower()}\n" for name in names)
    return "\n".join(
        [
            method.upper(),
            "/",
            canonical_query,
            canonical_headers,
            ";".join(names),
            hashlib.sha256(payload).hexdigest(),
        ]
    )


def credential_scope(date: str, service: str) -> str:
    return f"{date}/{service}/{TERMINATOR}"


def string_to_sign(timestamp: int, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def _hmac_sha256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    k_date = _hmac_sha256(f"TC3{secret_key}".encode(), date)
    return _hmac_sha256(_hmac_sha256(k_date, service), TERMINATOR)


def sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(secret_id: str, scope: str, signed_headers: Sequence[str], signature: str) -> str:
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )


@dataclass(frozen=True)
class Tc3Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: list[str]
    signature: str

    @property
    def scope(self) -> str:
        return credential_scope(self.date, self.service)


def parse_authorization(value: str) -> Tc3Authorization:
    """Split a TC3 Authorization header; ValueError when it does not follow the scheme."""
    fields = split_authorization(value, ALGORITHM)
    credential = fields["Credential"].split("/")
    if len(credential) != 4 or credential[3] != TERMINATOR or not all(credential):
        raise ValueError("Credential must be <SecretId>/<date>/<service>/tc3_request")
    return Tc3Authorization(
        secret_id=credential[0],
        date=credential[1],
        service=credential[2],
        signed_headers=fields["SignedHeaders"].split(";"),
        signature=fields["Signature"],
    )


class Tc3Auth(SigningAuth):
    """Signs httpx requests with TC3-HMAC-SHA256 (content-type and host are signed).

    The caller (hook) sets X-TC-Action, X-TC-Version, X-TC-Region and Content-Type.
    """

    _public_attrs = ("secret_id", "service")

    requires_request_body = True
    _KEY_CACHE_SIZE = 4

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        service: str,
        security_token: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret_id = secret_id
        self.service = service
        self._secret = secret_key
        self._token = security_token
        self._clock = clock
        # Derived keys change once per UTC day; kept per instance so no secret sits in module state.
        self._keys: dict[tuple[str, str], bytes] = {}

    def _signing_key(self, date: str) -> bytes:
        key = self._keys.get((date, self.service))
        if key is None:
            if len(self._keys) >= self._KEY_CACHE_SIZE:
                self._keys.clear()
            key = self._keys[(date, self.service)] = signing_key(self._secret, date, self.service)
        return key

    def sign_request(self, request: httpx.Request) -> None:
        self.ensure_host(request)
        headers = request.headers
        if "content-type" not in headers:
            headers["content-type"] = FORM_CONTENT_TYPE if request.method == "GET" else JSON_CONTENT_TYPE
        timestamp = int(self._clock())
        headers["X-TC-Timestamp"] = str(timestamp)
        if self._token:
            headers["X-TC-Token"] = self._token
        if request.method == "GET":
            query, payload = request.url.query.decode("ascii"), b""
        else:
            query, payload = "", request.content
        date = utc_date(timestamp)
        scope = credential_scope(date, self.service)
        creq = canonical_request(request.method, query, headers, SIGNED_HEADERS, payload)
        signature = sign(self._signing_key(date), string_to_sign(timestamp, scope, creq))
        headers["Authorization"] = authorization(self.secret_id, scope, SIGNED_HEADERS, signature)
