"""What a failed request means: a configuration mistake, an endpoint that never answered, or an outage.

A wait should fail on the first poll when the endpoint can never work (a scheme that is not
HTTP, TLS spoken to a plain-HTTP port, an untrusted certificate), fail after the hook's retries
when nothing ever answered at it (an unknown host, a closed port: almost always a typo), and ride
out the same failures once the endpoint has answered during this task (an outage).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator

import httpx

from airflow_provider_cloudflows.errors import (
    CloudflowsError,
    EndpointError,
    EndpointUnreachableError,
    InvalidRequestError,
    ServiceUnavailableError,
)

# Origins (scheme, host, port) that answered, with any HTTP status, in this process.
_answered: set[tuple[str, str, int | None]] = set()

# OpenSSL's reasons when the other side does not speak TLS at all.
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL", "HTTP_REQUEST")


def mark_answered(url: httpx.URL) -> None:
    _answered.add((url.scheme, url.host, url.port))


def has_answered(url: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) in _answered


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shown(url: httpx.URL) -> str:
    """The URL as a person checks it: scheme, host, port and path, never the (signed) query."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_error(
    exc: Exception, url_text: str, *, vendor: str, action: str | None, run_id: str | None
) -> CloudflowsError | None:
    """The typed error a failure to send means, or None when it is not a transport failure."""
    base = {"vendor": vendor, "action": action, "run_id": run_id}
    if isinstance(exc, httpx.InvalidURL):
        return EndpointError(
            f"{url_text.split('?')[0]!r} is not a valid URL ({exc}); set the connection's endpoint "
            "to a base URL such as https://host or http://127.0.0.1:8790",
            **base,
        )
    if isinstance(exc, httpx.LocalProtocolError) and "header" in str(exc).lower():
        # h11 quotes the offending value, which may be a credential: never repeat its message.
        return InvalidRequestError(
            "a request header has a character HTTP does not allow (a line break or control "
            "character in the connection's login, password or an extra?)",
            **base,
        )
    if not isinstance(exc, httpx.TransportError):
        return None
    url = httpx.URL(url_text)
    where = shown(url)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return EndpointError(
            f"{where} has the scheme {url.scheme!r}; the endpoint must start with https:// "
            "(or http:// for a local emulator)",
            **base,
        )
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return EndpointError(
                f"the certificate of {url.host} could not be verified ({cause.verify_message}) "
                f"calling {where}; set the connection extra 'ca_bundle' to the CA that signed it "
                "(a file path or PEM text)",
                **base,
            )
        if isinstance(cause, ssl.SSLError) and any(r in str(cause) for r in _NOT_TLS):
            return EndpointError(
                f"TLS handshake with {where} failed ({cause.reason or cause}): the server does not "
                f"speak TLS there; if it is plain HTTP (a local emulator, say), write the endpoint "
                f"as http://{url.netloc.decode('ascii')}",
                **base,
            )
    unreachable = _unreachable(exc, url)
    if unreachable is not None and not has_answered(url):
        return EndpointUnreachableError(f"{unreachable} calling {where}", **base)
    return ServiceUnavailableError(
        f"network error talking to {url.host}: {type(exc).__name__}: {exc}"
        + (f" ({unreachable})" if unreachable else ""),
        **base,
    )


def _unreachable(exc: Exception, url: httpx.URL) -> str | None:
    """Why no server could be reached, when that is what happened."""
    if not isinstance(exc, httpx.ConnectError):
        return None
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror) and cause.errno in (
            socket.EAI_NONAME,
            getattr(socket, "EAI_NODATA", -5),
        ):
            return f"the host {url.host!r} is not known (DNS); check the connection's region and endpoint"
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
            port = url.port or (443 if url.scheme == "https" else 80)
            return f"nothing listens on {url.host}:{port} (connection refused); check the endpoint's host and port"
    return None
