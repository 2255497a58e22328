"""The emulator's signature verifiers accept the documented vectors and reject with the vendor's codes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from airflow_provider_cloudflows.auth import Acs3Auth, CosAuth, Tc3Auth, acs3
from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.verify import (
    Credential,
    SignatureRejected,
    verify_acs3,
    verify_cos,
    verify_rpc_v1,
    verify_tc3,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
NONCE = "3156853299f313e23d1673dc12e1703d"
ALI = {"YourAccessKeyId": Credential("YourAccessKeySecret")}
T_2025 = 1735689600  # 2025-01-01T00:00:00Z
TC_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
TC = {TC_ID: Credential("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")}
T_WEDATA = 1754467200
COS_ID = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
COS = {COS_ID: Credential("BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz")}
CI_HOST = "examplebucket-1250000000.ci.ap-chongqing.myqcloud.com"


def _rejected(call, code: str, status: int) -> SignatureRejected:  # type: ignore[no-untyped-def]
    with pytest.raises(SignatureRejected) as info:
        call()
    assert (info.value.code, info.value.http_status) == (code, status)
    return info.value


def _with_header(req: IncomingRequest, name: str, value: str | None) -> IncomingRequest:
    headers = {k: v for k, v in req.headers.items() if k != name}
    if value is not None:
        headers[name] = value
    return replace(req, headers=headers)


# ----------------------------------------------------------------------------- ACS3


def _acs3_doc_vector_a() -> IncomingRequest:
    return IncomingRequest(
        method="POST",
        path="/",
        raw_query="ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
        headers={
            "host": "ecs.cn-shanghai.aliyuncs.com",
            "x-acs-action": "RunInstances",
            "x-acs-version": "2014-05-26",
            "x-acs-date": "2023-10-26T10:22:32Z",
            "x-acs-signature-nonce": NONCE,
            "x-acs-content-sha256": EMPTY_SHA256,
            "authorization": "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
            "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
        },
        body=b"",
    )


def _acs3_request(token: str | None = None, **headers: str) -> IncomingRequest:
    auth = Acs3Auth(
        "YourAccessKeyId",
        "YourAccessKeySecret",
        token,
        clock=lambda: T_2025,
        nonce=lambda: NONCE,
        extra_signed_headers=("accept", "user-agent"),
    )
    request = httpx.Request(
        "POST",
        "https://ice.cn-shanghai.aliyuncs.com/?TaskId=a0b1c2d3e4f5",
        headers={"x-acs-action": "GetWorkflowTask", "x-acs-version": "2020-11-09", **headers},
    )
    auth.sign_request(request)
    return IncomingRequest.from_httpx(request)


def test_acs3_accepts_doc_vector_a() -> None:
    assert verify_acs3(_acs3_doc_vector_a(), ALI, now=1698315752) == "YourAccessKeyId"


def test_acs3_accepts_the_sdk_header_set_of_vector_c() -> None:
    req = _acs3_request(
        accept="application/json",
        **{"user-agent": "AlibabaCloud (test) Python/3 TeaDSL/2", "x-acs-credentials-provider": "static_ak"},
    )
    assert req.headers["authorization"].endswith(
        "Signature=fdf547bb6cb53380c900d20610245eac604180f8544b8744790e940da0d0516f"
    )
    assert verify_acs3(req, ALI, now=T_2025) == "YourAccessKeyId"


def test_acs3_accepts_sdk_style_plus_encoded_query() -> None:
    # The SDK puts urlencode()'d queries on the wire ('+' for space) but signs '%20'.
    headers = {
        "host": "h",
        "x-acs-action": "A",
        "x-acs-version": "1",
        "x-acs-date": "2025-01-01T00:00:00Z",
        "x-acs-signature-nonce": NONCE,
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    creq = acs3.canonical_request("GET", "/", "Name=a%20b%2A", headers, list(headers), EMPTY_SHA256)
    signature = acs3.sign("YourAccessKeySecret", acs3.string_to_sign(creq))
    headers["authorization"] = acs3.authorization("YourAccessKeyId", list(headers), signature)
    req = IncomingRequest("GET", "/", "Name=a+b%2A", headers, b"")
    assert verify_acs3(req, ALI, now=T_2025) == "YourAccessKeyId"


def test_acs3_wrong_secret() -> None:
    creds = {"YourAccessKeyId": Credential("other")}
    _rejected(lambda: verify_acs3(_acs3_request(), creds, now=T_2025), "SignatureDoesNotMatch", 400)


def test_acs3_unknown_key() -> None:
    _rejected(lambda: verify_acs3(_acs3_request(), {}, now=T_2025), "InvalidAccessKeyId.NotFound", 404)


@pytest.mark.parametrize("offset", [-901, 901])
def test_acs3_expired_timestamp(offset: int) -> None:
    err = _rejected(
        lambda: verify_acs3(_acs3_request(), ALI, now=T_2025 + offset), "InvalidTimeStamp.Expired", 400
    )
    assert "server time" in err.message


def test_acs3_within_skew_is_accepted() -> None:
    assert verify_acs3(_acs3_request(), ALI, now=T_2025 + 899) == "YourAccessKeyId"


def test_acs3_missing_authorization() -> None:
    req = _with_header(_acs3_request(), "authorization", None)
    _rejected(lambda: verify_acs3(req, ALI, now=T_2025), "IncompleteSignature", 400)


@pytest.mark.parametrize(
    "value",
    [
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId",
        "HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host,Signature=ab",
        "garbage",
    ],
)
def test_acs3_malformed_authorization(value: str) -> None:
    req = _with_header(_acs3_request(), "authorization", value)
    _rejected(lambda: verify_acs3(req, ALI, now=T_2025), "IncompleteSignature", 400)


def test_acs3_unsigned_acs_header_is_incomplete() -> None:
    req = _with_header(_acs3_request(), "x-acs-extra", "1")
    _rejected(lambda: verify_acs3(req, ALI, now=T_2025), "IncompleteSignature", 400)


def test_acs3_missing_nonce_header() -> None:
    req = _with_header(_acs3_request(), "x-acs-signature-nonce", None)
    _rejected(lambda: verify_acs3(req, ALI, now=T_2025), "MissingSignatureNonce", 400)


def test_acs3_bad_date_format() -> None:
    req = _with_header(_acs3_request(), "x-acs-date", "yesterday")
    _rejected(lambda: verify_acs3(req, ALI, now=T_2025), "InvalidTimeStamp.Format", 400)


def test_acs3_body_not_matching_hash() -> None:
    req = replace(_acs3_request(), body=b"x")
    _rejected(lambda: verify_acs3(req, ALI, now=T_2025), "SignatureDoesNotMatch", 400)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("sts-token", "other"), (None, "sts-token"), ("sts-token", None)],
    ids=["mismatch", "missing", "unexpected"],
)
def test_acs3_token_mismatch(sent: str | None, expected: str | None) -> None:
    creds = {"YourAccessKeyId": Credential("YourAccessKeySecret", expected)}
    _rejected(
        lambda: verify_acs3(_acs3_request(sent), creds, now=T_2025),
        "InvalidSecurityToken.MismatchWithAccessKey",
        400,
    )


def test_acs3_matching_token_is_accepted() -> None:
    creds = {"YourAccessKeyId": Credential("YourAccessKeySecret", "sts-token")}
    assert verify_acs3(_acs3_request("sts-token"), creds, now=T_2025) == "YourAccessKeyId"


def test_acs3_nonce_reuse() -> None:
    seen: set[str] = set()
    verify_acs3(_acs3_request(), ALI, now=T_2025, seen_nonces=seen)
    _rejected(
        lambda: verify_acs3(_acs3_request(), ALI, now=T_2025, seen_nonces=seen), "SignatureNonceUsed", 400
    )


def test_acs3_rejected_request_does_not_burn_its_nonce() -> None:
    seen: set[str] = set()
    with pytest.raises(SignatureRejected):
        verify_acs3(_acs3_request(), {"YourAccessKeyId": Credential("bad")}, now=T_2025, seen_nonces=seen)
    assert verify_acs3(_acs3_request(), ALI, now=T_2025, seen_nonces=seen) == "YourAccessKeyId"


# ----------------------------------------------------------------------------- legacy RPC


RPC_PARAMS = {
    "Action": "GetWorkflowTask",
    "Version": "2020-11-09",
    "Format": "JSON",
    "AccessKeyId": "testid",
    "SignatureMethod": "HMAC-SHA1",
    "Timestamp": "2025-01-01T00:00:00Z",
    "SignatureVersion": "1.0",
    "SignatureNonce": NONCE,
    "TaskId": "a0b1c2d3e4f5",
}
RPC_CREDS = {"testid": Credential("testsecret")}


def _rpc_request(params: dict[str, str] = RPC_PARAMS, body: dict[str, str] | None = None) -> IncomingRequest:
    signed = {**params, **(body or {})}
    query = acs3.encode_query({**params, "Signature": acs3.rpc_v1_signature("POST", signed, "testsecret")})
    headers = {"host": "ice.cn-shanghai.aliyuncs.com"}
    if body:
        headers["content-type"] = "application/x-www-form-urlencoded"
    return IncomingRequest("POST", "/", query, headers, acs3.encode_query(body or {}).encode())


def test_rpc_accepts_doc_vector() -> None:
    req = _rpc_request()
    assert "Signature=HmHoOL7%2FGuJ%2Bq%2Fhsd%2BbyF8OsEuE%3D" in req.raw_query
    assert verify_rpc_v1(req, RPC_CREDS, now=T_2025) == "testid"


def test_rpc_signs_form_body_params_too() -> None:
    req = _rpc_request(body={"Extra": "a b"})
    assert verify_rpc_v1(req, RPC_CREDS, now=T_2025) == "testid"
    tampered = replace(req, body=b"Extra=other")
    _rejected(lambda: verify_rpc_v1(tampered, RPC_CREDS, now=T_2025), "SignatureDoesNotMatch", 400)


def test_rpc_rejections() -> None:
    req = _rpc_request()
    _rejected(
        lambda: verify_rpc_v1(req, {"testid": Credential("x")}, now=T_2025), "SignatureDoesNotMatch", 400
    )
    _rejected(lambda: verify_rpc_v1(req, {}, now=T_2025), "InvalidAccessKeyId.NotFound", 404)
    _rejected(lambda: verify_rpc_v1(req, RPC_CREDS, now=T_2025 + 1000), "InvalidTimeStamp.Expired", 400)
    unsigned = replace(req, raw_query=acs3.encode_query(RPC_PARAMS))
    _rejected(lambda: verify_rpc_v1(unsigned, RPC_CREDS, now=T_2025), "IncompleteSignature", 400)
    seen: set[str] = set()
    verify_rpc_v1(req, RPC_CREDS, now=T_2025, seen_nonces=seen)
    _rejected(lambda: verify_rpc_v1(req, RPC_CREDS, now=T_2025, seen_nonces=seen), "SignatureNonceUsed", 400)
    token_creds = {"testid": Credential("testsecret", "tok")}
    _rejected(
        lambda: verify_rpc_v1(req, token_creds, now=T_2025), "InvalidSecurityToken.MismatchWithAccessKey", 400
    )
    assert verify_rpc_v1(_rpc_request({**RPC_PARAMS, "SecurityToken": "tok"}), token_creds, now=T_2025)


# ----------------------------------------------------------------------------- TC3


def _tc3_doc_vector_a() -> IncomingRequest:
    return IncomingRequest(
        method="POST",
        path="/",
        raw_query="",
        headers={
            "content-type": "application/json; charset=utf-8",
            "host": "cvm.tencentcloudapi.com",
            "x-tc-action": "DescribeInstances",
            "x-tc-timestamp": "1551113065",
            "authorization": f"TC3-HMAC-SHA256 Credential={TC_ID}/2019-02-25/cvm/tc3_request, "
            "SignedHeaders=content-type;host, "
            "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        },
        body=b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    )


def _tc3_request(
    token: str | None = None, method: str = "POST", url: str = "https://wedata.tencentcloudapi.com/"
):  # type: ignore[no-untyped-def]
    body = json.dumps({"ProjectId": "1460947878944567296", "WorkflowExecutionId": "20250806123456789"})
    request = httpx.Request(
        method,
        url,
        content=body.encode() if method == "POST" else None,
        headers={"X-TC-Action": "GetTriggerWorkflowRun", "X-TC-Version": "2025-08-06"},
    )
    Tc3Auth(TC_ID, TC[TC_ID].secret, "wedata", token, clock=lambda: T_WEDATA).sign_request(request)
    return IncomingRequest.from_httpx(request)


def test_tc3_accepts_doc_vectors() -> None:
    assert verify_tc3(_tc3_doc_vector_a(), TC, now=1551113065, service="cvm") == TC_ID
    req = _tc3_request()
    assert req.headers["authorization"].endswith(
        "Signature=aaa33553d29cc653bc4b2cbf8085c1452bf5447ee5d791beb5b1359caae16f57"
    )
    assert verify_tc3(req, TC, now=T_WEDATA, service="wedata") == TC_ID


def test_tc3_accepts_get_with_form_query() -> None:
    req = _tc3_request(method="GET", url="https://wedata.tencentcloudapi.com/?ProjectId=1&Name=a+b%2F")
    assert verify_tc3(req, TC, now=T_WEDATA, service="wedata") == TC_ID
    tampered = replace(req, raw_query="ProjectId=2&Name=a+b%2F")
    _rejected(
        lambda: verify_tc3(tampered, TC, now=T_WEDATA, service="wedata"), "AuthFailure.SignatureFailure", 200
    )


def test_tc3_wrong_secret_and_unknown_id() -> None:
    creds = {TC_ID: Credential("wrong")}
    req = _tc3_request()
    _rejected(
        lambda: verify_tc3(req, creds, now=T_WEDATA, service="wedata"), "AuthFailure.SignatureFailure", 200
    )
    _rejected(
        lambda: verify_tc3(req, {}, now=T_WEDATA, service="wedata"), "AuthFailure.SecretIdNotFound", 200
    )


def test_tc3_expired_message_carries_server_time() -> None:
    err = _rejected(
        lambda: verify_tc3(_tc3_request(), TC, now=T_WEDATA + 400, service="wedata"),
        "AuthFailure.SignatureExpire",
        200,
    )
    assert f"the request time {T_WEDATA} is 400 seconds off the server time {T_WEDATA + 400}" in err.message
    assert verify_tc3(_tc3_request(), TC, now=T_WEDATA - 300, service="wedata") == TC_ID


def test_tc3_scope_must_match_timestamp_date_and_service() -> None:
    req = _tc3_request()
    _rejected(lambda: verify_tc3(req, TC, now=T_WEDATA, service="cvm"), "AuthFailure.SignatureFailure", 200)
    previous_day = T_WEDATA - 8 * 3600 - 10  # 2025-08-05T23:59:50Z; the scope says 2025-08-06
    shifted = _with_header(req, "x-tc-timestamp", str(previous_day))
    err = _rejected(
        lambda: verify_tc3(shifted, TC, now=previous_day, service="wedata"),
        "AuthFailure.SignatureFailure",
        200,
    )
    assert "UTC date" in err.message


def test_tc3_missing_and_malformed_authorization() -> None:
    req = _tc3_request()
    missing = _with_header(req, "authorization", None)
    _rejected(
        lambda: verify_tc3(missing, TC, now=T_WEDATA, service="wedata"),
        "AuthFailure.InvalidAuthorization",
        200,
    )
    for value in (
        "TC3-HMAC-SHA256 Credential=x",
        req.headers["authorization"].replace("SignedHeaders=content-type;host", "SignedHeaders=host"),
    ):
        bad = _with_header(req, "authorization", value)
        _rejected(
            lambda bad=bad: verify_tc3(bad, TC, now=T_WEDATA, service="wedata"),
            "AuthFailure.InvalidAuthorization",
            200,
        )


def test_tc3_missing_timestamp() -> None:
    req = _with_header(_tc3_request(), "x-tc-timestamp", None)
    _rejected(lambda: verify_tc3(req, TC, now=T_WEDATA, service="wedata"), "MissingParameter", 200)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("tok", "other"), (None, "tok"), ("tok", None)],
    ids=["mismatch", "missing", "unexpected"],
)
def test_tc3_token_failure(sent: str | None, expected: str | None) -> None:
    creds = {TC_ID: Credential(TC[TC_ID].secret, expected)}
    _rejected(
        lambda: verify_tc3(_tc3_request(sent), creds, now=T_WEDATA, service="wedata"),
        "AuthFailure.TokenFailure",
        200,
    )


def test_tc3_matching_token() -> None:
    creds = {TC_ID: Credential(TC[TC_ID].secret, "tok")}
    assert verify_tc3(_tc3_request("tok"), creds, now=T_WEDATA, service="wedata") == TC_ID


# ----------------------------------------------------------------------------- COS / CI


CI_LIST = "workflowId=w5307ee7a60d6489383c3921c715dd1c5&name=&orderByTime=Desc&states=All&size=10&nextToken="


def _cos_doc_vector(path: str, query: str, param_list: str, signature: str) -> IncomingRequest:
    return IncomingRequest(
        method="GET",
        path=path,
        raw_query=query,
        headers={
            "host": CI_HOST,
            "authorization": f"q-sign-algorithm=sha1&q-ak={COS_ID}&q-sign-time=1735689540;1735699600"
            f"&q-key-time=1735689540;1735699600&q-header-list=host&q-url-param-list={param_list}"
            f"&q-signature={signature}",
        },
    )


def _cos_request(token: str | None = None, host: str | None = None) -> IncomingRequest:
    headers = {"host": host} if host else {}
    request = httpx.Request("GET", f"https://{CI_HOST}/workflowexecution?{CI_LIST}", headers=headers)
    CosAuth(COS_ID, COS[COS_ID].secret, token, clock=lambda: T_2025).sign_request(request)
    return IncomingRequest.from_httpx(request)


@pytest.mark.parametrize(
    ("path", "query", "param_list", "signature"),
    [
        (
            "/workflowexecution",
            CI_LIST,
            "name;nexttoken;orderbytime;size;states;workflowid",
            "279d14eb85a04280c7673819660b18d9846f4555",
        ),
        (
            "/workflowexecution/i166ee19017b011eda8a5525400c540df",
            "",
            "",
            "edfbac5315bbbc293f5cba168e86dc70556cf403",
        ),
    ],
    ids=["list", "single"],
)
def test_cos_accepts_doc_vector_b(path: str, query: str, param_list: str, signature: str) -> None:
    req = _cos_doc_vector(path, query, param_list, signature)
    assert verify_cos(req, COS, now=T_2025) == COS_ID


def test_cos_accepts_doc_vector_a() -> None:
    req = IncomingRequest(
        method="PUT",
        path="/exampleobject(腾讯云)",
        raw_query="",
        headers={
            "date": "Thu, 16 May 2019 06:45:51 GMT",
            "host": "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
            "content-type": "text/plain",
            "content-length": "13",
            "content-md5": "mQ/fVh815F3k6TAUm8m0eg==",
            "x-cos-acl": "private",
            "x-cos-grant-read": 'uin="100000000011"',
            "authorization": f"q-sign-algorithm=sha1&q-ak={COS_ID}&q-sign-time=1557989151;1557996351"
            "&q-key-time=1557989151;1557996351"
            "&q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
            "&q-url-param-list=&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172",
        },
        body=b"ccccccccccccc",
    )
    assert verify_cos(req, COS, now=1557989200) == COS_ID


def test_cos_verifies_against_the_host_header_received() -> None:
    # SDKs pointed at a local IP still send and sign the virtual-host name.
    req = _cos_request(host="examplebucket-1250000000.cos.ap-chongqing.myqcloud.com")
    assert verify_cos(req, COS, now=T_2025) == COS_ID
    moved = _with_header(req, "host", "127.0.0.1:9000")
    _rejected(lambda: verify_cos(moved, COS, now=T_2025), "SignatureDoesNotMatch", 403)


def test_cos_params_outside_the_declared_list_are_not_signed() -> None:
    req = _cos_request()
    assert verify_cos(replace(req, raw_query=f"{req.raw_query}&extra=1"), COS, now=T_2025) == COS_ID


def test_cos_declared_param_must_be_present() -> None:
    req = replace(_cos_request(), raw_query="workflowId=w5307ee7a60d6489383c3921c715dd1c5")
    _rejected(lambda: verify_cos(req, COS, now=T_2025), "AccessDenied", 403)


def test_cos_wrong_secret_and_unknown_key() -> None:
    req = _cos_request()
    _rejected(lambda: verify_cos(req, {COS_ID: Credential("x")}, now=T_2025), "SignatureDoesNotMatch", 403)
    _rejected(lambda: verify_cos(req, {}, now=T_2025), "InvalidAccessKeyId", 403)


def test_cos_time_window() -> None:
    req = _cos_request()  # signed for [T-60, T+600]
    err = _rejected(lambda: verify_cos(req, COS, now=T_2025 + 601), "AccessDenied", 403)
    assert "Request has expired" in err.message
    assert str(T_2025 + 601) in err.message
    err = _rejected(lambda: verify_cos(req, COS, now=T_2025 - 61), "RequestTimeTooSkewed", 403)
    assert str(T_2025 - 61) in err.message
    assert verify_cos(req, COS, now=T_2025 + 600) == COS_ID


def test_cos_missing_and_malformed_authorization() -> None:
    req = _cos_request()
    _rejected(
        lambda: verify_cos(_with_header(req, "authorization", None), COS, now=T_2025), "AccessDenied", 403
    )
    bad = _with_header(req, "authorization", "q-sign-algorithm=sha1&q-ak=x")
    _rejected(lambda: verify_cos(bad, COS, now=T_2025), "AccessDenied", 403)
    wrong_algo = _with_header(req, "authorization", req.headers["authorization"].replace("=sha1&", "=md5&"))
    _rejected(lambda: verify_cos(wrong_algo, COS, now=T_2025), "AccessDenied", 403)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("tok", "other"), (None, "tok"), ("tok", None)],
    ids=["mismatch", "missing", "unexpected"],
)
def test_cos_token_mismatch(sent: str | None, expected: str | None) -> None:
    creds = {COS_ID: Credential(COS[COS_ID].secret, expected)}
    _rejected(lambda: verify_cos(_cos_request(sent), creds, now=T_2025), "AccessDenied", 403)


def test_cos_matching_token_in_either_header() -> None:
    creds = {COS_ID: Credential(COS[COS_ID].secret, "tok")}
    assert verify_cos(_cos_request("tok"), creds, now=T_2025) == COS_ID
    request = httpx.Request("GET", f"https://{CI_HOST}/workflowexecution/r1")
    CosAuth(
        COS_ID,
        "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz",
        "tok",
        clock=lambda: T_2025,
        token_header="x-cos-security-token",
    ).sign_request(request)
    assert verify_cos(IncomingRequest.from_httpx(request), creds, now=T_2025) == COS_ID


def test_credential_repr_hides_secret() -> None:
    assert "s3cret" not in repr(Credential("s3cret", "t0ken"))
    assert "t0ken" not in repr(Credential("s3cret", "t0ken"))


# ----------------------------------------------------------------------------- through httpx clients


def _verifying_transport(verify: Callable[[IncomingRequest], str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            return httpx.Response(200, json={"caller": verify(IncomingRequest.from_httpx(request))})
        except SignatureRejected as exc:
            return httpx.Response(exc.http_status, json={"Code": exc.code})

    return httpx.MockTransport(handle)


def _clients_cases() -> list[tuple[httpx.Auth, Callable[[IncomingRequest], str], str, dict[str, Any]]]:
    ali_auth = Acs3Auth("YourAccessKeyId", "YourAccessKeySecret", "tok", clock=lambda: T_2025)
    ali_creds = {"YourAccessKeyId": Credential("YourAccessKeySecret", "tok")}
    return [
        (
            ali_auth,
            lambda r: verify_acs3(r, ali_creds, now=T_2025, seen_nonces=set()),
            f"http://127.0.0.1:8123/?{acs3.encode_query({'Ids': '[1, 2]', 'Name': 'a b/c*~'})}",
            {
                "headers": {
                    "x-acs-action": "ListTaskInstances",
                    "x-acs-version": "2024-05-18",
                    "content-type": "application/x-www-form-urlencoded",
                },
                "content": b"ProjectId=7&Bizdate=1735660800000",
            },
        ),
        (
            Tc3Auth(TC_ID, TC[TC_ID].secret, "wedata", clock=lambda: T_WEDATA),
            lambda r: verify_tc3(r, TC, now=T_WEDATA, service="wedata"),
            "http://127.0.0.1:8124/",
            {
                "headers": {"X-TC-Action": "GetTriggerWorkflowRun", "content-type": "application/json"},
                "content": b'{"ProjectId": "p1"}',
            },
        ),
        (
            CosAuth(COS_ID, COS[COS_ID].secret, clock=lambda: T_2025),
            lambda r: verify_cos(r, COS, now=T_2025),
            f"http://127.0.0.1:8125/workflowexecution?{CI_LIST}",
            {"headers": {"host": "examplebucket-1250000000.cos.ap-chongqing.myqcloud.com"}},
        ),
    ]


@pytest.mark.parametrize(("auth", "verify", "url", "kwargs"), _clients_cases(), ids=["acs3", "tc3", "cos"])
def test_signed_requests_pass_through_a_sync_client(
    auth: httpx.Auth, verify: Callable[[IncomingRequest], str], url: str, kwargs: dict[str, Any]
) -> None:
    with httpx.Client(transport=_verifying_transport(verify), auth=auth) as client:
        response = client.post(url, **kwargs) if "content" in kwargs else client.get(url, **kwargs)
    assert response.status_code == 200, response.text


@pytest.mark.asyncio
@pytest.mark.parametrize(("auth", "verify", "url", "kwargs"), _clients_cases(), ids=["acs3", "tc3", "cos"])
async def test_signed_requests_pass_through_an_async_client(
    auth: httpx.Auth, verify: Callable[[IncomingRequest], str], url: str, kwargs: dict[str, Any]
) -> None:
    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        yield body[:3]
        yield body[3:]

    if "content" in kwargs:
        # A streamed body: the signers declare requires_request_body so httpx reads it first.
        kwargs = {**kwargs, "content": chunks(kwargs["content"])}
    async with httpx.AsyncClient(transport=_verifying_transport(verify), auth=auth) as client:
        response = await (client.post(url, **kwargs) if "content" in kwargs else client.get(url, **kwargs))
    assert response.status_code == 200, response.text
