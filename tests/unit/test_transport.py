"""Hooks send straight to httpx transports: proxies from the environment still apply."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_cloudflows.hooks.transport import DEFAULT_HEADERS, ProxyRouter, json_body, send, sign


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def _router() -> tuple[ProxyRouter[str], list[str | None]]:
    built: list[str | None] = []

    def factory(proxy: str | None) -> str:
        built.append(proxy)
        return f"transport via {proxy}"

    return ProxyRouter(factory), built  # type: ignore[type-var]


def test_without_proxies_every_host_shares_the_direct_transport(no_proxy_env: pytest.MonkeyPatch) -> None:
    router, built = _router()
    assert router(httpx.URL("https://ice.cn-shanghai.aliyuncs.com/")) == "transport via None"
    assert router(httpx.URL("http://127.0.0.1:8790/")) == "transport via None"
    assert built == [None]


def test_proxies_and_no_proxy_route_like_urllib(no_proxy_env: pytest.MonkeyPatch) -> None:
    no_proxy_env.setenv("HTTPS_PROXY", "proxy.corp:3128")
    no_proxy_env.setenv("NO_PROXY", "internal.example,127.0.0.1")
    router, built = _router()
    assert router(httpx.URL("https://wedata.tencentcloudapi.com/")) == "transport via http://proxy.corp:3128"
    assert router(httpx.URL("https://api.internal.example/")) == "transport via None"
    assert router(httpx.URL("http://127.0.0.1:8790/")) == "transport via None"  # no http proxy set
    assert router(httpx.URL("https://dataworks.cn-shanghai.aliyuncs.com/")) == (
        "transport via http://proxy.corp:3128"
    )
    assert built == ["http://proxy.corp:3128", None]  # one transport per proxy, built once


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
