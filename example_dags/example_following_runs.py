"""Following runs this DAG did not start: today's DataWorks periodic instance, then WeData's.

Two schedulers this DAG does not own: DataWorks' nightly workflow and a WeData scheduled task.

DataWorks' own scheduler runs the nightly workflow; this DAG knows the workflow and the date,
not the instance id. The sensor waits for the periodic (`Normal`) instance of that workflow for
the business date `{{ ds }}` - it waits while DataWorks has not generated it yet, follows the
newest if a rerun made several, and pushes its id to XCom `run_id` - and the next step reads the
instance it found. Then it waits for the WeData scheduled task's instance of 02:00 (Beijing time)
that day - WeData's own scheduler runs periodic tasks as task instances - found by the task id
and its schedule time.

Scheduled daily, `{{ ds }}` is the day before the run, as DataWorks' business date is. Triggered
by hand on Airflow 3, give the run a logical date: without one there is no `{{ ds }}` to render.

Against the local emulator (`scripts/demo`) the default connection points at it and the demo
preloads a periodic instance and a task instance for today's business date. Against real DataWorks, set the params
to your workspace and a deployed periodic workflow.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_cloudflows.operators.dataworks import DataWorksGetWorkflowInstanceOperator
from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor
from airflow_provider_cloudflows.sensors.wedata import WeDataTaskInstanceSensor

# The emulator's demo workspace and a periodic workflow of it.
PROJECT_ID = 10001
PERIODIC_WORKFLOW_ID = 20002
# The emulator's demo WeData project and a scheduled task of it (ids as WeData writes them).
WEDATA_PROJECT_ID = "1460947878944567296"
WEDATA_SCHEDULED_TASK_ID = "20240627201611119"

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
        "wedata_project_id": Param(WEDATA_PROJECT_ID, type="string"),
        "wedata_scheduled_task_id": Param(WEDATA_SCHEDULED_TASK_ID, type="string"),
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

    # "yyyy-MM-dd HH:mm:ss" text is WeData's own time format, read as Beijing time (UTC+8).
    wait_for_scheduled_task = WeDataTaskInstanceSensor(
        task_id="wait_for_scheduled_task",
        project_id="{{ params.wedata_project_id }}",
        wedata_task_id="{{ params.wedata_scheduled_task_id }}",
        schedule_time="{{ ds }} 02:00:00",
        deferrable=True,
        poke_interval=2,
        timeout=600,
    )

    wait_for_nightly >> read_nightly >> wait_for_scheduled_task
