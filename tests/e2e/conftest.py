"""One real local Airflow 3 for all end-to-end tests: emulator, api-server, scheduler, dag-processor, triggerer.

Everything is started once per session on free ports of 127.0.0.1 (so a developer's own
Airflow on 8080/8793/8794 is never touched), from a throwaway AIRFLOW_HOME whose metadata DB is
a throwaway PostgreSQL (Debian's binaries, initdb in a temporary directory, see
cloudflows_demo.postgres) with the LocalExecutor, with the example DAGs and default connections
aimed at the emulator - the same setup as `scripts/demo --live`, whose helpers these fixtures
use. Every process runs in its own process group and all of them are killed at the end of the
session, also when a test fails; the PostgreSQL server is stopped last and its directory removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib.metadata import version

import pytest
from cloudflows_demo.emulator import preload_cross_cloud_runs, start_emulator
from cloudflows_demo.postgres import temporary_postgres
from cloudflows_demo.processes import ProcessSet, free_port
from cloudflows_demo.rest import ApiClient
from cloudflows_demo.site import airflow_site, migrate, start_components
from live_airflow import COMPONENTS, CROSS_CLOUD, FinishedRun, LiveAirflow, dags_folder, load_example_dag

AIRFLOW_MAJOR = int(version("apache-airflow").split(".")[0])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if AIRFLOW_MAJOR < 3:
        skip = pytest.mark.skip(
            reason="the end-to-end tests run the Airflow 3 processes (api-server, dag-processor)"
        )
        for item in items:
            if "tests/e2e/" in str(item.path).replace(os.sep, "/"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def live_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAirflow]:
    home = tmp_path_factory.mktemp("airflow-e2e-home")
    # Exits in reverse: every Airflow process is stopped before the database goes.
    with (
        temporary_postgres(home / "logs" / "postgres") as database,
        ProcessSet(home / "logs" / "processes") as procs,
    ):
        emulator_url = start_emulator(procs, os.environ, home)
        site = airflow_site(
            home,
            emulator_url,
            api_port=free_port(),
            dags_folder=dags_folder(home),
            database_url=database.sqlalchemy_url,
        )
        migrate(procs, site)
        start_components(procs, site, COMPONENTS)
        assert site.api_url is not None
        api = ApiClient(site.api_url, procs)
        try:
            api.wait_ready(COMPONENTS, timeout=240)
            yield LiveAirflow(site=site, api=api, procs=procs, emulator_url=emulator_url, database=database)
        finally:
            api.close()


@pytest.fixture(scope="session")
def cross_cloud_run(live_airflow: LiveAirflow) -> FinishedRun:
    """The cross-cloud DAG, triggered through the REST API and run by the scheduler and triggerer.

    Its Cloud Infinite execution and ICE task are preloaded to advance one step per poll, so
    however late the sensors start, they find them unfinished, defer, and the trigger fires
    only after a few polls (3 s apart): later than the ~3 s window of the Airflow 3.3.2
    scheduler race (apache/airflow #67287, #72716) that can fail a deferrable task whose
    trigger fires sooner. The WeData and DataWorks runs the operators start take about 5 s
    and 8 s. The site also sets `default_task_retries=1` (see cloudflows_demo.site.airflow_site),
    so a spurious failure would be retried; the tests assert final states, never `try_number == 1`.
    """
    dag_module = load_example_dag(CROSS_CLOUD)
    api = live_airflow.api
    api.wait_for_dags([CROSS_CLOUD], timeout=180)
    preload_cross_cloud_runs(
        live_airflow.emulator_url, ci_run_id=dag_module.CI_RUN_ID, ice_task_id=dag_module.ICE_TASK_ID
    )
    run_id = api.trigger(CROSS_CLOUD)
    states = api.wait_for_runs({CROSS_CLOUD: run_id}, timeout=300)
    tis = api.get(f"/api/v2/dags/{CROSS_CLOUD}/dagRuns/{run_id}/taskInstances")["task_instances"]
    return FinishedRun(
        dag_id=CROSS_CLOUD,
        run_id=run_id,
        state=states[CROSS_CLOUD],
        task_instances={ti["task_id"]: ti for ti in tis},
    )
