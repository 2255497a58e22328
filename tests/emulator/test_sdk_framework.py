"""The official vendor SDKs (test-only dependencies) against the framework's protocol bases.

Each SDK is aimed at the emulator the documented way (no patching) and talks to a tiny
test-only service: its signature must verify, its success body must parse, and its error
and throttling responses must surface as the SDK's own exceptions and codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_cloudflows.emulator import config as democfg
from airflow_provider_cloudflows.emulator.server import EmulatorServer
from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import Call, action, route
from airflow_provider_cloudflows.emulator.services.cos_xml import CosXmlService
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service

pytestmark = pytest.mark.sdk

ALI_VERSION = "2099-01-01"
TC_VERSION = "2099-03-03"


class SdkAlibaba(AlibabaRpcService):
    vendor = "ice"
    version = ALI_VERSION
    product = "Tiny"

    @action("Echo", required=("TaskId",))
    async def echo(self, call: Call) -> dict[str, Any]:
        return {"Params": call.params}


class SdkTencent(TencentApi3Service):
    vendor = "wedata"
    version = TC_VERSION
    tc3_service = "tiny"

    @action("Echo")
    async def echo(self, call: Call) -> dict[str, Any]:
        return {"Params": call.params}


class SdkCos(CosXmlService):
    vendor = "cloud_infinite"

    # The SDK only knows real paths; this test-only handler answers on one of them.
    @route("GET", "/workflowexecution/{run_id}", action="EchoRun")
    async def echo(self, call: Call) -> dict[str, Any]:
        return {
            "WorkflowExecution": {"RunId": call.path_params["run_id"], "Host": call.request.header("host")}
        }


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(services=[SdkAlibaba, SdkTencent, SdkCos]) as srv:
        yield srv


@pytest.fixture
def emu(server: EmulatorServer) -> EmulatorServer:
    server.control.reset()
    return server


# --------------------------------------------------------------------------- Alibaba


def _ali_call(
    emu: EmulatorServer, *, secret: str = democfg.ALIBABA_DEMO_ACCESS_KEY_SECRET, v2: bool = False
) -> Any:
    openapi = pytest.importorskip("alibabacloud_tea_openapi.client", reason="Alibaba SDK not installed")
    from alibabacloud_tea_openapi import utils_models as om
    from darabonba.runtime import RuntimeOptions

    cfg = om.Config(
        access_key_id=democfg.ALIBABA_DEMO_ACCESS_KEY_ID,
        access_key_secret=secret,
        endpoint=emu.url.removeprefix("http://"),
        protocol="HTTP",
        region_id="cn-shanghai",
    )
    if v2:
        cfg.signature_algorithm = "v2"
    params = om.Params(
        action="Echo",
        version=ALI_VERSION,
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    request = om.OpenApiRequest(query={"TaskId": "t-1", "Note": "a b/c:d"}, body={"Extra": "form value"})
    return openapi.Client(cfg).call_api(params, request, RuntimeOptions(autoretry=False, max_attempts=1))


@pytest.mark.parametrize("v2", [False, True], ids=["acs3", "legacy-rpc"])
def test_alibaba_sdk_call_is_verified_and_parsed(emu: EmulatorServer, v2: bool) -> None:
    result = _ali_call(emu, v2=v2)
    assert result["statusCode"] == 200
    assert result["body"]["Params"] == {"TaskId": "t-1", "Note": "a b/c:d", "Extra": "form value"}
    assert result["body"]["RequestId"]


def test_alibaba_sdk_sees_signature_errors_and_throttling(emu: EmulatorServer) -> None:
    exceptions = pytest.importorskip(
        "alibabacloud_tea_openapi.exceptions", reason="Alibaba SDK not installed"
    )
    with pytest.raises(exceptions.ClientException) as info:
        _ali_call(emu, secret="wrong")
    assert info.value.code == "SignatureDoesNotMatch" and info.value.status_code == 400
    emu.control.set_faults(1.0, kinds=["throttle"], retry_after_ms=1)
    with pytest.raises(exceptions.ThrottlingException) as throttled:
        _ali_call(emu)
    assert throttled.value.code == "Throttling.User"
    emu.control.set_faults(1.0, kinds=["http503"])
    with pytest.raises(exceptions.ServerException) as unavailable:
        _ali_call(emu)
    assert unavailable.value.code == "ServiceUnavailable"


# --------------------------------------------------------------------------- Tencent


def _tc_client(emu: EmulatorServer, secret_key: str = democfg.TENCENT_DEMO_SECRET_KEY) -> Any:
    common = pytest.importorskip("tencentcloud.common.common_client", reason="Tencent SDK not installed")
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    hp = HttpProfile()
    hp.endpoint = emu.url.removeprefix("http://")
    hp.scheme = "http"
    return common.CommonClient(
        "tiny",
        TC_VERSION,
        credential.Credential(democfg.TENCENT_DEMO_SECRET_ID, secret_key),
        "ap-guangzhou",
        ClientProfile(httpProfile=hp),
    )


def test_tencent_sdk_call_is_verified_and_parsed(emu: EmulatorServer) -> None:
    response = _tc_client(emu).call_json("Echo", {"ProjectId": "p1", "Ids": [1, 2]})
    assert response["Response"]["Params"] == {"ProjectId": "p1", "Ids": [1, 2]}
    assert response["Response"]["RequestId"]


def test_tencent_sdk_sees_error_codes(emu: EmulatorServer) -> None:
    sdk_errors = pytest.importorskip(
        "tencentcloud.common.exception.tencent_cloud_sdk_exception", reason="Tencent SDK not installed"
    )
    with pytest.raises(sdk_errors.TencentCloudSDKException) as info:
        _tc_client(emu, "wrong").call_json("Echo", {})
    assert info.value.code == "AuthFailure.SignatureFailure"
    with pytest.raises(sdk_errors.TencentCloudSDKException) as unknown:
        _tc_client(emu).call_json("NoSuchAction", {})
    assert unknown.value.code == "InvalidAction"
    emu.control.set_faults(1.0, kinds=["throttle"])
    with pytest.raises(sdk_errors.TencentCloudSDKException) as throttled:
        _tc_client(emu).call_json("Echo", {})
    assert throttled.value.code == "RequestLimitExceeded"


# --------------------------------------------------------------------------- COS / CI


def _cos_client(emu: EmulatorServer, secret_key: str = democfg.TENCENT_DEMO_SECRET_KEY) -> Any:
    qcloud_cos = pytest.importorskip("qcloud_cos", reason="COS SDK not installed")
    port = int(emu.url.rsplit(":", 1)[1])
    cfg = qcloud_cos.CosConfig(
        Region="ap-chongqing",
        SecretId=democfg.TENCENT_DEMO_SECRET_ID,
        SecretKey=secret_key,
        Scheme="http",
        IP="127.0.0.1",
        Port=port,
    )
    return qcloud_cos.CosS3Client(cfg, retry=0)


def test_cos_sdk_call_is_verified_and_parsed(emu: EmulatorServer) -> None:
    result = _cos_client(emu).ci_get_workflowexecution(Bucket="examplebucket-1250000000", RunId="r-1")
    execution = result["WorkflowExecution"][0]  # the SDK forces this element into a list
    assert execution["RunId"] == "r-1"
    # The SDK signs the virtual-host name it sends, not the IP it connects to.
    assert execution["Host"] == "examplebucket-1250000000.cos.ap-chongqing.myqcloud.com"


def test_cos_sdk_sees_xml_errors(emu: EmulatorServer) -> None:
    qcloud_cos = pytest.importorskip("qcloud_cos", reason="COS SDK not installed")
    with pytest.raises(qcloud_cos.CosServiceError) as info:
        _cos_client(emu, "wrong").ci_get_workflowexecution(Bucket="examplebucket-1250000000", RunId="r-1")
    assert info.value.get_error_code() == "SignatureDoesNotMatch"
    assert info.value.get_status_code() == 403
    assert info.value.get_request_id()
    emu.control.set_faults(1.0, kinds=["throttle"])
    with pytest.raises(qcloud_cos.CosServiceError) as throttled:
        _cos_client(emu).ci_get_workflowexecution(Bucket="examplebucket-1250000000", RunId="r-1")
    assert (throttled.value.get_error_code(), throttled.value.get_status_code()) == ("SlowDown", 503)
