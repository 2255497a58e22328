"""Request signers (httpx.Auth) for the vendor APIs; pure modules without Airflow imports.

Each hook imports only its own scheme's module; these names are loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_cloudflows.auth.acs3 import Acs3Auth
    from airflow_provider_cloudflows.auth.cos import CosAuth
    from airflow_provider_cloudflows.auth.tc3 import Tc3Auth

__all__ = ["Acs3Auth", "CosAuth", "Tc3Auth"]

_MODULES = {"Acs3Auth": "acs3", "CosAuth": "cos", "Tc3Auth": "tc3"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(name)
