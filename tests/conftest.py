"""Test-wide setup. Airflow reads its environment at import, so this runs before anything imports it."""

from __future__ import annotations

import os
import pathlib
import tempfile

_home = pathlib.Path(tempfile.mkdtemp(prefix="cloudflows-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_home / "dags")
os.environ.setdefault("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")

from importlib.metadata import version as _version  # noqa: E402

AIRFLOW_MAJOR = int(_version("apache-airflow").split(".")[0])
if AIRFLOW_MAJOR < 3:
    # Airflow 2 refuses SQLite with the LocalExecutor.
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated metadata DB, only for tests that really need one (dag.test, XCom, links)."""
    from airflow.utils import db

    db.resetdb()
