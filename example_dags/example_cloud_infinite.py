"""Tencent Cloud Infinite (CI) media workflows: trigger an execution, wait for it, read it, list them.

Two ways to wait:
- by RunId, when the DAG starts the execution itself (TriggerWorkflow returns the RunId);
- by workflow and object key, when CI starts the execution on a COS upload event and the RunId
  is not known in advance. Here a second TriggerWorkflow call stands in for the upload.

Runs against the local emulator with the default `tencentcloud_default` connection (the demo
points it at the emulator and sets the `bucket` extra). Against real CI, set `WORKFLOW_ID` to a
media workflow of the connection's bucket and upload objects the workflow accepts.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cloudflows.operators.cloud_infinite import (
    CloudInfiniteGetWorkflowExecutionOperator,
    CloudInfiniteListWorkflowExecutionsOperator,
    CloudInfiniteTriggerWorkflowOperator,
)
from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor

# The emulator's demo workflow (Start -> Transcode -> Snapshot).
WORKFLOW_ID = "w5307ee7a60d6489383c3921c715dd1c5"
OBJECT_KEY = "input/movie-{{ ts_nodash }}.mp4"
UPLOADED_KEY = "input/upload-{{ ts_nodash }}.mp4"
RUN_ID = "{{ ti.xcom_pull(task_ids='trigger_workflow', key='run_id') }}"

with DAG(
    dag_id="example_cloud_infinite",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["cloudflows", "cloud_infinite"],
    doc_md=__doc__,
) as dag:
    trigger_workflow = CloudInfiniteTriggerWorkflowOperator(
        task_id="trigger_workflow",
        workflow_id=WORKFLOW_ID,
        object_key=OBJECT_KEY,
        wait_for_completion=False,
    )

    wait_for_execution = CloudInfiniteWorkflowExecutionSensor(
        task_id="wait_for_execution",
        run_id=RUN_ID,
        deferrable=True,
        poke_interval=2,
        timeout=120,
    )

    read_execution = CloudInfiniteGetWorkflowExecutionOperator(
        task_id="read_execution",
        run_id=RUN_ID,
    )

    list_executions = CloudInfiniteListWorkflowExecutionsOperator(
        task_id="list_executions",
        workflow_id=WORKFLOW_ID,
        states="Success",
        limit=20,
    )

    trigger_workflow >> wait_for_execution >> read_execution >> list_executions

    # Stand-in for a COS upload that makes CI start the workflow on its own.
    simulate_upload = CloudInfiniteTriggerWorkflowOperator(
        task_id="simulate_upload",
        workflow_id=WORKFLOW_ID,
        object_key=UPLOADED_KEY,
        wait_for_completion=False,
    )

    wait_for_upload_execution = CloudInfiniteWorkflowExecutionSensor(
        task_id="wait_for_upload_execution",
        workflow_id=WORKFLOW_ID,
        object_key=UPLOADED_KEY,
        # Ignore executions for the same key from before this DAG run (earlier uploads).
        created_after="{{ dag_run.start_date }}",
        deferrable=True,
        poke_interval=2,
        timeout=120,
    )

    simulate_upload >> wait_for_upload_execution
