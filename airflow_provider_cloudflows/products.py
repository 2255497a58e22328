"""Every connection type and product, declared once.

The provider info Airflow reads, the connection forms, and the emulator's routing, credentials and
configuration are all derived from the two tables below. Classes are named by dotted path, so
importing this module imports nothing else: DAG parsing, the triggerer and the emulator each load
only the pieces they use.

Adding a product under an existing protocol means writing its own modules (models, hook, sensor,
operators, link, emulator service) and adding one `Product(...)` line here; docs/architecture.md
lists the files.
"""

from __future__ import annotations

from typing import NamedTuple

_PKG = "airflow_provider_cloudflows"


# NamedTuples rather than frozen dataclasses: every DAG file that imports a sensor imports this
# module, and a dataclass costs its import ~1.5 ms of generated methods.
class ConnectionType(NamedTuple):
    """An Airflow connection type: whose credentials, and the hook Airflow's UI uses for it."""

    conn_type: str  # "alibabacloud"
    name: str  # "Alibaba Cloud": the UI's name of the type, and the vendor in connection errors
    hook: str  # dotted path of the connection-type hook (form, test_connection)
    form: str  # dotted path of its ConnectionForm
    # The signature family the emulator checks this type's keys with (one credential table each).
    emulator_family: str


class Product(NamedTuple):
    """One cloud product: a connection type, a wire protocol, and the product's own pieces."""

    key: str  # module name everywhere: hooks.<key>, sensors.<key>, emulator.services.<key>
    name: str  # "Alibaba Cloud ICE": the vendor in errors, logs and runs
    connection: str  # a ConnectionType.conn_type
    protocol: str  # module of protocols/ (and of emulator/services/): alibaba_rpc, tencent_api3, cos_xml
    hook: str  # dotted path of the product hook
    states: str  # dotted path of the product's StateTable
    link: str  # dotted path of its console link (an extra link)
    emulator_service: str  # dotted path of its emulator service class
    docs_url: str
    # Console links of the product's other kinds of run (WeData's task instances), registered
    # with Airflow like `link`.
    other_links: tuple[str, ...] = ()
    # Whether the vendor has an API to stop a run (cancel_on_kill / cancel_on_timeout) and one
    # to rerun only a finished run's failed task runs (the rerun operators, repair_on_retry).
    can_stop: bool = False
    can_rerun: bool = False


CONNECTION_TYPES: dict[str, ConnectionType] = {
    c.conn_type: c
    for c in (
        ConnectionType(
            conn_type="alibabacloud",
            name="Alibaba Cloud",
            hook=f"{_PKG}.connections.alibabacloud.AlibabaCloudHook",
            form=f"{_PKG}.connections.forms.ALIBABA_CLOUD_FORM",
            emulator_family="alibabacloud",
        ),
        ConnectionType(
            conn_type="tencentcloud",
            name="Tencent Cloud",
            hook=f"{_PKG}.connections.tencentcloud.TencentCloudHook",
            form=f"{_PKG}.connections.forms.TENCENT_CLOUD_FORM",
            emulator_family="tencentcloud",
        ),
    )
}

# The order is the one every listing keeps (the emulator's runs and services, its error messages).
PRODUCTS: dict[str, Product] = {
    p.key: p
    for p in (
        Product(
            key="ice",
            name="Alibaba Cloud ICE",
            connection="alibabacloud",
            protocol="alibaba_rpc",
            hook=f"{_PKG}.hooks.ice.IceHook",
            states=f"{_PKG}.models.ice.ICE_STATES",
            link=f"{_PKG}.links.ice.IceWorkflowTaskLink",
            emulator_service=f"{_PKG}.emulator.services.ice.IceService",
            docs_url="https://www.alibabacloud.com/help/en/ims/",
        ),
        Product(
            key="dataworks",
            name="Alibaba Cloud DataWorks",
            connection="alibabacloud",
            protocol="alibaba_rpc",
            hook=f"{_PKG}.hooks.dataworks.DataWorksHook",
            states=f"{_PKG}.models.dataworks.DATAWORKS_STATES",
            link=f"{_PKG}.links.dataworks.DataWorksWorkflowInstanceLink",
            emulator_service=f"{_PKG}.emulator.services.dataworks.DataWorksService",
            docs_url="https://www.alibabacloud.com/help/en/dataworks/",
            can_stop=True,
            can_rerun=True,
        ),
        Product(
            key="wedata",
            name="Tencent Cloud WeData",
            connection="tencentcloud",
            protocol="tencent_api3",
            hook=f"{_PKG}.hooks.wedata.WeDataHook",
            states=f"{_PKG}.models.wedata.WEDATA_STATES",
            link=f"{_PKG}.links.wedata.WeDataWorkflowRunLink",
            emulator_service=f"{_PKG}.emulator.services.wedata.WeDataService",
            docs_url="https://cloud.tencent.com/document/product/1267",
            other_links=(f"{_PKG}.links.wedata.WeDataTaskInstanceLink",),
            can_stop=True,
            can_rerun=True,
        ),
        Product(
            key="cloud_infinite",
            name="Tencent Cloud Infinite",
            connection="tencentcloud",
            protocol="cos_xml",
            hook=f"{_PKG}.hooks.cloud_infinite.CloudInfiniteHook",
            states=f"{_PKG}.models.cloud_infinite.CI_STATES",
            link=f"{_PKG}.links.cloud_infinite.CloudInfiniteWorkflowExecutionLink",
            emulator_service=f"{_PKG}.emulator.services.cloud_infinite.CloudInfiniteService",
            docs_url="https://cloud.tencent.com/document/product/460",
        ),
    )
}

# The connection types' own services the emulator also runs (STS answers test_connection).
CONNECTION_EMULATOR_SERVICES: tuple[str, ...] = (
    f"{_PKG}.emulator.services.sts.AlibabaStsService",
    f"{_PKG}.emulator.services.sts.TencentStsService",
)
