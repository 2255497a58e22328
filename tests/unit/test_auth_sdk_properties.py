"""Property tests: our signers agree with the official SDKs' own signing code, and the emulator's
verifiers accept every request our signers produce but reject any tampered one.

The SDKs are test-only dependencies; nothing here is imported by the package at runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cloudflows.auth import Acs3Auth, CosAuth, Tc3Auth, acs3, cos, tc3
from airflow_provider_cloudflows.auth._base import parse_query
from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.verify import (
    Credential,
    SignatureRejected,
    verify_acs3,
    verify_cos,
    verify_tc3,
)

pytestmark = pytest.mark.sdk

PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RESERVED = [*" !\"#$%&'()*+,/:;<=>?@[\\]^`{|}~-_.", "é", "腾", "\u00a0", "😀"]
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))

any_text = st.text(
    st.one_of(st.sampled_from(RESERVED), st.characters(blacklist_categories=("Cs",))), max_size=16
)
ids = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=24
)
header_values = st.text(st.sampled_from(PRINTABLE), max_size=24).map(str.strip)
header_names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=12)
hosts = st.sampled_from(
    [
        "ice.cn-shanghai.aliyuncs.com",
        "dataworks.cn-hangzhou.aliyuncs.com",
        "127.0.0.1",
        "localhost",
        "h.example",
    ]
)
ports = st.one_of(st.none(), st.integers(1, 65535))
bodies = st.binary(max_size=64)
timestamps = st.integers(1_000_000_000, 2_000_000_000)
segments = st.text(
    st.one_of(st.sampled_from(RESERVED), st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=8
).filter(lambda s: "/" not in s and s not in {".", ".."})
paths = st.lists(segments, max_size=3).map(lambda parts: "/" + "/".join(parts))


def _netloc(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


def _expect_rejected(verify: Callable[[IncomingRequest], object], req: IncomingRequest) -> None:
    with pytest.raises(SignatureRejected):
        verify(req)


def _tamper_signature(req: IncomingRequest, signature: str) -> IncomingRequest:
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    value = req.headers["authorization"]
    return replace(req, headers={**req.headers, "authorization": value.replace(signature, flipped)})


def _tamper_header(req: IncomingRequest, name: str) -> IncomingRequest:
    return replace(req, headers={**req.headers, name: req.headers[name] + "x"})


def _tamper_query(req: IncomingRequest, index: int) -> IncomingRequest:
    pairs = parse_query(req.raw_query)
    key, value = pairs[index % len(pairs)]
    pairs[index % len(pairs)] = (key, value + "x")
    return replace(req, raw_query=urlencode(pairs, quote_via=quote))


def _tamper_body(req: IncomingRequest) -> IncomingRequest:
    body = req.body or b"\x00"
    return replace(req, body=body[:-1] + bytes([body[-1] ^ 1]))


# ----------------------------------------------------------------------------- ACS3


@st.composite
def acs3_cases(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    # Alibaba's SDK leaves query keys unencoded in the canonical string while the published
    # algorithm encodes them; they agree for the unreserved alphabet real parameter names use.
    params = draw(
        st.dictionaries(st.text(st.sampled_from(UNRESERVED), min_size=1, max_size=10), any_text, max_size=5)
    )
    reserved = {
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "x-acs-security-token",
    }
    acs_headers = draw(
        st.dictionaries(
            header_names.map(lambda n: f"x-acs-{n}").filter(lambda n: n not in reserved),
            header_values,
            max_size=3,
        )
    )
    extras = draw(
        st.dictionaries(st.sampled_from(["accept", "user-agent", "x-custom"]), header_values, max_size=3)
    )
    content_type = draw(
        st.sampled_from([None, "application/x-www-form-urlencoded", "application/json; charset=utf-8"])
    )
    return {
        "method": method,
        "netloc": _netloc(draw(hosts), draw(ports)),
        "path": draw(st.sampled_from(["/"]) | paths),
        "params": params,
        "headers": {
            "x-acs-action": draw(ids),
            "x-acs-version": draw(st.sampled_from(["2020-11-09", "2024-05-18"])),
            **acs_headers,
            **extras,
            **({"content-type": content_type} if content_type else {}),
        },
        "extra_signed": [name for name in extras if draw(st.booleans())],
        "body": b"" if method == "GET" else draw(bodies),
        "token": draw(st.one_of(st.none(), ids)),
        "key_id": draw(ids),
        "secret": draw(ids),
        "now": draw(timestamps),
        "nonce": draw(st.text(st.sampled_from("0123456789abcdef"), min_size=8, max_size=32)),
    }


def _acs3_signed(case: dict[str, Any]) -> httpx.Request:
    url = f"https://{case['netloc']}{quote(case['path'], safe='/~')}"
    if case["params"]:
        url += "?" + acs3.encode_query(case["params"])
    request = httpx.Request(case["method"], url, headers=case["headers"], content=case["body"])
    Acs3Auth(
        case["key_id"],
        case["secret"],
        case["token"],
        clock=lambda: case["now"],
        nonce=lambda: case["nonce"],
        extra_signed_headers=case["extra_signed"],
    ).sign_request(request)
    return request


@PROPERTY
@given(acs3_cases())
def test_acs3_matches_sdk_get_authorization(case: dict[str, Any]) -> None:
    from alibabacloud_tea_openapi.utils import Utils
    from darabonba.request import DaraRequest

    request = _acs3_signed(case)
    signed_names = {"host", "content-type", *case["extra_signed"]}
    sdk_request = DaraRequest()
    sdk_request.method = case["method"]
    sdk_request.pathname = Utils.get_encode_path(case["path"])
    sdk_request.query = dict(case["params"])
    # The SDK signs every header it is given, so give it exactly the ones the scheme requires.
    sdk_request.headers = {
        k: v for k, v in request.headers.items() if k in signed_names or (k.startswith("x-acs-"))
    }
    sdk_request.headers.pop("authorization", None)
    payload = Utils.hash(case["body"], "ACS3-HMAC-SHA256").hex()
    assert request.headers["x-acs-content-sha256"] == payload
    expected = Utils.get_authorization(
        sdk_request, "ACS3-HMAC-SHA256", payload, case["key_id"], case["secret"]
    )
    assert request.headers["authorization"] == expected


@PROPERTY
@given(acs3_cases(), st.integers(0, 100))
def test_acs3_verifier_accepts_ours_and_rejects_tampering(case: dict[str, Any], pick: int) -> None:
    req = IncomingRequest.from_httpx(_acs3_signed(case))
    creds = {case["key_id"]: Credential(case["secret"], case["token"])}

    def verify(r: IncomingRequest) -> str:
        return verify_acs3(r, creds, now=case["now"], seen_nonces=set())

    assert verify(req) == case["key_id"]
    auth = acs3.parse_authorization(req.headers["authorization"])
    _expect_rejected(verify, _tamper_signature(req, auth.signature))
    _expect_rejected(verify, _tamper_header(req, auth.signed_headers[pick % len(auth.signed_headers)]))
    _expect_rejected(verify, _tamper_body(req))
    if req.raw_query:
        _expect_rejected(verify, _tamper_query(req, pick))


@PROPERTY
@given(
    st.sampled_from(["GET", "POST"]),
    st.dictionaries(any_text.filter(bool), any_text, max_size=8),
    any_text.filter(bool),
)
def test_rpc_v1_matches_sdk_get_rpcsignature(method: str, params: dict[str, str], secret: str) -> None:
    from alibabacloud_tea_openapi.utils import Utils

    assert acs3.rpc_v1_signature(method, params, secret) == Utils.get_rpcsignature(params, method, secret)


# ----------------------------------------------------------------------------- TC3


@st.composite
def tc3_cases(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "method": draw(st.sampled_from(["GET", "POST"])),
        # Not an explicit :443: httpx leaves the default port out of the Host header it sends (and we
        # sign), the SDK keeps it; each signs what it sends, so the two requests differ, not the signing.
        "endpoint": _netloc(draw(hosts), draw(ports.filter(lambda port: port != 443))),
        "service": draw(st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=2, max_size=10)),
        "params": draw(st.dictionaries(any_text.filter(bool), any_text, max_size=5)),
        "token": draw(st.one_of(st.none(), ids)),
        "secret_id": draw(ids),
        "secret_key": draw(ids),
        "now": draw(timestamps),
    }


def _tc3_sdk_request(case: dict[str, Any]) -> Any:
    """The request exactly as the SDK builds and signs it (abstract_client._build_req_with_tc3_signature)."""
    from tencentcloud.common import abstract_client
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential as TcCredential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    profile = ClientProfile(httpProfile=HttpProfile(endpoint=case["endpoint"]))
    cred = TcCredential(case["secret_id"], case["secret_key"], case["token"])
    client = CommonClient(case["service"], "2025-08-06", cred, "ap-guangzhou", profile)
    req = RequestInternal(case["endpoint"], case["method"], "/")
    with mock.patch.object(abstract_client, "time", SimpleNamespace(time=lambda: case["now"])):
        client._build_req_with_tc3_signature("GetTriggerWorkflowRun", dict(case["params"]), req)
    return req


def _tc3_ours(case: dict[str, Any], sdk_req: Any) -> httpx.Request:
    url = f"https://{case['endpoint']}/"
    content = None
    if case["method"] == "GET":
        url += f"?{sdk_req.data}" if sdk_req.data else ""
    else:
        content = sdk_req.data.encode("utf-8")
    headers = {
        "Content-Type": sdk_req.header["Content-Type"],
        "X-TC-Action": "GetTriggerWorkflowRun",
        "X-TC-Version": "2025-08-06",
        "X-TC-Region": "ap-guangzhou",
    }
    request = httpx.Request(case["method"], url, headers=headers, content=content)
    Tc3Auth(
        case["secret_id"], case["secret_key"], case["service"], case["token"], clock=lambda: case["now"]
    ).sign_request(request)
    return request


@PROPERTY
@given(tc3_cases())
def test_tc3_matches_sdk_signing(case: dict[str, Any]) -> None:
    sdk_req = _tc3_sdk_request(case)
    request = _tc3_ours(case, sdk_req)
    assert request.headers["host"] == sdk_req.header["Host"]
    assert request.headers["x-tc-timestamp"] == sdk_req.header["X-TC-Timestamp"]
    assert request.headers.get("x-tc-token") == sdk_req.header.get("X-TC-Token")
    assert request.headers["authorization"] == sdk_req.header["Authorization"]


@PROPERTY
@given(tc3_cases(), st.integers(0, 100))
def test_tc3_verifier_accepts_ours_and_rejects_tampering(case: dict[str, Any], pick: int) -> None:
    req = IncomingRequest.from_httpx(_tc3_ours(case, _tc3_sdk_request(case)))
    creds = {case["secret_id"]: Credential(case["secret_key"], case["token"])}

    def verify(r: IncomingRequest) -> str:
        return verify_tc3(r, creds, now=case["now"], service=case["service"])

    assert verify(req) == case["secret_id"]
    auth = tc3.parse_authorization(req.headers["authorization"])
    _expect_rejected(verify, _tamper_signature(req, auth.signature))
    _expect_rejected(verify, _tamper_header(req, auth.signed_headers[pick % len(auth.signed_headers)]))
    # API 3.0 signs the body of a POST and the query of a GET, never the other.
    if case["method"] == "POST":
        _expect_rejected(verify, _tamper_body(req))
    elif req.raw_query:
        _expect_rejected(verify, _tamper_query(req, pick))


# ----------------------------------------------------------------------------- COS / CI


def _unique_lower_keys(pairs: list[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, tuple[str, str]] = {}
    for key, value in pairs:
        seen.setdefault(cos.encode(key).lower(), (key, value))
    return dict(seen.values())


@st.composite
def cos_cases(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]))
    headers = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "content-type",
                    "content-md5",
                    "range",
                    "x-cos-acl",
                    "x-ci-meta",
                    "pic-operations",
                    "user-agent",
                    "date",
                ]
            )
            | header_names.map(lambda n: f"x-cos-{n}"),
            header_values,
            max_size=4,
        )
    )
    return {
        "method": method,
        "host": draw(hosts),
        "path": draw(paths.filter(lambda p: p != "/")),
        "params": _unique_lower_keys(draw(st.lists(st.tuples(any_text.filter(bool), any_text), max_size=5))),
        "headers": headers,
        "body": b"" if method in {"GET", "HEAD"} else draw(bodies),
        "token": draw(st.one_of(st.none(), ids)),
        "secret_id": draw(ids),
        "secret_key": draw(ids),
        "expire": draw(st.integers(1, 100_000)),
        "now": draw(timestamps),
    }


def _cos_prepared(case: dict[str, Any]) -> Any:
    """A requests.PreparedRequest signed by the SDK's CosS3Auth, built the way CosS3Client builds it."""
    import requests
    from qcloud_cos import CosConfig, cos_auth

    headers = dict(case["headers"])
    if case["token"]:
        headers["x-ci-security-token"] = case["token"]
    url = f"https://{case['host']}/{quote(case['path'][1:].encode('utf-8'), '/-_.~').replace('./', '.%2F')}"
    prepared = requests.Request(
        case["method"], url, params=case["params"], headers=headers, data=case["body"] or None
    ).prepare()
    conf = CosConfig(Region="ap-chongqing", SecretId=case["secret_id"], SecretKey=case["secret_key"])
    auth = cos_auth.CosS3Auth(conf, key=case["path"], params=case["params"], expire=case["expire"])
    with mock.patch.object(cos_auth, "time", SimpleNamespace(time=lambda: case["now"])):
        auth(prepared)
    return prepared


def _cos_ours(case: dict[str, Any], prepared: Any) -> httpx.Request:
    headers = {
        k: v for k, v in prepared.headers.items() if k.lower() not in {"authorization", "x-ci-security-token"}
    }
    request = httpx.Request(case["method"], prepared.url, headers=headers, content=case["body"])
    CosAuth(
        case["secret_id"],
        case["secret_key"],
        case["token"],
        expire_seconds=case["expire"],
        clock=lambda: case["now"],
    ).sign_request(request)
    return request


@PROPERTY
@given(cos_cases())
def test_cos_matches_sdk_cos_s3_auth(case: dict[str, Any]) -> None:
    prepared = _cos_prepared(case)
    request = _cos_ours(case, prepared)
    assert request.url.path == case["path"]
    assert request.headers["authorization"] == prepared.headers["Authorization"]


@PROPERTY
@given(cos_cases(), st.integers(0, 100))
def test_cos_verifier_accepts_ours_and_rejects_tampering(case: dict[str, Any], pick: int) -> None:
    req = IncomingRequest.from_httpx(_cos_ours(case, _cos_prepared(case)))
    creds = {case["secret_id"]: Credential(case["secret_key"], case["token"])}

    def verify(r: IncomingRequest) -> str:
        return verify_cos(r, creds, now=case["now"])

    assert verify(req) == case["secret_id"]
    fields = cos.parse_authorization(req.headers["authorization"])
    _expect_rejected(verify, _tamper_signature(req, fields["q-signature"]))
    signed_headers = fields["q-header-list"].split(";")
    _expect_rejected(verify, _tamper_header(req, signed_headers[pick % len(signed_headers)]))
    # COS signs no payload (only a Content-MD5 header would cover it), so body changes pass.
    if req.raw_query:
        _expect_rejected(verify, _tamper_query(req, pick))
