"""The throwaway Airflow site of the demo: its home, configuration (all in the environment) and components.

Every Airflow process of the demo, this one included, shares the site's environment: the metadata
DB (SQLite in the home, or a throwaway PostgreSQL for the live components, see
cloudflows_demo.postgres), the example DAGs, and both default connections pointed at the emulator.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudflows_demo import ROOT
from cloudflows_demo.processes import ProcessSet, free_port, tail

EXAMPLE_DAGS = ROOT / "example_dags"
# The `airflow` command of the virtualenv this runs in, whatever PATH says.
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")

# The COS bucket of the emulator's Cloud Infinite demo runs, for the Tencent connection extra.
DEMO_BUCKET = "examplebucket-1250000000"


def demo_connections(emulator_url: str) -> dict[str, str]:
    """`AIRFLOW_CONN_*` for both connection types, pointing every API at the emulator."""
    from airflow_provider_cloudflows.emulator import config

    alibaba = {
        "conn_type": "alibabacloud",
        "login": config.ALIBABA_DEMO_ACCESS_KEY_ID,
        "password": config.ALIBABA_DEMO_ACCESS_KEY_SECRET,
        "extra": {"region": "cn-shanghai", "endpoint": emulator_url},
    }
    tencent = {
        "conn_type": "tencentcloud",
        "login": config.TENCENT_DEMO_SECRET_ID,
        "password": config.TENCENT_DEMO_SECRET_KEY,
        "extra": {"region": "ap-guangzhou", "endpoint": emulator_url, "bucket": DEMO_BUCKET},
    }
    return {
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT": json.dumps(alibaba),
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT": json.dumps(tencent),
    }


@dataclass
class AirflowSite:
    """A throwaway Airflow home and the environment every Airflow process of the demo shares."""

    home: Path
    env: dict[str, str]
    api_url: str | None = None

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        """A task's log files: the worker's (`attempt=N.log`) and the triggerer's (`….log.trigger.…`)."""
        folder = self.logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return sorted(p for p in folder.glob("attempt=*.log*") if p.is_file())


def airflow_site(
    home: Path,
    emulator_url: str,
    *,
    dags_folder: Path = EXAMPLE_DAGS,
    api_port: int | None = None,
    base_env: Mapping[str, str] | None = None,
    database_url: str | None = None,
) -> AirflowSite:
    """The environment for a local Airflow; with `api_port`, for the live components too.

    The metadata DB is `database_url` (a SQLAlchemy URL, e.g. `Postgres.sqlalchemy_url`), or a
    SQLite file in the home without one.

    A fresh Fernet key, JWT secret and API secret per site: they only protect this throwaway
    home. `default_task_retries=1` (retry after 2 s) is the workaround for the Airflow 3.3.2
    scheduler race that can fail a deferrable task whose trigger fires within about 3 s
    (apache/airflow #67287, #72716); it only matters in live mode.
    """
    from cryptography.fernet import Fernet

    env = dict(base_env if base_env is not None else os.environ)
    for key in [k for k in env if k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))]:
        del env[key]
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url or f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "CLOUDFLOWS_REPORT_DIR": str(home / "reports"),
            "PYTHONUNBUFFERED": "1",
            **demo_connections(emulator_url),
        }
    )
    site = AirflowSite(home=home, env=env)
    if api_port is not None:
        site.api_url = f"http://127.0.0.1:{api_port}"
        env.update(
            {
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API__BASE_URL": site.api_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{site.api_url}/execution/",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "1",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
                # Not served (each component gets --skip-serve-logs), but never the shared defaults.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            }
        )
    return site


def migrate(procs: ProcessSet, site: AirflowSite) -> None:
    done = procs.run("db-migrate", [AIRFLOW, "db", "migrate"], site.env, timeout=180)
    if done.popen.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed; see {done.log_path}:\n{tail(done.log_path)}")


def start_components(procs: ProcessSet, site: AirflowSite, components: Sequence[str]) -> None:
    """Start Airflow components (api-server first: the others talk to its execution API)."""
    assert site.api_url is not None
    port = site.api_url.rsplit(":", 1)[1]
    commands = {
        "api-server": [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", port, "--workers", "1"],
        "scheduler": [AIRFLOW, "scheduler", "--skip-serve-logs"],
        "dag-processor": [AIRFLOW, "dag-processor"],
        "triggerer": [AIRFLOW, "triggerer", "--skip-serve-logs"],
    }
    for name in components:
        procs.start(name, commands[name], site.env)


def load_dags(dags_folder: Path) -> dict[str, Any]:
    """The DAGs in the folder by id, in file order; fails on any import error (needs the site env set)."""
    from airflow.dag_processing.dagbag import DagBag

    # DagBag logs each file it fills from; the demo's own output says which DAGs it found.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise RuntimeError(
            "DAG import errors:\n" + "\n".join(f"{p}: {e}" for p, e in bag.import_errors.items())
        )
    order = sorted(bag.dag_ids, key=lambda d: (Path(bag.dags[d].fileloc).name, d))
    return {dag_id: bag.dags[dag_id] for dag_id in order}
