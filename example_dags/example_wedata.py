"""Tencent Cloud WeData: start a workflow run, wait for it in the triggerer, read it back.

Runs against the local emulator with the default `tencentcloud_default` connection (the demo
points it at the emulator; WeData needs the connection's `region` extra). Against real WeData,
set `PROJECT_ID` / `WORKFLOW_ID` to a submitted workflow of a workflow-scheduling project.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cloudflows.operators.wedata import (
    WeDataGetWorkflowRunOperator,
    WeDataStartWorkflowRunOperator,
)
from airflow_provider_cloudflows.sensors.wedata import WeDataWorkflowRunSensor

# The emulator's demo project and workflow.
PROJECT_ID = "1460947878944567296"
WORKFLOW_ID = "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c"
EXECUTION_ID = "{{ ti.xcom_pull(task_ids='start_run', key='run_id') }}"

with DAG(
    dag_id="example_wedata",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["cloudflows", "wedata"],
    doc_md=__doc__,
) as dag:
    start_run = WeDataStartWorkflowRunOperator(
        task_id="start_run",
        project_id=PROJECT_ID,
        workflow_id=WORKFLOW_ID,
        # Sent as AdvancedParams; the emulator paces its run with `emulator_step_seconds`
        # (real WeData ignores parameters its workflow does not declare).
        # (`ds_nodash` would be empty for runs triggered without a logical date in Airflow 3.)
        workflow_params={
            "bizdate": "{{ macros.datetime.utcnow().strftime('%Y%m%d') }}",
            "emulator_step_seconds": "2",
        },
        wait_for_completion=False,
    )

    wait_for_run = WeDataWorkflowRunSensor(
        task_id="wait_for_run",
        execution_id=EXECUTION_ID,
        project_id=PROJECT_ID,
        deferrable=True,
        poke_interval=2,
        timeout=120,
    )

    read_run = WeDataGetWorkflowRunOperator(
        task_id="read_run",
        execution_id=EXECUTION_ID,
        project_id=PROJECT_ID,
    )

    start_run >> wait_for_run >> read_run
