"""The emulator framework over real HTTP, with tiny test-only services (no vendor module involved).

Requests are signed by the project's own signers; the server verifies them with verify.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from xml.parsers.expat import ExpatError

import httpx
import pytest
import xmltodict

from airflow_provider_cloudflows.auth import Acs3Auth, CosAuth, Tc3Auth
from airflow_provider_cloudflows.auth import acs3 as acs3_signing
from airflow_provider_cloudflows.emulator import config as democfg
from airflow_provider_cloudflows.emulator.control_client import EmulatorControl, EmulatorControlError
from airflow_provider_cloudflows.emulator.server import EmulatorServer
from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import Call, ServiceError, action, route
from airflow_provider_cloudflows.emulator.services.cos_xml import CosXmlService
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service
from airflow_provider_cloudflows.emulator.store import RunSnapshot

ALI_VERSION = "2099-01-01"
ALI_OTHER_VERSION = "2099-02-02"
TC_VERSION = "2099-03-03"


def _run_json(snap: RunSnapshot) -> dict[str, Any]:
    return {
        "RunId": snap.run_id,
        "State": snap.state,
        "ErrorCode": snap.error_code,
        "Tasks": [{"Name": t.name, "State": t.state} for t in snap.task_runs],
    }


class TinyAlibaba(AlibabaRpcService):
    vendor = "ice"
    version = ALI_VERSION
    product = "Tiny"
    not_found_code = "Tiny.RunNotFound"

    @action("GetTinyRun", required=("RunId",))
    async def get_tiny_run(self, call: Call) -> dict[str, Any]:
        snap = self.store.observe(self.vendor, call.params["RunId"])
        call.run_id = snap.run_id
        return {"Run": _run_json(snap)}

    @action("StartTinyRun")
    async def start_tiny_run(self, call: Call) -> dict[str, Any]:
        run = self.store.create(self.vendor, self.store.random_hex(), ["Init", "Processing", "Succeed"])
        call.run_id = run.run_id
        return {"RunId": run.run_id}

    @action("Echo")
    async def echo(self, call: Call) -> dict[str, Any]:
        return {"Params": call.params, "KeyId": call.key_id, "Region": call.region}

    @action("Whoami")
    async def whoami(self, call: Call) -> dict[str, Any]:
        return {"Vendor": self.vendor}

    @action("Refuse")
    async def refuse(self, call: Call) -> dict[str, Any]:
        raise ServiceError("Forbidden.Tiny", "Not for you.", 403)

    @action("Boom")
    async def boom(self, call: Call) -> dict[str, Any]:
        raise RuntimeError("a bug in a handler")


class TinyAlibabaOther(AlibabaRpcService):
    vendor = "dataworks"
    version = ALI_OTHER_VERSION
    product = "TinyOther"

    @action("Whoami")
    async def whoami(self, call: Call) -> dict[str, Any]:
        return {"Vendor": self.vendor}


class TinyTencent(TencentApi3Service):
    vendor = "wedata"
    version = TC_VERSION
    tc3_service = "tiny"

    @action("GetTinyRun", required=("RunId",))
    async def get_tiny_run(self, call: Call) -> dict[str, Any]:
        snap = self.store.observe(self.vendor, call.params["RunId"])
        call.run_id = snap.run_id
        return {"Data": _run_json(snap)}

    @action("Echo")
    async def echo(self, call: Call) -> dict[str, Any]:
        return {"Params": call.params, "Region": call.region, "KeyId": call.key_id}


class TinyCos(CosXmlService):
    vendor = "cloud_infinite"

    @route("GET", "/tinyrun/{run_id}", action="DescribeTinyRun")
    async def describe(self, call: Call) -> dict[str, Any]:
        snap = self.store.observe(self.vendor, call.path_params["run_id"])
        call.run_id = snap.run_id
        return {"Run": _run_json(snap)}

    @route("GET", "/tinyrun", action="ListTinyRuns", required=("workflowId",))
    async def list_runs(self, call: Call) -> dict[str, Any]:
        runs = self.store.list(self.vendor, WorkflowId=call.params["workflowId"])
        return {"RequestId": call.request_id, "RunList": [{"RunId": r.run_id} for r in runs]}


SERVICES = [TinyAlibaba, TinyAlibabaOther, TinyTencent, TinyCos]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(services=SERVICES) as srv:
        yield srv


@pytest.fixture
def emu(server: EmulatorServer) -> EmulatorServer:
    server.control.reset()
    return server


@pytest.fixture
def client(emu: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=10) as c:
        yield c


ALI_AUTH = Acs3Auth(democfg.ALIBABA_DEMO_ACCESS_KEY_ID, democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET)
TC_AUTH = Tc3Auth(democfg.TENCENT_DEMO_SECRET_ID, democfg.TENCENT_DEMO_SECRET_KEY, "tiny")
COS_AUTH = CosAuth(democfg.TENCENT_DEMO_SECRET_ID, democfg.TENCENT_DEMO_SECRET_KEY)


def ali(
    client: httpx.Client,
    action_name: str,
    params: dict[str, str] | None = None,
    *,
    version: str = ALI_VERSION,
    auth: httpx.Auth = ALI_AUTH,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    query = acs3_signing.encode_query(params or {})
    headers = {"x-acs-action": action_name, "x-acs-version": version}
    content = b""
    if form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
        content = acs3_signing.encode_query(form).encode()
    return client.post(f"/?{query}" if query else "/", headers=headers, content=content, auth=auth)


def ali_rpc_v1(
    client: httpx.Client,
    action_name: str,
    params: dict[str, str],
    *,
    secret: str = democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET,
    in_body: bool = False,
) -> httpx.Response:
    """A legacy RPC request: Signature (HMAC-SHA1) among the query or form parameters."""
    signed = {
        "Action": action_name,
        "Version": ALI_VERSION,
        "Format": "JSON",
        "AccessKeyId": democfg.ALIBABA_DEMO_ACCESS_KEY_ID,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": acs3_signing.format_date(time.time()),
        **params,
    }
    signed["Signature"] = acs3_signing.rpc_v1_signature("POST", signed, secret)
    encoded = acs3_signing.encode_query(signed)
    if in_body:
        return client.post(
            "/", content=encoded.encode(), headers={"content-type": "application/x-www-form-urlencoded"}
        )
    return client.post(f"/?{encoded}")


def tc(
    client: httpx.Client,
    action_name: str,
    body: dict[str, Any],
    *,
    version: str = TC_VERSION,
    region: str | None = "ap-guangzhou",
    auth: httpx.Auth = TC_AUTH,
) -> httpx.Response:
    headers = {"X-TC-Action": action_name, "X-TC-Version": version, "content-type": "application/json"}
    if region:
        headers["X-TC-Region"] = region
    return client.post("/", content=json.dumps(body).encode(), headers=headers, auth=auth)


def cos(client: httpx.Client, method: str, path: str, *, auth: httpx.Auth = COS_AUTH) -> httpx.Response:
    return client.request(method, path, auth=auth)


def tc_error(response: httpx.Response) -> str:
    assert response.status_code == 200
    return response.json()["Response"]["Error"]["Code"]


def xml_error(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["x-ci-request-id"]
    error = xmltodict.parse(response.content)["Error"]
    assert set(error) == {"Code", "Message", "Resource", "RequestId", "TraceId"}
    assert error["RequestId"] == response.headers["x-ci-request-id"]
    return error


def assert_alibaba_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == code and body["Message"] and body["RequestId"]
    assert response.headers["x-acs-request-id"] == body["RequestId"]
    return body


# --------------------------------------------------------------------------- routing


def test_alibaba_acs3_routes_by_version_header_and_answers_with_request_id(client: httpx.Client) -> None:
    first = ali(client, "Whoami", version=ALI_VERSION)
    second = ali(client, "Whoami", version=ALI_OTHER_VERSION)
    assert first.json()["Vendor"] == "ice" and second.json()["Vendor"] == "dataworks"
    assert first.headers["content-type"].startswith("application/json")
    assert first.json()["RequestId"] == first.headers["x-acs-request-id"]
    assert first.json()["RequestId"] != second.json()["RequestId"]


def test_alibaba_params_merge_query_and_form_body(client: httpx.Client) -> None:
    response = ali(client, "Echo", {"A": "from query", "B": "1"}, form={"B": "2", "C": "a b/c"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Params"] == {"A": "from query", "B": "2", "C": "a b/c"}
    assert body["KeyId"] == democfg.ALIBABA_DEMO_ACCESS_KEY_ID


@pytest.mark.parametrize("in_body", [False, True], ids=["query", "form"])
def test_alibaba_legacy_rpc_routes_by_action_param_and_hides_signature_params(
    client: httpx.Client, in_body: bool
) -> None:
    response = ali_rpc_v1(client, "Echo", {"TaskId": "t-1", "RegionId": "cn-shanghai"}, in_body=in_body)
    assert response.status_code == 200, response.text
    assert response.json()["Params"] == {"TaskId": "t-1", "RegionId": "cn-shanghai"}
    assert response.json()["Region"] == "cn-shanghai"
    bad = ali_rpc_v1(client, "Echo", {"TaskId": "t-1"}, secret="wrong", in_body=in_body)
    assert_alibaba_error(bad, 400, "SignatureDoesNotMatch")


def test_alibaba_unknown_action_and_version(client: httpx.Client) -> None:
    assert_alibaba_error(ali(client, "NoSuchThing"), 404, "InvalidAction.NotFound")
    assert_alibaba_error(ali(client, "Whoami", version="1999-09-09"), 400, "InvalidVersion")
    # An action of another version's service is not served under this version.
    assert_alibaba_error(ali(client, "Echo", version=ALI_OTHER_VERSION), 404, "InvalidAction.NotFound")


def test_tencent_routes_by_tc_headers(client: httpx.Client) -> None:
    response = tc(client, "Echo", {"ProjectId": "p1", "Filters": [{"Name": "x", "Values": ["1"]}]})
    assert response.status_code == 200
    inner = response.json()["Response"]
    assert inner["Params"] == {"ProjectId": "p1", "Filters": [{"Name": "x", "Values": ["1"]}]}
    assert inner["Region"] == "ap-guangzhou" and inner["KeyId"] == democfg.TENCENT_DEMO_SECRET_ID
    assert uuid.UUID(inner["RequestId"])


def test_tencent_routing_errors_are_http_200_envelopes(client: httpx.Client) -> None:
    assert tc_error(tc(client, "NoSuchThing", {})) == "InvalidAction"
    assert tc_error(tc(client, "Echo", {}, version="1999-09-09")) == "NoSuchVersion"
    assert tc_error(tc(client, "Echo", {}, region=None)) == "MissingParameter"
    assert tc_error(tc(client, "GetTinyRun", {})) == "MissingParameter"
    raw = client.post(
        "/",
        content=b"not json",
        headers={"X-TC-Action": "Echo", "X-TC-Version": TC_VERSION, "X-TC-Region": "ap-guangzhou"},
        auth=TC_AUTH,
    )
    assert tc_error(raw) == "InvalidParameter"


def test_cos_routes_by_path_and_renders_repeated_xml(client: httpx.Client, emu: EmulatorServer) -> None:
    for run_id in ("r1", "r2"):
        emu.control.script_run("cloud_infinite", run_id, ["Running"], fields={"WorkflowId": "w1"})
    response = cos(client, "GET", "/tinyrun?workflowId=w1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.content.count(b"<RunList>") == 2  # a list renders as repeated tags
    document = xmltodict.parse(response.content)["Response"]
    assert [r["RunId"] for r in document["RunList"]] == ["r1", "r2"]
    assert document["RequestId"] == response.headers["x-ci-request-id"]


def test_cos_routing_errors(client: httpx.Client) -> None:
    wrong_method = cos(client, "DELETE", "/tinyrun/r1")
    assert wrong_method.status_code == 405 and xml_error(wrong_method)["Code"] == "MethodNotAllowed"
    unknown = cos(client, "GET", "/no/such/path")
    assert unknown.status_code == 404 and xml_error(unknown)["Code"] == "NoSuchResource"
    missing = cos(client, "GET", "/tinyrun")
    assert missing.status_code == 400 and xml_error(missing)["Code"] == "InvalidArgument"


def test_unsigned_request_to_root_gets_an_alibaba_shaped_404(client: httpx.Client) -> None:
    assert_alibaba_error(client.get("/"), 404, "InvalidAction.NotFound")


# --------------------------------------------------------------------------- signatures


def test_alibaba_signature_rejections_use_the_verifier_code_and_status(client: httpx.Client) -> None:
    wrong_secret = Acs3Auth(democfg.ALIBABA_DEMO_ACCESS_KEY_ID, "not-the-secret")
    body = assert_alibaba_error(ali(client, "Whoami", auth=wrong_secret), 400, "SignatureDoesNotMatch")
    assert body["Recommend"].startswith("https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch")
    assert body["HostId"] == client.base_url.netloc.decode()
    unknown_key = Acs3Auth("LTAI5tNobody", "x")
    assert_alibaba_error(ali(client, "Whoami", auth=unknown_key), 404, "InvalidAccessKeyId.NotFound")
    unsigned = client.post("/", headers={"x-acs-action": "Whoami", "x-acs-version": ALI_VERSION})
    assert_alibaba_error(unsigned, 400, "IncompleteSignature")


def test_alibaba_sts_token_and_nonce_replay(client: httpx.Client) -> None:
    sts = Acs3Auth(
        democfg.ALIBABA_DEMO_STS_ACCESS_KEY_ID,
        democfg.ALIBABA_DEMO_STS_ACCESS_KEY_SECRET,
        democfg.ALIBABA_DEMO_STS_SECURITY_TOKEN,
    )
    assert ali(client, "Whoami", auth=sts).status_code == 200
    no_token = Acs3Auth(democfg.ALIBABA_DEMO_STS_ACCESS_KEY_ID, democfg.ALIBABA_DEMO_STS_ACCESS_KEY_SECRET)
    assert_alibaba_error(
        ali(client, "Whoami", auth=no_token), 400, "InvalidSecurityToken.MismatchWithAccessKey"
    )
    fixed_nonce = Acs3Auth(
        democfg.ALIBABA_DEMO_ACCESS_KEY_ID, democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET, nonce=lambda: "same-nonce"
    )
    assert ali(client, "Whoami", auth=fixed_nonce).status_code == 200
    assert_alibaba_error(ali(client, "Whoami", auth=fixed_nonce), 400, "SignatureNonceUsed")


def test_alibaba_clock_skew_is_refused(client: httpx.Client) -> None:
    late = Acs3Auth(
        democfg.ALIBABA_DEMO_ACCESS_KEY_ID,
        democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET,
        clock=lambda: time.time() - 3600,
    )
    assert_alibaba_error(ali(client, "Whoami", auth=late), 400, "InvalidTimeStamp.Expired")


def test_tencent_signature_rejections(client: httpx.Client) -> None:
    wrong = Tc3Auth(democfg.TENCENT_DEMO_SECRET_ID, "not-the-key", "tiny")
    assert tc_error(tc(client, "Echo", {}, auth=wrong)) == "AuthFailure.SignatureFailure"
    other_service = Tc3Auth(democfg.TENCENT_DEMO_SECRET_ID, democfg.TENCENT_DEMO_SECRET_KEY, "cvm")
    assert tc_error(tc(client, "Echo", {}, auth=other_service)) == "AuthFailure.SignatureFailure"
    unknown = Tc3Auth("AKIDnobody", "x", "tiny")
    assert tc_error(tc(client, "Echo", {}, auth=unknown)) == "AuthFailure.SecretIdNotFound"
    expired = Tc3Auth(
        democfg.TENCENT_DEMO_SECRET_ID,
        democfg.TENCENT_DEMO_SECRET_KEY,
        "tiny",
        clock=lambda: time.time() - 600,
    )
    assert tc_error(tc(client, "Echo", {}, auth=expired)) == "AuthFailure.SignatureExpire"
    sts = Tc3Auth(
        democfg.TENCENT_DEMO_STS_SECRET_ID,
        democfg.TENCENT_DEMO_STS_SECRET_KEY,
        "tiny",
        democfg.TENCENT_DEMO_STS_TOKEN,
    )
    assert "Error" not in tc(client, "Echo", {}, auth=sts).json()["Response"]
    bad_token = Tc3Auth(
        democfg.TENCENT_DEMO_STS_SECRET_ID, democfg.TENCENT_DEMO_STS_SECRET_KEY, "tiny", "forged"
    )
    assert tc_error(tc(client, "Echo", {}, auth=bad_token)) == "AuthFailure.TokenFailure"


def test_cos_signature_rejections(client: httpx.Client) -> None:
    wrong = cos(client, "GET", "/tinyrun/r1", auth=CosAuth(democfg.TENCENT_DEMO_SECRET_ID, "not-the-key"))
    assert wrong.status_code == 403 and xml_error(wrong)["Code"] == "SignatureDoesNotMatch"
    unknown = cos(client, "GET", "/tinyrun/r1", auth=CosAuth("AKIDnobody", "x"))
    assert unknown.status_code == 403 and xml_error(unknown)["Code"] == "InvalidAccessKeyId"
    unsigned = client.get("/tinyrun/r1")
    assert unsigned.status_code == 403 and xml_error(unsigned)["Code"] == "AccessDenied"
    assert xml_error(unsigned)["Resource"].endswith("/tinyrun/r1")


# --------------------------------------------------------------------------- handlers and runs


def test_handler_errors_not_found_and_crashes(client: httpx.Client) -> None:
    assert_alibaba_error(ali(client, "Refuse"), 403, "Forbidden.Tiny")
    assert_alibaba_error(ali(client, "GetTinyRun", {"RunId": "ghost"}), 404, "Tiny.RunNotFound")
    assert_alibaba_error(ali(client, "GetTinyRun"), 400, "MissingParameter")
    assert_alibaba_error(ali(client, "Boom"), 500, "InternalError")
    assert tc_error(tc(client, "GetTinyRun", {"RunId": "ghost"})) == "ResourceNotFound"
    missing = cos(client, "GET", "/tinyrun/ghost")
    assert missing.status_code == 404 and xml_error(missing)["Code"] == "NoSuchResource"


def test_scripted_run_advances_per_poll_on_every_protocol(client: httpx.Client, emu: EmulatorServer) -> None:
    states = ["Q", "R", "S"]
    tasks = [{"name": "t1", "states": ["Q", "S"]}]
    for vendor in ("ice", "wedata", "cloud_infinite"):
        emu.control.script_run(vendor, "run-1", states, task_runs=tasks, error_code="E")
    seen: dict[str, list[tuple[str, str, str | None]]] = {"ice": [], "wedata": [], "cloud_infinite": []}
    for _ in range(4):
        run = ali(client, "GetTinyRun", {"RunId": "run-1"}).json()["Run"]
        seen["ice"].append((run["State"], run["Tasks"][0]["State"], run["ErrorCode"]))
        run = tc(client, "GetTinyRun", {"RunId": "run-1"}).json()["Response"]["Data"]
        seen["wedata"].append((run["State"], run["Tasks"][0]["State"], run["ErrorCode"]))
        run = xmltodict.parse(cos(client, "GET", "/tinyrun/run-1").content)["Response"]["Run"]
        seen["cloud_infinite"].append((run["State"], run["Tasks"]["State"], run["ErrorCode"]))
    expected = [("Q", "Q", None), ("R", "S", None), ("S", "S", "E"), ("S", "S", "E")]
    # XML has no null: None renders as an empty element, which parses back to None.
    assert seen["ice"] == seen["wedata"] == seen["cloud_infinite"] == expected
    assert emu.control.get_run("ice", "run-1")["state"] == "S"


def test_scripted_run_advances_by_time(client: httpx.Client, emu: EmulatorServer) -> None:
    emu.control.script_run(
        "ice", "timed", ["Init", "Processing", "Succeed"], advance="time", step_seconds=1.0
    )
    first = [ali(client, "GetTinyRun", {"RunId": "timed"}).json()["Run"]["State"] for _ in range(3)]
    assert first == ["Init"] * 3  # polls do not move a time script
    time.sleep(2.1)
    assert ali(client, "GetTinyRun", {"RunId": "timed"}).json()["Run"]["State"] == "Succeed"


def test_start_api_creates_a_run_the_get_api_then_serves(client: httpx.Client, emu: EmulatorServer) -> None:
    run_id = ali(client, "StartTinyRun").json()["RunId"]
    states = [ali(client, "GetTinyRun", {"RunId": run_id}).json()["Run"]["State"] for _ in range(3)]
    assert states == ["Init", "Processing", "Succeed"]
    assert [r["run_id"] for r in emu.control.runs("ice")] == [run_id]


# --------------------------------------------------------------------------- request log


def test_request_log_records_vendor_action_key_run_and_status(
    client: httpx.Client, emu: EmulatorServer
) -> None:
    emu.control.script_run("ice", "logged", ["Init"])
    ali(client, "GetTinyRun", {"RunId": "logged"})
    ali(client, "GetTinyRun", {"RunId": "logged"})
    ali(client, "Whoami", auth=Acs3Auth(democfg.ALIBABA_DEMO_ACCESS_KEY_ID, "bad"))
    tc(client, "Echo", {})
    cos(client, "GET", "/tinyrun/ghost")
    records = emu.control.requests()
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert [(r["vendor"], r["action"], r["status"]) for r in records] == [
        ("ice", "GetTinyRun", 200),
        ("ice", "GetTinyRun", 200),
        ("ice", "Whoami", 400),
        ("wedata", "Echo", 200),
        ("cloud_infinite", "DescribeTinyRun", 404),
    ]
    assert records[0]["run_id"] == "logged" and records[0]["key_id"] == democfg.ALIBABA_DEMO_ACCESS_KEY_ID
    assert records[2]["key_id"] is None and records[2]["error_code"] == "SignatureDoesNotMatch"
    assert records[4]["run_id"] == "ghost" and records[4]["error_code"] == "NoSuchResource"
    assert len(emu.control.requests(vendor="ice", action="GetTinyRun")) == 2
    assert [r["seq"] for r in emu.control.requests(since=3)] == [4, 5]
    emu.control.clear_requests()
    assert emu.control.requests() == []
    ali(client, "Whoami")
    assert [r["seq"] for r in emu.control.requests()] == [6]  # seq keeps counting until a reset


# --------------------------------------------------------------------------- control API


def test_control_scripts_inspects_stops_and_deletes_runs(emu: EmulatorServer) -> None:
    control = emu.control
    snaps = control.script_runs(
        [
            {"vendor": "ice", "run_id": "a", "states": ["Init", "Processing"]},
            {"vendor": "wedata", "run_id": "b", "states": ["PENDING"], "fields": {"ProjectId": "p"}},
        ]
    )
    assert [(s["vendor"], s["run_id"], s["state"]) for s in snaps] == [
        ("ice", "a", "Init"),
        ("wedata", "b", "PENDING"),
    ]
    assert control.get_run("wedata", "b")["fields"] == {"ProjectId": "p"}
    stopped = control.stop_run("ice", "a", "Canceled", error_code="Stopped")
    assert (stopped["state"], stopped["stopped"], stopped["error_code"]) == ("Canceled", True, "Stopped")
    control.delete_run("ice", "a")
    with pytest.raises(EmulatorControlError) as info:
        control.get_run("ice", "a")
    assert info.value.status == 404
    with pytest.raises(ValueError):  # checked before sending
        control.script_runs([{"vendor": "aws", "run_id": "x", "states": ["A"]}])
    bad_vendor = httpx.post(
        f"{emu.url}/_emulator/runs", json={"vendor": "aws", "run_id": "x", "states": ["A"]}
    )
    assert bad_vendor.status_code == 422 and bad_vendor.json()["detail"][0]["loc"] == ["vendor"]
    not_runs = httpx.post(
        f"{emu.url}/_emulator/runs", content=b"[1, 2]", headers={"Content-Type": "application/json"}
    )
    assert not_runs.status_code == 422


def test_control_reset_clears_runs_log_faults_and_nonces(client: httpx.Client, emu: EmulatorServer) -> None:
    fixed = Acs3Auth(
        democfg.ALIBABA_DEMO_ACCESS_KEY_ID, democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET, nonce=lambda: "n-1"
    )
    assert ali(client, "Whoami", auth=fixed).status_code == 200
    emu.control.script_run("ice", "x", ["Init"])
    emu.control.set_faults(0.5, seed=1)
    emu.control.reset()
    assert emu.control.runs() == [] and emu.control.requests() == []
    assert emu.control.faults()["rate"] == 0.0
    assert ali(client, "Whoami", auth=fixed).status_code == 200  # the nonce was forgotten


def test_control_credentials_add_and_replace(client: httpx.Client, emu: EmulatorServer) -> None:
    new = Acs3Auth("LTAI5tAddedAtRuntime", "runtime-secret")
    assert ali(client, "Whoami", auth=new).status_code == 404
    keys = emu.control.set_credentials(alibabacloud={"LTAI5tAddedAtRuntime": {"secret": "runtime-secret"}})
    assert "runtime-secret" not in json.dumps(keys)
    assert set(keys["alibabacloud"]) >= {"LTAI5tAddedAtRuntime", democfg.ALIBABA_DEMO_ACCESS_KEY_ID}
    assert ali(client, "Whoami", auth=new).status_code == 200
    emu.control.set_credentials(
        alibabacloud={"LTAI5tAddedAtRuntime": {"secret": "runtime-secret"}}, replace=True
    )
    assert ali(client, "Whoami").status_code == 404  # the demo key was replaced away
    emu.control.reset()
    assert ali(client, "Whoami").status_code == 200


def test_control_fault_settings_validate_and_never_fault_control(emu: EmulatorServer) -> None:
    with pytest.raises(EmulatorControlError) as info:
        emu.control.set_faults(0.5, kinds=["meteor"])
    assert info.value.status == 422
    settings = emu.control.set_faults(1.0, seed=3, kinds=["http500"], vendors=["ice"], slow_seconds=0.1)
    assert (settings["rate"], settings["seed"], settings["kinds"], settings["vendors"]) == (
        1.0,
        3,
        ["http500"],
        ["ice"],
    )
    for _ in range(5):
        assert emu.control.health()["status"] == "ok"
    emu.control.clear_faults()
    assert emu.control.faults()["rate"] == 0.0


def test_health_lists_the_services(emu: EmulatorServer) -> None:
    health = emu.control.health()
    assert {(s["vendor"], s["protocol"]) for s in health["services"]} == {
        ("ice", "alibaba_rpc"),
        ("dataworks", "alibaba_rpc"),
        ("wedata", "tencent_api3"),
        ("cloud_infinite", "cos_xml"),
    }
    assert "GetTinyRun" in next(s["actions"] for s in health["services"] if s["vendor"] == "ice")


def test_control_client_repr_and_context_manager(emu: EmulatorServer) -> None:
    with EmulatorControl(emu.url) as control:
        assert control.health()["status"] == "ok"
        assert repr(control) == f"EmulatorControl({emu.url!r})"


# --------------------------------------------------------------------------- faults as clients see them


def _faulted(emu: EmulatorServer) -> list[tuple[int, str | None]]:
    return [(r["seq"], r["fault"]) for r in emu.control.requests() if r["fault"]]


def test_same_seed_gives_the_same_faulted_requests(client: httpx.Client, emu: EmulatorServer) -> None:
    kinds = ["http500", "http503", "throttle", "malformed", "http502"]

    def run(seed: int) -> list[tuple[int, str | None]]:
        emu.control.reset()
        emu.control.set_faults(0.3, seed=seed, kinds=kinds)
        for i in range(40):
            (ali(client, "Whoami") if i % 2 else tc(client, "Echo", {}))
        return _faulted(emu)

    first, again, other = run(21), run(21), run(22)
    assert first == again
    assert first != other
    assert 4 <= len(first) <= 24


def test_fault_vendor_filter(client: httpx.Client, emu: EmulatorServer) -> None:
    emu.control.set_faults(1.0, kinds=["http500"], vendors=["wedata"])
    assert ali(client, "Whoami").status_code == 200
    assert tc(client, "Echo", {}).status_code == 500


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        (lambda c: ali(c, "Whoami"), 500, "InternalError"),
        (lambda c: tc(c, "Echo", {}), 500, "InternalError"),
        (lambda c: cos(c, "GET", "/tinyrun/r1"), 500, "InternalError"),
    ],
    ids=["alibaba", "tencent", "cos"],
)
def test_http500_fault_uses_the_vendor_error_shape(
    client: httpx.Client, emu: EmulatorServer, send: Any, status: int, code: str
) -> None:
    emu.control.set_faults(1.0, kinds=["http500"])
    response = send(client)
    assert response.status_code == status
    if response.headers["content-type"].startswith("application/xml"):
        assert xml_error(response)["Code"] == code
    elif "Response" in response.json():
        assert response.json()["Response"]["Error"]["Code"] == code
    else:
        assert_alibaba_error(response, status, code)


def test_http502_and_http503_faults(client: httpx.Client, emu: EmulatorServer) -> None:
    emu.control.set_faults(1.0, kinds=["http502"])
    gateway = ali(client, "Whoami")
    assert gateway.status_code == 502 and gateway.headers["content-type"].startswith("text/html")
    emu.control.set_faults(1.0, kinds=["http503"])
    assert_alibaba_error(ali(client, "Whoami"), 503, "ServiceUnavailable")
    unavailable = cos(client, "GET", "/tinyrun/r1")
    assert unavailable.status_code == 503 and xml_error(unavailable)["Code"] == "ServiceUnavailable"


def test_throttle_fault_is_each_vendors_own_throttling(client: httpx.Client, emu: EmulatorServer) -> None:
    emu.control.set_faults(1.0, kinds=["throttle"], retry_after_ms=250)
    alibaba = ali(client, "Whoami")
    assert_alibaba_error(alibaba, 400, "Throttling.User")
    assert alibaba.headers["x-acs-retry-after"] == "250"
    assert tc_error(tc(client, "Echo", {})) == "RequestLimitExceeded"
    slow_down = cos(client, "GET", "/tinyrun/r1")
    assert slow_down.status_code == 503 and xml_error(slow_down)["Code"] == "SlowDown"
    assert {r["fault"] for r in emu.control.requests()} == {"throttle"}


def test_reset_fault_breaks_the_connection_without_a_response(
    client: httpx.Client, emu: EmulatorServer
) -> None:
    emu.control.set_faults(1.0, kinds=["reset"])
    for send in (
        lambda: ali(client, "Whoami"),
        lambda: tc(client, "Echo", {}),
        lambda: cos(client, "GET", "/tinyrun/r1"),
    ):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            send()
    assert client.get("/no/such/path").status_code == 404  # unroutable requests are never faulted
    emu.control.clear_faults()
    assert ali(client, "Whoami").status_code == 200  # the client reconnects
    records = emu.control.requests(fault="reset")
    assert len(records) == 3 and all(r["status"] is None for r in records)


@pytest.mark.asyncio
async def test_reset_fault_seen_by_an_async_client(emu: EmulatorServer) -> None:
    emu.control.set_faults(1.0, kinds=["reset"])
    async with httpx.AsyncClient(base_url=emu.url) as aclient:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await aclient.post(
                "/", headers={"x-acs-action": "Whoami", "x-acs-version": ALI_VERSION}, auth=ALI_AUTH
            )


def test_slow_fault_delays_a_normal_answer(client: httpx.Client, emu: EmulatorServer) -> None:
    emu.control.set_faults(1.0, kinds=["slow"], slow_seconds=0.4)
    started = time.monotonic()
    response = ali(client, "Whoami")
    assert time.monotonic() - started >= 0.4
    assert response.status_code == 200 and response.json()["Vendor"] == "ice"


def test_truncated_fault_cuts_the_body_so_it_does_not_parse(
    client: httpx.Client, emu: EmulatorServer
) -> None:
    emu.control.script_run("cloud_infinite", "r1", ["Running"])
    emu.control.set_faults(1.0, kinds=["truncated"])
    alibaba = ali(client, "Whoami")
    assert alibaba.status_code == 200
    assert int(alibaba.headers["content-length"]) == len(alibaba.content) > 0
    assert alibaba.content.startswith(b'{"RequestId":')
    with pytest.raises(json.JSONDecodeError):
        alibaba.json()
    with pytest.raises(json.JSONDecodeError):
        tc(client, "Echo", {}).json()
    xml = cos(client, "GET", "/tinyrun/r1")
    assert xml.status_code == 200 and xml.content.startswith(b"<?xml")
    with pytest.raises(ExpatError):
        xmltodict.parse(xml.content)


def test_malformed_fault_is_200_with_an_unparseable_body(client: httpx.Client, emu: EmulatorServer) -> None:
    emu.control.set_faults(1.0, kinds=["malformed"])
    alibaba = ali(client, "Whoami")
    assert alibaba.status_code == 200 and alibaba.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        alibaba.json()
    tencent = tc(client, "Echo", {})
    assert tencent.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        tencent.json()
    xml = cos(client, "GET", "/tinyrun/r1")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    with pytest.raises(ExpatError):
        xmltodict.parse(xml.content)


def test_filler_bytes_serve_exactly_the_size_asked(client: httpx.Client) -> None:
    assert client.get("/_emulator/bytes", params={"size": 6333}).content == b"x" * 6333
    assert client.get("/_emulator/bytes", params={"size": 0}).content == b""
    for bad in (-1, "many"):  # the control API's answer to any invalid input
        assert client.get("/_emulator/bytes", params={"size": bad}).status_code == 422
