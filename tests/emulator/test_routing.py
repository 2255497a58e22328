"""The router asks the protocol bases which requests are theirs; it knows no protocol itself."""

from __future__ import annotations

import pytest

from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.routing import Router
from airflow_provider_cloudflows.emulator.services import PROTOCOLS, protocol_bases
from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import RoutingError, Target
from airflow_provider_cloudflows.emulator.services.cloud_infinite import CloudInfiniteService
from airflow_provider_cloudflows.emulator.services.cos_xml import CosXmlService
from airflow_provider_cloudflows.emulator.services.ice import IceService
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service
from airflow_provider_cloudflows.emulator.services.wedata import WeDataService
from airflow_provider_cloudflows.emulator.state import EmulatorState


def _req(method: str = "POST", path: str = "/", query: str = "", **headers: str) -> IncomingRequest:
    return IncomingRequest(method, path, query, {k.replace("_", "-"): v for k, v in headers.items()})


def test_each_protocol_products_name_has_its_base() -> None:
    assert PROTOCOLS == ("alibaba_rpc", "tencent_api3", "cos_xml")
    assert protocol_bases() == [AlibabaRpcService, TencentApi3Service, CosXmlService]
    assert IceService.protocol_base is AlibabaRpcService
    assert WeDataService.protocol_base is TencentApi3Service
    assert CloudInfiniteService.protocol_base is CosXmlService


def test_services_are_found_by_what_their_protocol_base_reads() -> None:
    state = EmulatorState()
    ice, wedata, ci = IceService(state), WeDataService(state), CloudInfiniteService(state)
    router = Router([ice, wedata, ci])
    acs3 = router.resolve(_req(x_acs_action="GetWorkflowTask", x_acs_version="2020-11-09"))
    legacy = router.resolve(_req("GET", query="Action=GetWorkflowTask&Version=2020-11-09"))
    tc3 = router.resolve(_req(x_tc_action="GetTriggerWorkflowRun", x_tc_version="2025-08-06"))
    cos = router.resolve(_req("GET", "/workflowexecution/i1"))
    wrong_method = router.resolve(_req("DELETE", "/workflowexecution/i1"))
    assert acs3 == Target(ice, action_name="GetWorkflowTask")
    assert legacy == Target(ice, action_name="GetWorkflowTask")
    assert tc3 == Target(wedata, action_name="GetTriggerWorkflowRun")
    assert isinstance(cos, Target) and cos.service is ci and cos.path_params == {"run_id": "i1"}
    assert wrong_method == Target(ci)


@pytest.mark.parametrize(
    ("request_", "protocol", "code"),
    [
        (_req(x_tc_action="X", x_tc_version="2025-08-06"), TencentApi3Service, "NoSuchVersion"),
        (_req(x_tc_version="2025-08-06"), TencentApi3Service, "MissingParameter"),
        (_req(x_acs_action="X", x_acs_version="2020-11-09"), AlibabaRpcService, "InvalidVersion"),
        (_req(query="Action=X"), AlibabaRpcService, "MissingVersion"),
        (_req(x_acs_version="2020-11-09"), AlibabaRpcService, "MissingAction"),
        (_req("GET"), AlibabaRpcService, "InvalidAction.NotFound"),
        (_req("GET", "/nope"), CosXmlService, "NoSuchResource"),
    ],
)
def test_a_request_no_service_takes_gets_its_protocols_error_even_with_no_service_of_it(
    request_: IncomingRequest, protocol: type, code: str
) -> None:
    resolved = Router([CloudInfiniteService(EmulatorState())]).resolve(request_)
    assert isinstance(resolved, RoutingError)
    assert (resolved.protocol, resolved.code) == (protocol, code)


def test_two_services_of_one_version_are_refused() -> None:
    class OtherIce(IceService):
        vendor = "dataworks"

    state = EmulatorState()
    with pytest.raises(ValueError, match="both serve 2020-11-09"):
        Router([IceService(state), OtherIce(state)])
