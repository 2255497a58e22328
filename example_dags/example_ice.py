"""Alibaba Cloud ICE: start a workflow task, wait for it in the triggerer, read its node results.

Runs against the local emulator with the default `alibabacloud_default` connection (the demo
points it at the emulator; the emulator accepts any workflow template id, and a task it starts
walks Init -> Processing -> Succeed in about 4 s). Against real ICE, set `WORKFLOW_ID` to a
workflow template of your account and `TASK_INPUT` to a media asset id or OSS URL.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cloudflows.operators.ice import IceGetWorkflowTaskOperator, IceStartWorkflowOperator
from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor

WORKFLOW_ID = "e1c0f1ow0000000000000000000000a1"
TASK_INPUT = {"Type": "Media", "Media": "e1c0media000000000000000000000b1"}
# `task_id` is the Airflow task's id; ICE's TaskId is passed as `workflow_task_id`.
ICE_TASK_ID = "{{ ti.xcom_pull(task_ids='start_workflow', key='run_id') }}"

with DAG(
    dag_id="example_ice",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["cloudflows", "ice"],
    doc_md=__doc__,
) as dag:
    start_workflow = IceStartWorkflowOperator(
        task_id="start_workflow",
        workflow_id=WORKFLOW_ID,
        task_input=TASK_INPUT,
        user_data={"source": "airflow", "dag_run": "{{ run_id }}"},
        wait_for_completion=False,
    )

    wait_for_task = IceWorkflowTaskSensor(
        task_id="wait_for_task",
        workflow_task_id=ICE_TASK_ID,
        deferrable=True,
        poke_interval=2,
        timeout=120,
    )

    read_task = IceGetWorkflowTaskOperator(
        task_id="read_task",
        workflow_task_id=ICE_TASK_ID,
    )

    start_workflow >> wait_for_task >> read_task
