"""Tencent COS / Cloud Infinite request signing (`q-sign-algorithm=sha1`).

Each step is a pure function shared by the client signer and the emulator's verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote

import httpx

from airflow_provider_cloudflows.auth._base import SigningAuth, parse_query

ALGORITHM = "sha1"
DEFAULT_TOKEN_HEADER = "x-ci-security-token"
TOKEN_HEADERS = ("x-ci-security-token", "x-cos-security-token")

# The official SDK signs only these headers (plus x-cos-*/x-ci-*); signing others is allowed by
# the scheme but would make our signatures differ from the SDK's for the same request.
SIGNABLE_HEADERS = frozenset(
    {
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-type",
        "content-md5",
        "content-length",
        "expect",
        "expires",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-unmodified-since",
        "origin",
        "range",
        "transfer-encoding",
        "pic-operations",
    }
)

_AUTH_FIELDS = (
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
)


def is_signable_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SIGNABLE_HEADERS or lowered.startswith(("x-cos-", "x-ci-"))


def encode(s: str) -> str:
    return quote(s, safe="-_.~", encoding="utf-8")


def key_time(start: int, end: int) -> str:
    return f"{start};{end}"


def sign_key(secret_key: str, key_time: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), key_time.encode("utf-8"), hashlib.sha1).hexdigest()


def _encoded_pairs(items: Iterable[tuple[str, str]]) -> tuple[str, str]:
    pairs = sorted((encode(k).lower(), encode(v)) for k, v in items)
    return ";".join(k for k, _ in pairs), "&".join(f"{k}={v}" for k, v in pairs)


def http_parameters(params: Iterable[tuple[str, str]] | Mapping[str, str]) -> tuple[str, str]:
    """(UrlParamList, HttpParameters); empty values are kept, as the SDK signs them too."""
    return _encoded_pairs(params.items() if isinstance(params, Mapping) else params)


def http_headers(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> tuple[str, str]:
    """(HeaderList, HttpHeaders) for headers already chosen for signing."""
    return _encoded_pairs(headers.items() if isinstance(headers, Mapping) else headers)


def http_string(method: str, path: str, http_params: str, http_headers: str) -> str:
    """`path` is the unencoded URI path; the other two come from http_parameters/http_headers."""
    return f"{method.lower()}\n{path}\n{http_params}\n{http_headers}\n"


def string_to_sign(key_time: str, http_string: str) -> str:
    return f"{ALGORITHM}\n{key_time}\n{hashlib.sha1(http_string.encode('utf-8')).hexdigest()}\n"


def sign(sign_key: str, string_to_sign: str) -> str:
    return hmac.new(sign_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).hexdigest()


def authorization(secret_id: str, key_time: str, header_list: str, param_list: str, signature: str) -> str:
    return (
        f"q-sign-algorithm={ALGORITHM}&q-ak={secret_id}&q-sign-time={key_time}&q-key-time={key_time}"
        f"&q-header-list={header_list}&q-url-param-list={param_list}&q-signature={signature}"
    )


def parse_authorization(value: str) -> dict[str, str]:
    """The q-* fields of a COS Authorization header; ValueError when any is missing or repeated."""
    fields: dict[str, str] = {}
    for part in value.strip().split("&"):
        key, eq, val = part.partition("=")
        if not eq or key in fields:
            raise ValueError("malformed Authorization component")
        fields[key] = val
    missing = [f for f in _AUTH_FIELDS if f not in fields]
    if missing:
        raise ValueError(f"Authorization lacks {', '.join(missing)}")
    for name in ("q-ak", "q-sign-time", "q-key-time", "q-signature"):
        if not fields[name]:
            raise ValueError(f"empty {name}")
    return fields


class CosAuth(SigningAuth):
    """Signs httpx requests for COS/CI with every query param and the SDK's header whitelist."""

    _public_attrs = ("secret_id",)

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        security_token: str | None = None,
        *,
        expire_seconds: int = 600,
        clock: Callable[[], float] = time.time,
        token_header: str = DEFAULT_TOKEN_HEADER,
    ) -> None:
        self.secret_id = secret_id
        self._secret = secret_key
        self._token = security_token
        self._expire = expire_seconds
        self._clock = clock
        self._token_header = token_header

    def sign_request(self, request: httpx.Request) -> None:
        self.ensure_host(request)
        headers = request.headers
        if self._token:
            headers[self._token_header] = self._token
        now = int(self._clock())
        ktime = key_time(now - 60, now + self._expire)
        param_list, params = http_parameters(parse_query(request.url.query.decode("ascii")))
        header_list, hdrs = http_headers([(k, v) for k, v in headers.items() if is_signable_header(k)])
        to_sign = string_to_sign(ktime, http_string(request.method, request.url.path, params, hdrs))
        signature = sign(sign_key(self._secret, ktime), to_sign)
        headers["Authorization"] = authorization(self.secret_id, ktime, header_list, param_list, signature)
