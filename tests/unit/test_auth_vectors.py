"""Every signing vector from the vendor documentation, through the pure steps and the httpx.Auth objects."""

from __future__ import annotations

import hashlib
import json
import time

import httpx
import pytest

from airflow_provider_cloudflows.auth import Acs3Auth, CosAuth, Tc3Auth, acs3, cos, tc3

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
NONCE = "3156853299f313e23d1673dc12e1703d"
ALI_ID, ALI_SECRET = "YourAccessKeyId", "YourAccessKeySecret"
BASIC_SIGNED = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
SDK_SIGNED = (
    "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;"
    "x-acs-date;x-acs-signature-nonce;x-acs-version"
)
# What the SDK sends besides the x-acs-* headers (client.py do_request, with the user agent patched).
SDK_EXTRA_HEADERS = {
    "accept": "application/json",
    "user-agent": "AlibabaCloud (test) Python/3 TeaDSL/2",
    "x-acs-credentials-provider": "static_ak",
}
T_2025 = 1735689600  # 2025-01-01T00:00:00Z
T_VECTOR_A = 1698315752  # 2023-10-26T10:22:32Z

TC_ID, TC_KEY = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
TC3_A_BODY = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
TC3_B_BODY = json.dumps(
    {"ProjectId": "1460947878944567296", "WorkflowExecutionId": "20250806123456789"}
).encode()
TC3_A_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
TC3_B_SIGNATURE = "aaa33553d29cc653bc4b2cbf8085c1452bf5447ee5d791beb5b1359caae16f57"
COS_ID, COS_KEY = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q", "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
CI_HOST = "examplebucket-1250000000.ci.ap-chongqing.myqcloud.com"
CI_LIST_QUERY = (
    "workflowId=w5307ee7a60d6489383c3921c715dd1c5&name=&orderByTime=Desc&states=All&size=10&nextToken="
)


def _acs3_auth(**kwargs: object) -> Acs3Auth:
    return Acs3Auth(ALI_ID, ALI_SECRET, clock=lambda: T_2025, nonce=lambda: NONCE, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- ACS3


def test_acs3_percent_encode_is_rfc3986() -> None:
    assert acs3.percent_encode("a b*~/:é") == "a%20b%2A~%2F%3A%C3%A9"


def test_acs3_vector_a_pure_steps() -> None:
    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-version": "2014-05-26",
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": NONCE,
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    query = acs3.canonical_query_string(
        [("RegionId", "cn-shanghai"), ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd")]
    )
    creq = acs3.canonical_request("POST", "/", query, headers, list(headers), EMPTY_SHA256)
    to_sign = acs3.string_to_sign(creq)
    assert to_sign == "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    signature = acs3.sign(ALI_SECRET, to_sign)
    assert acs3.authorization(ALI_ID, list(headers), signature) == (
        f"ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders={BASIC_SIGNED},"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_acs3_vector_a_through_auth() -> None:
    auth = Acs3Auth(ALI_ID, ALI_SECRET, clock=lambda: T_VECTOR_A, nonce=lambda: NONCE)
    query = acs3.encode_query(
        {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
    )
    request = httpx.Request(
        "POST",
        f"https://ecs.cn-shanghai.aliyuncs.com/?{query}",
        headers={"x-acs-action": "RunInstances", "x-acs-version": "2014-05-26"},
    )
    auth.sign_request(request)
    assert request.headers["x-acs-date"] == "2023-10-26T10:22:32Z"
    assert request.headers["x-acs-content-sha256"] == EMPTY_SHA256
    assert request.headers["authorization"].endswith(
        f"SignedHeaders={BASIC_SIGNED},Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_acs3_vector_b_intermediate_values() -> None:
    headers = {
        "host": "ice.cn-shanghai.aliyuncs.com",
        "x-acs-action": "GetWorkflowTask",
        "x-acs-version": "2020-11-09",
        "x-acs-date": "2025-01-01T00:00:00Z",
        "x-acs-signature-nonce": NONCE,
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    query = acs3.canonical_query_string([("TaskId", "a0b1c2d3e4f5")])
    creq = acs3.canonical_request("POST", "/", query, headers, list(headers), EMPTY_SHA256)
    assert creq == (
        "POST\n/\nTaskId=a0b1c2d3e4f5\nhost:ice.cn-shanghai.aliyuncs.com\nx-acs-action:GetWorkflowTask\n"
        f"x-acs-content-sha256:{EMPTY_SHA256}\nx-acs-date:2025-01-01T00:00:00Z\n"
        f"x-acs-signature-nonce:{NONCE}\nx-acs-version:2020-11-09\n\n{BASIC_SIGNED}\n{EMPTY_SHA256}"
    )
    to_sign = acs3.string_to_sign(creq)
    assert to_sign == "ACS3-HMAC-SHA256\n10799f5df9d1e27bcbc5e05fb60a42e4c0923b50d085a4506ccee19157037074"
    assert (
        acs3.sign(ALI_SECRET, to_sign) == "da4692ed925f83d4bf88bfc5a6b8357aedd017d58aa510eb5acfa1054fbd4964"
    )


def test_acs3_vector_b_through_auth() -> None:
    request = httpx.Request(
        "POST",
        "https://ice.cn-shanghai.aliyuncs.com/?TaskId=a0b1c2d3e4f5",
        headers={"x-acs-action": "GetWorkflowTask", "x-acs-version": "2020-11-09"},
    )
    _acs3_auth().sign_request(request)
    assert request.headers["authorization"] == (
        f"ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders={BASIC_SIGNED},"
        "Signature=da4692ed925f83d4bf88bfc5a6b8357aedd017d58aa510eb5acfa1054fbd4964"
    )


@pytest.mark.parametrize(
    ("method", "url", "action", "version", "signature"),
    [
        (
            "POST",
            "https://ice.cn-shanghai.aliyuncs.com/?TaskId=a0b1c2d3e4f5",
            "GetWorkflowTask",
            "2020-11-09",
            "fdf547bb6cb53380c900d20610245eac604180f8544b8744790e940da0d0516f",
        ),
        (
            "GET",
            "https://dataworks.cn-shanghai.aliyuncs.com/?Id=1234",
            "GetWorkflowInstance",
            "2024-05-18",
            "88de33a57ab76b49790c6f86322f43ba7e930d39783e925ba484bae73dbf2061",
        ),
    ],
    ids=["ice", "dataworks"],
)
def test_acs3_vector_c_sdk_header_set(
    method: str, url: str, action: str, version: str, signature: str
) -> None:
    request = httpx.Request(
        method, url, headers={"x-acs-action": action, "x-acs-version": version, **SDK_EXTRA_HEADERS}
    )
    _acs3_auth(extra_signed_headers=("accept", "user-agent")).sign_request(request)
    assert request.headers["authorization"] == (
        f"ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders={SDK_SIGNED},Signature={signature}"
    )


def test_acs3_signs_the_non_default_port_httpx_sends() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:8123/?TaskId=t1", headers={"x-acs-action": "A"})
    _acs3_auth().sign_request(request)
    assert request.headers["host"] == "127.0.0.1:8123"
    assert "host" in acs3.parse_authorization(request.headers["authorization"]).signed_headers


def test_acs3_security_token_is_sent_and_signed() -> None:
    request = httpx.Request("POST", "https://ice.cn-shanghai.aliyuncs.com/?TaskId=t1")
    _acs3_auth(security_token="sts-token").sign_request(request)
    assert request.headers["x-acs-security-token"] == "sts-token"
    assert "x-acs-security-token" in acs3.parse_authorization(request.headers["authorization"]).signed_headers


def test_acs3_body_hash_and_content_type_are_signed() -> None:
    body = b"Ids=%5B1%2C2%5D&ProjectId=7"
    request = httpx.Request(
        "POST",
        "https://dataworks.cn-shanghai.aliyuncs.com/",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    _acs3_auth().sign_request(request)
    assert request.headers["x-acs-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert "content-type" in acs3.parse_authorization(request.headers["authorization"]).signed_headers


def test_encode_query_bytes_survive_httpx_unchanged() -> None:
    params = [("Key", "a b*~'!()/:@,;=+&?#%[]é"), ("Empty", ""), ("Tilde", "~")]
    query = acs3.encode_query(params)
    request = httpx.Request("POST", f"https://h/?{query}")
    assert request.url.query.decode("ascii") == query
    assert acs3.canonical_query_string(acs3.parse_query(query)) == acs3.canonical_query_string(params)


def test_acs3_canonical_query_is_built_from_the_wire_query() -> None:
    # httpx's own params= encoding writes spaces as '+'; the canonical form must still use %20.
    request = httpx.Request("POST", "https://h/", params={"Name": "a b/c"})
    _acs3_auth().sign_request(request)
    headers = dict(request.headers)
    creq = acs3.canonical_request(
        "POST",
        "/",
        "Name=a%20b%2Fc",
        headers,
        acs3.parse_authorization(headers["authorization"]).signed_headers,
        EMPTY_SHA256,
    )
    expected = acs3.sign(ALI_SECRET, acs3.string_to_sign(creq))
    assert acs3.parse_authorization(headers["authorization"]).signature == expected


def test_acs3_parse_authorization_round_trip_and_errors() -> None:
    parsed = acs3.parse_authorization(acs3.authorization("ak", ["x-acs-date", "host"], "abc"))
    assert parsed == acs3.Acs3Authorization("ak", ["host", "x-acs-date"], "abc")
    for bad in (
        "",
        "ACS3-HMAC-SHA256",
        "HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=s",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=s,Signature=t",
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=s",
    ):
        with pytest.raises(ValueError):
            acs3.parse_authorization(bad)


def test_rpc_v1_vector() -> None:
    params = {
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
    assert acs3.rpc_v1_signature("POST", params, "testsecret") == "HmHoOL7/GuJ+q/hsd+byF8OsEuE="


@pytest.mark.parametrize(
    "auth",
    [
        Acs3Auth("AKID", "topsecret-value", "token-value"),
        Tc3Auth("AKID", "topsecret-value", "wedata", "token-value"),
        CosAuth("AKID", "topsecret-value", "token-value"),
    ],
    ids=["acs3", "tc3", "cos"],
)
def test_repr_and_str_hide_secret_and_token(auth: object) -> None:
    for text in (repr(auth), str(auth)):
        assert "AKID" in text
        assert "topsecret-value" not in text
        assert "token-value" not in text


# ----------------------------------------------------------------------------- TC3


def test_tc3_vector_a_pure_steps() -> None:
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    creq = tc3.canonical_request("POST", "", headers, ["content-type", "host"], TC3_A_BODY)
    assert creq.endswith("\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    scope = tc3.credential_scope("2019-02-25", "cvm")
    to_sign = tc3.string_to_sign(1551113065, scope, creq)
    assert to_sign.endswith("\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
    signature = tc3.sign(tc3.signing_key(TC_KEY, "2019-02-25", "cvm"), to_sign)
    assert signature == TC3_A_SIGNATURE
    assert tc3.authorization(TC_ID, scope, ["content-type", "host"], signature) == (
        f"TC3-HMAC-SHA256 Credential={TC_ID}/2019-02-25/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={TC3_A_SIGNATURE}"
    )


def test_tc3_vector_a_through_auth() -> None:
    request = httpx.Request(
        "POST",
        "https://cvm.tencentcloudapi.com/",
        content=TC3_A_BODY,
        headers={"content-type": "application/json; charset=utf-8", "X-TC-Action": "DescribeInstances"},
    )
    Tc3Auth(TC_ID, TC_KEY, "cvm", clock=lambda: 1551113065.9).sign_request(request)
    assert request.headers["x-tc-timestamp"] == "1551113065"
    assert request.headers["authorization"] == (
        f"TC3-HMAC-SHA256 Credential={TC_ID}/2019-02-25/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={TC3_A_SIGNATURE}"
    )


def test_tc3_vector_b_intermediate_values() -> None:
    headers = {"content-type": "application/json", "host": "wedata.tencentcloudapi.com"}
    creq = tc3.canonical_request("POST", "", headers, ["content-type", "host"], TC3_B_BODY)
    assert creq == (
        "POST\n/\n\ncontent-type:application/json\nhost:wedata.tencentcloudapi.com\n\ncontent-type;host\n"
        "eb2706573e48b202e9bc5fded189061a43957f1a8bdfd66648430f62775e9f61"
    )
    scope = tc3.credential_scope(tc3.utc_date(1754467200), "wedata")
    to_sign = tc3.string_to_sign(1754467200, scope, creq)
    assert to_sign == (
        "TC3-HMAC-SHA256\n1754467200\n2025-08-06/wedata/tc3_request\n"
        "2770e279e99155c10f3b8c07128ca7f04cbadd8d4e238806be4f8ac0910878f2"
    )
    assert tc3.sign(tc3.signing_key(TC_KEY, "2025-08-06", "wedata"), to_sign) == TC3_B_SIGNATURE


def test_tc3_vector_b_through_auth_with_default_content_type() -> None:
    request = httpx.Request(
        "POST",
        "https://wedata.tencentcloudapi.com/",
        content=TC3_B_BODY,
        headers={
            "X-TC-Action": "GetTriggerWorkflowRun",
            "X-TC-Version": "2025-08-06",
            "X-TC-Region": "ap-guangzhou",
        },
    )
    Tc3Auth(TC_ID, TC_KEY, "wedata", clock=lambda: 1754467200).sign_request(request)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == (
        f"TC3-HMAC-SHA256 Credential={TC_ID}/2025-08-06/wedata/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={TC3_B_SIGNATURE}"
    )


def test_tc3_scope_date_is_utc_not_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        # 2025-08-05T23:30:00Z is already 2025-08-06 in Shanghai.
        request = httpx.Request("POST", "https://wedata.tencentcloudapi.com/", content=b"{}")
        Tc3Auth(TC_ID, TC_KEY, "wedata", clock=lambda: 1754436600).sign_request(request)
        assert "/2025-08-05/wedata/tc3_request" in request.headers["authorization"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_tc3_get_signs_the_query_and_an_empty_payload() -> None:
    request = httpx.Request("GET", "https://wedata.tencentcloudapi.com/?Action=X&Name=a+b")
    Tc3Auth(TC_ID, TC_KEY, "wedata", clock=lambda: 1754467200).sign_request(request)
    headers = {"content-type": "application/x-www-form-urlencoded", "host": "wedata.tencentcloudapi.com"}
    creq = tc3.canonical_request("GET", "Action=X&Name=a+b", headers, ["content-type", "host"], b"")
    expected = tc3.sign(
        tc3.signing_key(TC_KEY, "2025-08-06", "wedata"),
        tc3.string_to_sign(1754467200, "2025-08-06/wedata/tc3_request", creq),
    )
    assert tc3.parse_authorization(request.headers["authorization"]).signature == expected


def test_tc3_token_header() -> None:
    request = httpx.Request("POST", "https://wedata.tencentcloudapi.com/", content=b"{}")
    Tc3Auth(TC_ID, TC_KEY, "wedata", "tok", clock=lambda: 1754467200).sign_request(request)
    assert request.headers["x-tc-token"] == "tok"


def test_tc3_parse_authorization() -> None:
    parsed = tc3.parse_authorization(
        f"TC3-HMAC-SHA256 Credential={TC_ID}/2025-08-06/wedata/tc3_request, "
        "SignedHeaders=content-type;host, Signature=abc"
    )
    assert (parsed.secret_id, parsed.date, parsed.service) == (TC_ID, "2025-08-06", "wedata")
    assert parsed.signed_headers == ["content-type", "host"]
    assert parsed.scope == "2025-08-06/wedata/tc3_request"
    for bad in (
        "TC3-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=s",
        "TC3-HMAC-SHA256 Credential=a/2025-08-06/wedata/other, SignedHeaders=host, Signature=s",
        "ACS3-HMAC-SHA256 Credential=a/2025-08-06/wedata/tc3_request, SignedHeaders=host, Signature=s",
        "TC3-HMAC-SHA256 Credential=a/2025-08-06/wedata/tc3_request, SignedHeaders=host",
    ):
        with pytest.raises(ValueError):
            tc3.parse_authorization(bad)


# ----------------------------------------------------------------------------- COS / CI


def test_cos_vector_a_pure_steps() -> None:
    ktime = cos.key_time(1557989151, 1557996351)
    key = cos.sign_key(COS_KEY, ktime)
    assert key == "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f"
    header_list, headers = cos.http_headers(
        {
            "Date": "Thu, 16 May 2019 06:45:51 GMT",
            "Host": "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
            "Content-Type": "text/plain",
            "Content-Length": "13",
            "Content-MD5": "mQ/fVh815F3k6TAUm8m0eg==",
            "x-cos-acl": "private",
            "x-cos-grant-read": 'uin="100000000011"',
        }
    )
    param_list, params = cos.http_parameters({})
    signature = cos.sign(
        key, cos.string_to_sign(ktime, cos.http_string("PUT", "/exampleobject(腾讯云)", params, headers))
    )
    assert cos.authorization(COS_ID, ktime, header_list, param_list, signature) == (
        f"q-sign-algorithm=sha1&q-ak={COS_ID}&q-sign-time=1557989151;1557996351&q-key-time=1557989151;1557996351"
        "&q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
        "&q-url-param-list=&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172"
    )


def test_cos_vector_b_intermediate_values() -> None:
    ktime = cos.key_time(1735689540, 1735699600)
    param_list, params = cos.http_parameters(cos.parse_query(CI_LIST_QUERY))
    header_list, headers = cos.http_headers({"host": CI_HOST})
    assert param_list == "name;nexttoken;orderbytime;size;states;workflowid"
    hstring = cos.http_string("GET", "/workflowexecution", params, headers)
    assert hstring == (
        "get\n/workflowexecution\nname=&nexttoken=&orderbytime=Desc&size=10&states=All&"
        f"workflowid=w5307ee7a60d6489383c3921c715dd1c5\nhost={CI_HOST}\n"
    )
    to_sign = cos.string_to_sign(ktime, hstring)
    assert to_sign == "sha1\n1735689540;1735699600\n3fdbf47ca666bf27b8f01722059b3bae5790db03\n"
    key = cos.sign_key(COS_KEY, ktime)
    assert key == "6e9eca98a6fcf4a0ecf0332879604dd4b0a230e4"
    assert cos.sign(key, to_sign) == "279d14eb85a04280c7673819660b18d9846f4555"
    assert header_list == "host"


@pytest.mark.parametrize(
    ("path_and_query", "param_list", "signature"),
    [
        (
            f"/workflowexecution?{CI_LIST_QUERY}",
            "name;nexttoken;orderbytime;size;states;workflowid",
            "279d14eb85a04280c7673819660b18d9846f4555",
        ),
        (
            "/workflowexecution/i166ee19017b011eda8a5525400c540df",
            "",
            "edfbac5315bbbc293f5cba168e86dc70556cf403",
        ),
    ],
    ids=["list", "single"],
)
def test_cos_vector_b_through_auth(path_and_query: str, param_list: str, signature: str) -> None:
    request = httpx.Request("GET", f"https://{CI_HOST}{path_and_query}")
    CosAuth(COS_ID, COS_KEY, expire_seconds=10000, clock=lambda: T_2025).sign_request(request)
    assert request.headers["authorization"] == (
        f"q-sign-algorithm=sha1&q-ak={COS_ID}&q-sign-time=1735689540;1735699600&q-key-time=1735689540;1735699600"
        f"&q-header-list=host&q-url-param-list={param_list}&q-signature={signature}"
    )


def test_cos_default_expiry_and_token_header_is_signed() -> None:
    request = httpx.Request("GET", f"https://{CI_HOST}/workflowexecution/r1")
    CosAuth(COS_ID, COS_KEY, "tok", clock=lambda: T_2025).sign_request(request)
    fields = cos.parse_authorization(request.headers["authorization"])
    assert fields["q-sign-time"] == f"{T_2025 - 60};{T_2025 + 600}"
    assert request.headers["x-ci-security-token"] == "tok"
    assert fields["q-header-list"] == "host;x-ci-security-token"


def test_cos_signs_only_whitelisted_headers() -> None:
    request = httpx.Request(
        "GET",
        f"https://{CI_HOST}/workflowexecution/r1",
        headers={"user-agent": "x", "accept": "*/*", "x-cos-meta-a": "1", "Range": "bytes=0-1", "date": "d"},
    )
    CosAuth(COS_ID, COS_KEY, clock=lambda: T_2025).sign_request(request)
    assert (
        cos.parse_authorization(request.headers["authorization"])["q-header-list"]
        == "host;range;x-cos-meta-a"
    )


def test_cos_parse_authorization_errors() -> None:
    with pytest.raises(ValueError):
        cos.parse_authorization("q-sign-algorithm=sha1&q-ak=a")
    with pytest.raises(ValueError):
        cos.parse_authorization(
            "q-sign-algorithm=sha1&q-ak=&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=s"
        )
