"""Request signers (httpx.Auth) for the vendor APIs; pure modules without Airflow imports."""

from airflow_provider_cloudflows.auth.acs3 import Acs3Auth
from airflow_provider_cloudflows.auth.cos import CosAuth
from airflow_provider_cloudflows.auth.tc3 import Tc3Auth

__all__ = ["Acs3Auth", "CosAuth", "Tc3Auth"]
