"""For tests/e2e/test_stop_on_kill.py: two deferred waits that a user then marks failed.

`start_and_wait` starts a WeData run that would take hours and waits for it in the triggerer;
`wait_only` waits (a sensor) on a run something else started; `start_other` starts a run and does
not wait. Marking the two deferred tasks failed must stop the first run and no other.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

PROJECT_ID = "1460947878944567296"
WORKFLOW_ID = "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c"
# A run the emulator is given by the test; the sensor only waits on it.
WAITED_ON_RUN_ID = "5e2e0000-0000-4000-8000-00000000a11d"
SLOW = {"emulator_step_seconds": "3600", "airflow_run_id": "{{ run_id }}"}

with DAG(
    dag_id="e2e_stop_on_kill",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["e2e"],
):
    WeDataStartWorkflowRunOperator(
        task_id="start_and_wait",
        project_id=PROJECT_ID,
        workflow_id=WORKFLOW_ID,
        workflow_params=SLOW,
        deferrable=True,
        poll_interval=2,
    )
    WeDataStartWorkflowRunOperator(
        task_id="start_other",
        project_id=PROJECT_ID,
        workflow_id=WORKFLOW_ID,
        workflow_params=SLOW,
        wait_for_completion=False,
    )
    WeDataWorkflowRunSensor(
        task_id="wait_only",
        execution_id=WAITED_ON_RUN_ID,
        project_id=PROJECT_ID,
        deferrable=True,
        poke_interval=2,
    )
