"""Alibaba Cloud DataWorks: create a workflow instance, wait for it in the triggerer, read it back.

Runs against the local emulator with the default `alibabacloud_default` connection (the demo
points it at the emulator). Against real DataWorks, set `project_id` / `workflow_id` to a
deployed manually triggered workflow of your workspace.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cloudflows.operators.dataworks import (
    DataWorksCreateWorkflowInstancesOperator,
    DataWorksGetWorkflowInstanceOperator,
)
from airflow_provider_cloudflows.sensors.dataworks import DataWorksWorkflowInstanceSensor

# The emulator's demo workspace and manually triggered workflow.
PROJECT_ID = 10001
WORKFLOW_ID = 20001
INSTANCE_ID = "{{ ti.xcom_pull(task_ids='create_instance', key='run_id') }}"

with DAG(
    dag_id="example_dataworks",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["cloudflows", "dataworks"],
    doc_md=__doc__,
) as dag:
    create_instance = DataWorksCreateWorkflowInstancesOperator(
        task_id="create_instance",
        project_id=PROJECT_ID,
        workflow_id=WORKFLOW_ID,
        name="cloudflows-example",
        instance_type="ManualWorkflow",
        wait_for_completion=False,
        poll_interval=1,
    )

    wait_for_instance = DataWorksWorkflowInstanceSensor(
        task_id="wait_for_instance",
        instance_id=INSTANCE_ID,
        deferrable=True,
        poke_interval=2,
        timeout=120,
    )

    read_instance = DataWorksGetWorkflowInstanceOperator(
        task_id="read_instance",
        instance_id=INSTANCE_ID,
    )

    create_instance >> wait_for_instance >> read_instance
