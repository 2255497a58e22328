"""The emulated services: one module per product, plus the connection types' own (STS).

products.py names every service class by dotted path (`Product.emulator_service` and
`CONNECTION_EMULATOR_SERVICES`); `default_services()` loads those. A new product's service is a
module here with one subclass of a protocol base, named in its `Product(...)` line. Each protocol
a product names (`Product.protocol`) has its base in the module of that name here (alibaba_rpc,
tencent_api3, cos_xml), and that base tells the router which requests are its own.
"""

from __future__ import annotations

import importlib
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


# The protocols products.py names: each is the module of this package with its protocol base.
PROTOCOLS: tuple[str, ...] = tuple(dict.fromkeys(product.protocol for product in PRODUCTS.values()))


def protocol_bases() -> list[type[Service]]:
    """The protocol base of each protocol in PROTOCOLS (importing its module)."""
    from airflow_provider_cloudflows.emulator.services.base import Service

    for name in PROTOCOLS:
        importlib.import_module(f"{__name__}.{name}")
    return [Service.protocol_bases[name] for name in PROTOCOLS]


def default_services() -> list[type[Service]]:
    """The service classes products.py names, loaded (importing each one's module)."""
    return [import_class(path) for path in SERVICE_PATHS]
