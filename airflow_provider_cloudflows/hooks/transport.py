"""How a hook's requests reach the network: signed, then handed straight to an httpx transport.

A poll is one signed request that is never redirected and never needs a cookie. Sent through
`httpx.Client`, every poll still pays for the client's cookie jar, redirect loop, auth-flow
generator and event hooks: ~60 µs of CPU, a quarter of a whole bare GET on the machine in
docs/benchmarks.md. Hooks therefore build an `httpx.Request`, sign it in place and give it to a
transport (httpx's connection pool) themselves. What the client would still have added is kept:
default headers, timeouts, and the proxies named in the environment.
"""

from __future__ import annotations

import functools
import json
import ssl
import urllib.request
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import httpx
from pydantic_core import from_json

USER_AGENT = "airflow-provider-cloudflows"
# Sent with every request; a signer adds its own headers on top.
DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}

TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)


class PoolRouter(Generic[TransportT]):
    """One connection pool per origin (scheme, host, port), or per proxy the environment names.

    A pool per origin keeps vendors apart: a vendor API that hangs fills its own connections, not
    the ones another vendor's polls need. Proxies are read from the environment once
    (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, as urllib reads them) and every pool shares
    one TLS context; the route for an origin is decided once, so a poll costs one dict lookup.
    """

    def __init__(self, factory: Callable[[str | None, ssl.SSLContext], TransportT]) -> None:
        self._factory = factory
        self._proxies = urllib.request.getproxies()
        self._ssl_context: ssl.SSLContext | None = None
        self._pools: dict[str, TransportT] = {}
        self._routes: dict[tuple[str, str, int | None], TransportT] = {}

    def __call__(self, url: httpx.URL) -> TransportT:
        origin = (url.scheme, url.host, url.port)
        transport = self._routes.get(origin)
        if transport is None:
            proxy = self.proxy_for(url)
            key = proxy or f"{url.scheme}://{url.netloc.decode('ascii')}"
            transport = self._pools.get(key)
            if transport is None:
                transport = self._pools[key] = self._factory(proxy, self.prepare())
            self._routes[origin] = transport
        return transport

    def prepare(self) -> ssl.SSLContext:
        """The TLS context every pool shares. Building it reads the CA bundle: tens of ms that
        the triggerer spends in a worker thread, once, rather than on its event loop."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    def proxy_for(self, url: httpx.URL) -> str | None:
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(url.host):
            return None
        return proxy if "://" in proxy else f"http://{proxy}"

    @property
    def transports(self) -> list[TransportT]:
        return list(self._pools.values())


@functools.lru_cache(maxsize=512)
def parse_url(url: str) -> httpx.URL:
    """Parsed once per distinct URL: a sensor polls the same URL for hours (URLs carry no secret)."""
    return httpx.URL(url)


def send(transport: httpx.BaseTransport, request: httpx.Request) -> httpx.Response:
    """One request through a transport, body read and connection released."""
    response = transport.handle_request(request)
    try:
        response.read()
    finally:
        response.close()
    response.request = request
    return response


async def asend(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    response = await transport.handle_async_request(request)
    try:
        await response.aread()
    finally:
        await response.aclose()
    response.request = request
    return response


def sign(auth: httpx.Auth, request: httpx.Request) -> httpx.Request:
    """Run a one-step auth flow (all three signers are one step: sign, then send)."""
    flow = auth.sync_auth_flow(request)
    try:
        return next(flow)
    finally:
        flow.close()


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body; ValueError (or RecursionError) when it is not JSON.

    pydantic-core's parser first (about 1.5x faster than the json module on a 6 KB answer), the json
    module for what it does not read (a BOM, UTF-16), so what counts as JSON is unchanged.
    """
    try:
        return from_json(response.content)
    except ValueError:
        return json.loads(response.content)
