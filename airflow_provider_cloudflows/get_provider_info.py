"""Provider metadata read by Airflow's ProvidersManager (entry point `apache_airflow_provider`).

Derived from products.py: a product or connection type added there appears here.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cloudflows import __version__
from airflow_provider_cloudflows.module_loading import import_class
from airflow_provider_cloudflows.products import CONNECTION_TYPES, PRODUCTS

_PKG = "airflow_provider_cloudflows"


def _modules(layer: str) -> list[dict[str, Any]]:
    return [
        {"integration-name": p.name, "python-modules": [f"{_PKG}.{layer}.{p.key}"]} for p in PRODUCTS.values()
    ]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-cloudflows",
        "name": "Cloudflows",
        "description": "Wait on and read workflow runs in "
        + ", ".join(p.name for p in PRODUCTS.values())
        + ".",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": c.conn_type,
                "hook-class-name": c.hook,
                "hook-name": c.name,
                **import_class(c.form).provider_info(),
            }
            for c in CONNECTION_TYPES.values()
        ],
        "integrations": [
            {"integration-name": p.name, "external-doc-url": p.docs_url, "tags": ["service"]}
            for p in PRODUCTS.values()
        ],
        "hooks": [
            *(
                {
                    "integration-name": next(
                        p.name for p in PRODUCTS.values() if p.connection == c.conn_type
                    ),
                    "python-modules": [c.hook.rpartition(".")[0]],
                }
                for c in CONNECTION_TYPES.values()
            ),
            *_modules("hooks"),
        ],
        "sensors": _modules("sensors"),
        "operators": _modules("operators"),
        "triggers": [
            {
                "integration-name": next(iter(PRODUCTS.values())).name,
                "python-modules": [f"{_PKG}.triggers.workflow_run", f"{_PKG}.triggers.events"],
            }
        ],
        "extra-links": [link for p in PRODUCTS.values() for link in (p.link, *p.other_links)],
    }
