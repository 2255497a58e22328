"""Repair instead of restart: a DataWorks workflow instance fails, and the task's retry reruns only
its failed task instances (RerunWorkflowInstances) instead of creating a new instance.

The first try creates the instance and waits for it in the triggerer; in the emulator it fails
in its `transform` task (`emulator_outcome`). Airflow retries the task; with `repair_on_retry`
the retry finds the instance of its first try by the mark it carries, reruns `transform` and the
`load` task downstream of it, and waits again. `extract`, which had succeeded, does not run
again. `rerun_failed_instance` shows the same repair as a task of its own, for an instance that
failed elsewhere (here: the emulator's demo instance 1004, which has failed already).

Against real DataWorks, set `project_id` / `workflow_id` to a deployed manually triggered
workflow of your workspace and drop the `emulator_*` parameters.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cloudflows.operators.dataworks import (
    DataWorksCreateWorkflowInstancesOperator,
    DataWorksRerunWorkflowInstanceOperator,
)

# The emulator's demo workspace and manually triggered workflow, and its preloaded failed instance.
PROJECT_ID = 10001
WORKFLOW_ID = 20001
FAILED_INSTANCE_ID = 1004

with DAG(
    dag_id="example_repair",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["cloudflows", "dataworks", "repair"],
    doc_md=__doc__,
) as dag:
    create_and_repair = DataWorksCreateWorkflowInstancesOperator(
        task_id="create_and_repair",
        project_id=PROJECT_ID,
        workflow_id=WORKFLOW_ID,
        name="cloudflows-example-repair",
        # The emulator fails the new instance's `transform` task; its rerun succeeds.
        workflow_parameters={"emulator_outcome": "Failure", "emulator_step_seconds": 1},
        repair_on_retry=True,
        # One retry repairs; a second one only matters if the Airflow 3.3.2 scheduler race
        # (apache/airflow #67287) fails a try spuriously: that retry adopts the repaired instance.
        retries=2,
        retry_delay=timedelta(seconds=2),
        deferrable=True,
        poll_interval=2,
        timeout=300,
    )

    rerun_failed_instance = DataWorksRerunWorkflowInstanceOperator(
        task_id="rerun_failed_instance",
        instance_id=FAILED_INSTANCE_ID,
        deferrable=True,
        poll_interval=2,
        timeout=300,
    )
