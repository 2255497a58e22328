"""For tests/e2e/test_reschedule_by_description.py: a reschedule-mode sensor that names its run
by workflow and business date, not by id.

Each poke of a reschedule-mode sensor is a new worker process; the id the first poke found must
reach the later ones through Airflow 3.3's task state store, so only the first poke lists.

The poke interval is well above the scheduler's loop: Airflow 3.3's scheduler fails a reschedule
sensor whose next poke is already scheduled when the executor's report of the previous poke
arrives (a one-second interval lost that race on a loaded machine).
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor

PROJECT_ID = 10001
# A workflow of its own, so no other end-to-end test's instances match.
WORKFLOW_ID = 20777
BIZ_DATE = "2026-03-01"

with DAG(
    dag_id="e2e_reschedule_by_description",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["e2e"],
):
    DataWorksWorkflowInstanceSensor(
        task_id="wait_for_nightly",
        workflow_id=WORKFLOW_ID,
        biz_date=BIZ_DATE,
        project_id=PROJECT_ID,
        mode="reschedule",
        poke_interval=8,
        timeout=600,
    )
