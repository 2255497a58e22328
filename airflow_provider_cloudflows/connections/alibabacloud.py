"""The `alibabacloud` connection type: an AccessKey pair (optionally an STS token), region, endpoint."""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows.connections.forms import ALIBABA_CLOUD_FORM
from airflow_provider_cloudflows.hooks.base import CloudflowsHook
from airflow_provider_cloudflows.products import CONNECTION_TYPES
from airflow_provider_cloudflows.protocols.alibaba_rpc import AlibabaRpc


class AlibabaCloudHook(CloudflowsHook):
    """The hook Airflow's UI uses for `alibabacloud` connections: the form and the Test button.

    `test_connection` asks STS who the key belongs to (GetCallerIdentity), which every valid key
    may do whatever products it is allowed to use. The product hooks are `hooks.ice.IceHook` and
    `hooks.dataworks.DataWorksHook`.
    """

    connection = CONNECTION_TYPES["alibabacloud"]
    protocol = AlibabaRpc("Alibaba Cloud", product="sts", api_version="2015-04-01")

    # Airflow 2 only calls these when the hook class itself defines them (it looks in
    # `cls.__dict__`), so each connection-type hook spells them out.
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ALIBABA_CLOUD_FORM.ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return ALIBABA_CLOUD_FORM.form_widgets()

    def check_connection(self) -> str:
        body = self.call(self.request("GetCallerIdentity"))
        return f"Connected to Alibaba Cloud as {body.get('Arn') or body.get('AccountId')}"
