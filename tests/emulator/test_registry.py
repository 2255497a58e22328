"""The emulator's vendors, credential families and services are the ones products.py declares."""

from __future__ import annotations

from airflow_provider_cloudflows.emulator.config import FAMILIES, VENDORS, EmulatorConfig
from airflow_provider_cloudflows.emulator.services import VENDOR_MODULES, default_services
from airflow_provider_cloudflows.products import CONNECTION_EMULATOR_SERVICES, CONNECTION_TYPES, PRODUCTS


def test_vendors_and_families_come_from_the_registry() -> None:
    assert VENDORS == ("ice", "dataworks", "wedata", "cloud_infinite") == tuple(PRODUCTS)
    assert FAMILIES == ("alibabacloud", "tencentcloud")
    assert {c.emulator_family for c in CONNECTION_TYPES.values()} == set(FAMILIES)
    assert VENDOR_MODULES == ("ice", "dataworks", "wedata", "cloud_infinite", "sts")


def test_every_family_has_its_credential_table_in_the_config() -> None:
    config = EmulatorConfig()
    for family in FAMILIES:
        assert family in EmulatorConfig.model_fields
        assert config.credentials_of(family), family


def test_each_product_service_speaks_its_products_protocol_with_its_connections_keys() -> None:
    services = default_services()
    assert [f"{s.__module__}.{s.__qualname__}" for s in services] == [
        *(p.emulator_service for p in PRODUCTS.values()),
        *CONNECTION_EMULATOR_SERVICES,
    ]
    for product, service in zip(PRODUCTS.values(), services, strict=False):
        assert service.vendor == product.key
        assert service.protocol == product.protocol
        assert service.family == CONNECTION_TYPES[product.connection].emulator_family
    for service in services[len(PRODUCTS) :]:
        assert service.family in FAMILIES
