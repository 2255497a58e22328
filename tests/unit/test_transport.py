"""Hooks send straight to httpx transports: proxies from the environment still apply."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_cloudflows.hooks.transport import DEFAULT_HEADERS, PoolRouter, send, sign
from airflow_provider_cloudflows.protocols.base import json_body


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def _router() -> tuple[PoolRouter[str], list[str | None]]:
    built: list[str | None] = []

    def factory(proxy: str | None, tls: object) -> str:
        built.append(proxy)
        return f"pool {len(built)} via {proxy}"

    return PoolRouter(factory), built  # type: ignore[type-var]


def test_each_origin_gets_its_own_pool_and_keeps_it(no_proxy_env: pytest.MonkeyPatch) -> None:
    router, built = _router()
    ice = router(httpx.URL("https://ice.cn-shanghai.aliyuncs.com/?Action=GetWorkflowTask"))
    local = router(httpx.URL("http://127.0.0.1:8790/"))
    assert ice == "pool 1 via None" and local == "pool 2 via None"
    assert router(httpx.URL("https://ice.cn-shanghai.aliyuncs.com/other")) == ice
    assert router(httpx.URL("http://127.0.0.1:8791/")) == "pool 3 via None"  # another port
    assert built == [None, None, None]


def test_proxies_and_no_proxy_route_like_urllib(no_proxy_env: pytest.MonkeyPatch) -> None:
    no_proxy_env.setenv("HTTPS_PROXY", "proxy.corp:3128")
    no_proxy_env.setenv("NO_PROXY", "internal.example,127.0.0.1")
    router, built = _router()
    wedata = router(httpx.URL("https://wedata.tencentcloudapi.com/"))
    assert wedata == "pool 1 via http://proxy.corp:3128"
    assert router(httpx.URL("https://api.internal.example/")) == "pool 2 via None"
    assert router(httpx.URL("http://127.0.0.1:8790/")) == "pool 3 via None"  # no http proxy set
    # Every origin behind the proxy shares the proxy's pool.
    assert router(httpx.URL("https://dataworks.cn-shanghai.aliyuncs.com/")) == wedata
    assert built == ["http://proxy.corp:3128", None, None]


def test_sign_then_send_returns_a_read_response_bound_to_its_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    class Stamp(httpx.Auth):
        def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
            request.headers["x-stamp"] = "1"
            yield request

    request = sign(Stamp(), httpx.Request("GET", "https://h.example/x?a=1", headers=DEFAULT_HEADERS))
    response = send(httpx.MockTransport(handler), request)
    assert response.json() == {"ok": True}
    assert response.request is request
    assert seen[0].headers["x-stamp"] == "1"
    assert seen[0].headers["user-agent"] == "airflow-provider-cloudflows"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"Response": {"RequestId": "r"}}', {"Response": {"RequestId": "r"}}),
        ('\ufeff{"a": 1}'.encode(), {"a": 1}),  # a BOM: only the json module reads it
        ('{"a": "\u4e2d"}'.encode("utf-16"), {"a": "\u4e2d"}),
    ],
)
def test_json_body_reads_what_the_json_module_reads(body: bytes, expected: object) -> None:
    assert json_body(httpx.Response(200, content=body)) == expected


def test_json_body_rejects_what_is_not_json() -> None:
    with pytest.raises(ValueError):
        json_body(httpx.Response(200, content=b"<Error/>"))
