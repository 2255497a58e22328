"""What an Airflow connection of either type holds, read and checked once per hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_cloudflows.errors import InvalidRequestError

MAX_RESPONSE_BYTES_CEILING = 1024 * 1024 * 1024


@dataclass(frozen=True)
class CloudCredentials:
    """A connection's key pair and settings. `repr` never shows the secret or the token."""

    key_id: str
    secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    region: str | None = None
    endpoint: str | None = None
    extras: dict[str, Any] = field(default_factory=dict, repr=False)
    conn_id: str = ""


def with_scheme(endpoint: str | None) -> str | None:
    """Endpoints are base URLs; a bare host name means HTTPS, as it does for the vendors' own hosts."""
    endpoint = (endpoint or "").strip().rstrip("/")
    if not endpoint:
        return None
    return endpoint if "://" in endpoint else f"https://{endpoint}"


def read_credentials(
    conn_id: str,
    conn: Any,
    extras: dict[str, Any],
    *,
    vendor: str,
    region: str | None = None,
    endpoint: str | None = None,
) -> CloudCredentials:
    """The credentials of Airflow connection `conn` (its extras already decoded); overrides win."""
    key_id, secret = (
        _clean(conn.login, "login", conn_id, vendor),
        _clean(conn.password, "password", conn_id, vendor),
    )
    if not key_id or not secret:
        raise InvalidRequestError(
            f"connection {conn_id!r} needs the key id as login and the secret as password",
            vendor=vendor,
        )
    return CloudCredentials(
        key_id=key_id,
        secret=secret,
        security_token=_clean(extras.get("security_token"), "extra 'security_token'", conn_id, vendor)
        or None,
        region=region or extras.get("region") or None,
        endpoint=with_scheme(endpoint or extras.get("endpoint")),
        extras=extras,
        conn_id=conn_id,
    )


def _clean(value: Any, what: str, conn_id: str, vendor: str) -> str:
    """A credential as pasted, without the whitespace around it; one with a control character inside
    is refused by naming where it is, never its value (it would end up in a header and a log)."""
    text = "" if value is None else str(value).strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidRequestError(
            f"connection {conn_id!r}: the {what} contains a line break or control character; paste it again",
            vendor=vendor,
        )
    return text


def max_response_bytes(extras: dict[str, Any], default: int, *, conn_id: str, vendor: str) -> int:
    """The connection extra `max_response_bytes`, checked: a positive whole number up to 1 GiB."""
    value = extras.get("max_response_bytes")
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if (
        isinstance(value, bool)
        or not 0 < number <= MAX_RESPONSE_BYTES_CEILING
        or str(number) != str(value).strip()
    ):
        raise InvalidRequestError(
            f"connection {conn_id!r}: extra 'max_response_bytes' is {value!r}; it must be a whole number "
            f"of bytes from 1 to {MAX_RESPONSE_BYTES_CEILING} (default {default})",
            vendor=vendor,
        )
    return number
