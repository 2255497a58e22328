"""Following runs this DAG did not start: today's DataWorks periodic instance, by business date.

DataWorks' own scheduler runs the nightly workflow; this DAG knows the workflow and the date,
not the instance id. The sensor waits for the periodic (`Normal`) instance of that workflow for
the business date `{{ ds }}` - it waits while DataWorks has not generated it yet, follows the
newest if a rerun made several, and pushes its id to XCom `run_id` - and the next step reads the
instance it found.

Scheduled daily, `{{ ds }}` is the day before the run, as DataWorks' business date is. Triggered
by hand on Airflow 3, give the run a logical date: without one there is no `{{ ds }}` to render.

Against the local emulator (`scripts/demo`) the default connection points at it and the demo
preloads a periodic instance for today's business date. Against real DataWorks, set the params
to your workspace and a deployed periodic workflow.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_cloudflows.operators.dataworks import DataWorksGetWorkflowInstanceOperator
from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor

# The emulator's demo workspace and a periodic workflow of it.
PROJECT_ID = 10001
PERIODIC_WORKFLOW_ID = 20002

with DAG(
    dag_id="example_following_runs",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["cloudflows", "dataworks", "following"],
    doc_md=__doc__,
    params={
        "dataworks_project_id": Param(PROJECT_ID, type="integer"),
        "dataworks_periodic_workflow_id": Param(PERIODIC_WORKFLOW_ID, type="integer"),
    },
) as dag:
    wait_for_nightly = DataWorksWorkflowInstanceSensor(
        task_id="wait_for_nightly",
        project_id="{{ params.dataworks_project_id }}",
        workflow_id="{{ params.dataworks_periodic_workflow_id }}",
        biz_date="{{ ds }}",
        deferrable=True,
        poke_interval=2,
        timeout=600,
    )

    read_nightly = DataWorksGetWorkflowInstanceOperator(
        task_id="read_nightly",
        instance_id="{{ ti.xcom_pull(task_ids='wait_for_nightly', key='run_id') }}",
    )

    wait_for_nightly >> read_nightly
