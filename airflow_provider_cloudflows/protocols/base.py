"""What every wire protocol offers the hook core, and the clock-skew reading two of them share."""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from pydantic_core import from_json

from airflow_provider_cloudflows.errors import ClockSkewError, InvalidRequestError

if TYPE_CHECKING:
    import httpx

    from airflow_provider_cloudflows.connections.credentials import CloudCredentials
    from airflow_provider_cloudflows.protocols.request import ApiRequest


class WireProtocol(ABC):
    """Signs requests and turns answers into payloads or typed errors, for one vendor name."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor

    @abstractmethod
    def signer(self, credentials: CloudCredentials) -> httpx.Auth:
        """The signer (an httpx.Auth) for these credentials; built once per hook."""

    @abstractmethod
    def decode(self, request: ApiRequest, response: httpx.Response) -> Any:
        """The answer's payload, or raise the typed error the vendor's answer means."""


# A region as the vendors name them (cn-shanghai, ap-guangzhou, cn-shanghai-finance-1): lowercase
# letters, digits and inner dashes. It becomes part of a host name or a signed header, so anything
# else (`x@127.0.0.1:8080/`, a trailing newline) is refused before a request is built.
REGION_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def checked_region(credentials: CloudCredentials, vendor: str, *, example: str) -> str | None:
    """The connection's region (None when unset), refused unless it is a plain region name."""
    region = credentials.region
    if region is None or (isinstance(region, str) and REGION_PATTERN.fullmatch(region)):
        return region
    raise InvalidRequestError(
        f"region {region!r} (connection {credentials.conn_id!r} or the task's region=) is not a region "
        f"name: use lowercase letters, digits and dashes only, e.g. {example!r}",
        vendor=vendor,
    )


# How deep an answer may nest: pydantic-core's parser stops at about 200 levels, and a run nested
# much deeper than that could not be serialized (to XCom, to a trigger event), which stops at 255.
# The vendors' answers nest fewer than 20 levels.
MAX_NESTING = 200


class NestingTooDeepError(ValueError):
    """An answer nested deeper than MAX_NESTING levels."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is nested deeper than {MAX_NESTING} levels")


def check_nesting(value: Any, what: str = "the answer") -> Any:
    """`value` unchanged, or NestingTooDeepError when its dicts and lists nest deeper than MAX_NESTING."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_NESTING:
            raise NestingTooDeepError(what)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def json_value(text: str | bytes, what: str = "the answer") -> Any:
    """Decoded JSON text; ValueError when it is not JSON, NestingTooDeepError (a ValueError) when it
    nests deeper than MAX_NESTING levels.

    pydantic-core's parser first (about 1.5x faster than the json module on a 6 KB answer), the json
    module for what it does not read (a BOM, UTF-16), so what counts as JSON is unchanged; what the
    json module reads is checked for depth, since its own limit is the interpreter's recursion limit.
    """
    try:
        return from_json(text)
    except ValueError as err:
        if "recursion limit" in str(err):
            raise NestingTooDeepError(what) from None
    try:
        return check_nesting(json.loads(text), what)
    except RecursionError:
        raise NestingTooDeepError(what) from None


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body; ValueError when it is not JSON or nests too deep (see json_value)."""
    return json_value(response.content)


def response_preview(response: httpx.Response, limit: int = 200) -> str:
    """A short, single-line view of a response body for error messages; decodes no more than it shows."""
    text = response.content[: limit * 4].decode("utf-8", errors="replace")[:limit]
    return f"HTTP {response.status_code} {text.replace(chr(10), ' ')!r}"


_SERVER_TIME = re.compile(r"server time[^0-9]*(\d{10})", re.IGNORECASE)


def _server_time(message: str, response: httpx.Response) -> int | None:
    """The server's time from its message, else from its Date header (the vendors' documented
    messages do not always carry it; their gateways' Date headers do)."""
    found = _SERVER_TIME.search(message)
    if found:
        return int(found.group(1))
    try:
        return round(parsedate_to_datetime(response.headers["date"]).timestamp())
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def clock_skew_error(
    message: str, response: httpx.Response, *, request_time_header: str | None, **kwargs: Any
) -> ClockSkewError:
    """Say the machine's clock is off, and by how much when the vendor tells its own time."""
    skew: float | None = None
    server = _server_time(message, response)
    sent = response.request.headers.get(request_time_header) if request_time_header else None
    if server is not None:
        # Without a request time header (COS signs a window), the answer just arrived: now is
        # when it was sent, to within the round trip.
        skew = (int(sent) if sent and sent.isdigit() else round(time.time())) - server
    hint = (
        f"this machine's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server's"
        if skew is not None
        else "this machine's clock is off; check NTP"
    )
    return ClockSkewError(f"{message} ({hint})", skew_seconds=skew, **kwargs)
