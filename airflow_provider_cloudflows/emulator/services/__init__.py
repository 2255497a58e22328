"""The emulated services: one module per product, plus the connection types' own (STS).

products.py names every service class by dotted path (`Product.emulator_service` and
`CONNECTION_EMULATOR_SERVICES`); `default_services()` loads those. A new product's service is a
module here with one subclass of a protocol base (alibaba_rpc, tencent_api3, cos_xml), named in
its `Product(...)` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_cloudflows.module_loading import import_class
from airflow_provider_cloudflows.products import CONNECTION_EMULATOR_SERVICES, PRODUCTS

if TYPE_CHECKING:
    from airflow_provider_cloudflows.emulator.services.base import Service

# Every service the emulator runs, by dotted path, in the registry's order.
SERVICE_PATHS: tuple[str, ...] = (
    *(product.emulator_service for product in PRODUCTS.values()),
    *CONNECTION_EMULATOR_SERVICES,
)

# The modules of this package those services live in ("ice", ..., "sts"), e.g. for their demo_runs().
VENDOR_MODULES: tuple[str, ...] = tuple(
    dict.fromkeys(path.rpartition(".")[0].removeprefix(f"{__name__}.") for path in SERVICE_PATHS)
)


def default_services() -> list[type[Service]]:
    """The service classes products.py names, loaded (importing each one's module)."""
    return [import_class(path) for path in SERVICE_PATHS]
