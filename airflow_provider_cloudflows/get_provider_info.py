"""Provider metadata read by Airflow's ProvidersManager (entry point `apache_airflow_provider`)."""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows import __version__
from airflow_provider_cloudflows.hooks.connection_form import ALIBABA_CLOUD_FORM, TENCENT_CLOUD_FORM

_PKG = "airflow_provider_cloudflows"

# (integration name, vendor module, documentation URL)
INTEGRATIONS = (
    ("Alibaba Cloud ICE", "ice", "https://www.alibabacloud.com/help/en/ims/"),
    ("Alibaba Cloud DataWorks", "dataworks", "https://www.alibabacloud.com/help/en/dataworks/"),
    ("Tencent Cloud Infinite", "cloud_infinite", "https://cloud.tencent.com/document/product/460"),
    ("Tencent Cloud WeData", "wedata", "https://cloud.tencent.com/document/product/1267"),
)

EXTRA_LINKS = (
    f"{_PKG}.links.ice.IceWorkflowTaskLink",
    f"{_PKG}.links.dataworks.DataWorksWorkflowInstanceLink",
    f"{_PKG}.links.cloud_infinite.CloudInfiniteWorkflowExecutionLink",
    f"{_PKG}.links.wedata.WeDataWorkflowRunLink",
)


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-cloudflows",
        "name": "Cloudflows",
        "description": "Wait on and read workflow runs in Alibaba Cloud ICE and DataWorks, "
        "Tencent Cloud Infinite and WeData.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "alibabacloud",
                "hook-class-name": f"{_PKG}.hooks.alibaba.AlibabaCloudHook",
                "hook-name": "Alibaba Cloud",
                **ALIBABA_CLOUD_FORM.provider_info(),
            },
            {
                "connection-type": "tencentcloud",
                "hook-class-name": f"{_PKG}.hooks.tencent.TencentCloudHook",
                "hook-name": "Tencent Cloud",
                **TENCENT_CLOUD_FORM.provider_info(),
            },
        ],
        "integrations": [
            {"integration-name": name, "external-doc-url": url, "tags": ["service"]}
            for name, _, url in INTEGRATIONS
        ],
        "hooks": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": [f"{_PKG}.hooks.alibaba"]},
            {"integration-name": "Tencent Cloud WeData", "python-modules": [f"{_PKG}.hooks.tencent"]},
            *(
                {"integration-name": name, "python-modules": [f"{_PKG}.hooks.{module}"]}
                for name, module, _ in INTEGRATIONS
            ),
        ],
        "sensors": [
            {"integration-name": name, "python-modules": [f"{_PKG}.sensors.{module}"]}
            for name, module, _ in INTEGRATIONS
        ],
        "operators": [
            {"integration-name": name, "python-modules": [f"{_PKG}.operators.{module}"]}
            for name, module, _ in INTEGRATIONS
        ],
        "triggers": [
            {
                "integration-name": name,
                "python-modules": [f"{_PKG}.triggers.workflow_run"],
            }
            for name, _, _ in INTEGRATIONS[:1]
        ],
        "extra-links": list(EXTRA_LINKS),
    }
