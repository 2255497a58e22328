"""The `tencentcloud` connection type: a SecretId/SecretKey pair (optionally a token), region, bucket."""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows.connections.forms import TENCENT_CLOUD_FORM
from airflow_provider_cloudflows.hooks.base import CloudflowsHook
from airflow_provider_cloudflows.products import CONNECTION_TYPES
from airflow_provider_cloudflows.protocols.tencent_api3 import TencentApi3


class TencentCloudHook(CloudflowsHook):
    """The hook Airflow's UI uses for `tencentcloud` connections: the form and the Test button.

    `test_connection` asks STS who the key belongs to (GetCallerIdentity, API 3.0). The product
    hooks are `hooks.wedata.WeDataHook` and `hooks.cloud_infinite.CloudInfiniteHook`.
    """

    connection = CONNECTION_TYPES["tencentcloud"]
    protocol = TencentApi3("Tencent Cloud", service="sts", api_version="2018-08-13")

    # Airflow 2 only calls these when the hook class itself defines them (it looks in
    # `cls.__dict__`), so each connection-type hook spells them out.
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return TENCENT_CLOUD_FORM.ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return TENCENT_CLOUD_FORM.form_widgets()

    def check_connection(self) -> str:
        body = self.call(self.request("GetCallerIdentity", {}))
        return f"Connected to Tencent Cloud as {body.get('Arn') or body.get('AccountId')}"
