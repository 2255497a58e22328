"""Emulated STS GetCallerIdentity of both vendors: the cheap signed call behind test_connection.

Alibaba STS 2015-04-01 and Tencent STS 2018-08-13 both answer "who owns this key" for any valid
key, whatever products it may use, which is why the connection test asks them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from airflow_provider_cloudflows.emulator.services.alibaba_rpc import AlibabaRpcService
from airflow_provider_cloudflows.emulator.services.base import Call, action
from airflow_provider_cloudflows.emulator.services.tencent_api3 import TencentApi3Service


def _account_id(key_id: str, digits: int) -> str:
    # Stable per key, so tests can compare answers; no meaning beyond that.
    return str(int(hashlib.sha256(key_id.encode()).hexdigest(), 16))[:digits]


class AlibabaStsService(AlibabaRpcService):
    vendor = "sts"
    version = "2015-04-01"
    product = "Sts"

    @action("GetCallerIdentity")
    async def get_caller_identity(self, call: Call) -> dict[str, Any]:
        account = _account_id(call.key_id, 16)
        is_sts = call.key_id.startswith("STS.")
        user = _account_id(call.key_id + "/user", 15)
        return {
            "AccountId": account,
            "UserId": user,
            "PrincipalId": user,
            "IdentityType": "AssumedRoleUser" if is_sts else "RAMUser",
            "Arn": f"acs:ram::{account}:{'assumed-role/emulator' if is_sts else 'user/emulator'}",
        }


class TencentStsService(TencentApi3Service):
    vendor = "sts"
    version = "2018-08-13"
    tc3_service = "sts"
    region_required = False

    @action("GetCallerIdentity")
    async def get_caller_identity(self, call: Call) -> dict[str, Any]:
        account = _account_id(call.key_id, 10)
        user = _account_id(call.key_id + "/user", 12)
        return {
            "Arn": f"qcs::cam::uin/{account}:uin/{user}",
            "AccountId": account,
            "UserId": user,
            "PrincipalId": user,
            "Type": "CAMUser",
        }
