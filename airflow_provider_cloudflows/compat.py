"""Version facts about the installed Airflow, read from package metadata (no Airflow import)."""

from __future__ import annotations

from importlib.metadata import version

AIRFLOW_VERSION = version("apache-airflow")
AIRFLOW_MAJOR = int(AIRFLOW_VERSION.split(".")[0])
