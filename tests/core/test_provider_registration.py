"""Airflow discovers the provider: connection types with their form fields, modules, extra links."""

from __future__ import annotations

import importlib
import json
from importlib.resources import files

import pytest

from airflow_provider_cloudflows.get_provider_info import get_provider_info

CONN_TYPES = {"alibabacloud", "tencentcloud"}
VENDORS = ("ice", "dataworks", "wedata", "cloud_infinite")


def test_provider_info_matches_airflows_schema():
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema ships with Airflow; absent means no Airflow"
    )
    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_every_listed_module_and_link_imports():
    info = get_provider_info()
    modules = {
        m
        for kind in ("hooks", "sensors", "operators", "triggers")
        for e in info[kind]
        for m in e["python-modules"]
    }
    for module in sorted(modules):
        importlib.import_module(module)
    for path in info["extra-links"] + [c["hook-class-name"] for c in info["connection-types"]]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)


def test_providers_manager_sees_both_connection_types_with_their_fields():
    from airflow.providers_manager import ProvidersManager

    pm = ProvidersManager()
    assert "airflow-provider-cloudflows" in pm.providers
    for conn_type in CONN_TYPES:
        hook = pm.hooks[conn_type]
        assert hook is not None and hook.connection_type == conn_type
        behaviour = pm.field_behaviours[conn_type]
        assert set(behaviour["hidden_fields"]) >= {"schema", "port", "host"}
        assert behaviour["relabeling"]["login"] in {"AccessKey ID", "SecretId"}
    widgets = set(pm.connection_form_widgets)
    for name in ("region", "endpoint", "security_token"):
        assert f"extra__alibabacloud__{name}" in widgets
        assert f"extra__tencentcloud__{name}" in widgets
    assert "extra__tencentcloud__bucket" in widgets


def test_secret_fields_are_marked_sensitive():
    info = get_provider_info()
    for conn in info["connection-types"]:
        fields = conn["conn-fields"]
        assert fields["security_token"]["schema"]["format"] == "password"
        assert "format" not in fields["region"]["schema"]


@pytest.mark.parametrize("vendor", ["ice", "dataworks", "wedata", "cloud_infinite"])
def test_hook_and_models_name_the_vendor_alike(vendor):
    hooks = importlib.import_module(f"airflow_provider_cloudflows.hooks.{vendor}")
    models = importlib.import_module(f"airflow_provider_cloudflows.models.{vendor}")
    hook_class = next(
        obj for name, obj in vars(hooks).items() if name.endswith("Hook") and obj.__module__ == hooks.__name__
    )
    assert hook_class.vendor == models.VENDOR
    assert hook_class.vendor.startswith(("Alibaba Cloud ", "Tencent Cloud "))


def test_dag_files_importing_sensors_and_operators_do_not_load_hooks_or_models():
    """DAG parsing pays for every import; hooks, signers and models load only when a task runs."""
    import subprocess
    import sys

    modules = [
        f"airflow_provider_cloudflows.{kind}.{v}" for kind in ("sensors", "operators") for v in VENDORS
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(sorted(m for m in sys.modules if m.startswith(('airflow_provider_cloudflows.hooks', "
        "'airflow_provider_cloudflows.models', 'airflow_provider_cloudflows.auth', 'xmltodict'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"')))
    # The provider info (read by Airflow itself) declares the connection forms: a small pure module.
    assert loaded <= {
        "airflow_provider_cloudflows.hooks",
        "airflow_provider_cloudflows.connections",
        "airflow_provider_cloudflows.connections.forms",
    }


def test_each_products_declaration_matches_its_hook() -> None:
    """products.py names a product's protocol and connection for the emulator; the hook must agree."""
    from airflow_provider_cloudflows.module_loading import import_class
    from airflow_provider_cloudflows.products import PRODUCTS

    for product in PRODUCTS.values():
        hook = import_class(product.hook)
        assert hook.product is product
        assert type(hook.protocol).__module__ == f"airflow_provider_cloudflows.protocols.{product.protocol}"
        assert hook.conn_type == product.connection and hook.vendor == product.name
        assert import_class(product.states).vendor == product.name
