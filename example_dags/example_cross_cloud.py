"""A cross-cloud pipeline: Tencent WeData, then Alibaba DataWorks; meanwhile Cloud Infinite and ICE.

1. Start a WeData workflow run and wait for it (in the triggerer).
2. When it has succeeded, create a DataWorks workflow instance and wait for it.
3. In parallel, wait for a Cloud Infinite media-workflow execution and an ICE workflow task
   that something else started (an upload event, another team): their ids are DAG params.
4. Finally, write one report of every run and its task runs, read from XCom: logged, and saved
   as JSON and Markdown under `$CLOUDFLOWS_REPORT_DIR` (default `/tmp/cloudflows-reports`).

Every wait is deferrable: no worker slot is held while the clouds work.

Against the local emulator (`scripts/demo`) the default connections point at it and the param
defaults name runs the demo preloads. Against the real clouds, set the connections
`tencentcloud_default` / `alibabacloud_default` and the ids below to your own.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_cloudflows.operators.dataworks import DataWorksCreateWorkflowInstancesOperator
from airflow_provider_cloudflows.operators.wedata import WeDataStartWorkflowRunOperator
from airflow_provider_cloudflows.sensors.cloud_infinite import CloudInfiniteWorkflowExecutionSensor
from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor

# The emulator's demo WeData project and workflow, and DataWorks workspace and workflow.
WEDATA_PROJECT_ID = "1460947878944567296"
WEDATA_WORKFLOW_ID = "4a6b1f5e-7e5a-11f0-ba36-b8cef6a5af5c"
DATAWORKS_PROJECT_ID = 10001
DATAWORKS_WORKFLOW_ID = 20001
# Runs started outside this DAG; `scripts/demo` preloads runs with these ids in the emulator.
CI_RUN_ID = "ic0551c1000d000000000000000000001"
ICE_TASK_ID = "c0551c1000d0000000000000000000a1"

log = logging.getLogger(__name__)

REPORT_DIR_ENV = "CLOUDFLOWS_REPORT_DIR"
DEFAULT_REPORT_DIR = "/tmp/cloudflows-reports"

# The emulator reads `emulator_step_seconds` from the run parameters (real clouds ignore an
# unused parameter): runs that take 15-20 s, like small real ones, rather than 3-4 s.
EMULATOR_PACE = {"emulator_step_seconds": "3"}

WAIT = {"deferrable": True, "poll_interval": 3, "timeout": 900}
SENSE = {"deferrable": True, "poke_interval": 4, "timeout": 900}


def _duration(run: dict[str, Any]) -> float | None:
    started, finished = run.get("started_at") or run.get("created_at"), run.get("finished_at")
    if not started or not finished:
        return None
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"# Cross-cloud run {report['dag_run_id']}", ""]
    lines += ["| step | vendor | run id | state | task runs | duration |", "|---|---|---|---|---|---|"]
    for step, run in report["runs"].items():
        seconds = run["duration_seconds"]
        lines.append(
            f"| {step} | {run['vendor']} | {run['run_id']} | {run['raw_state']} ({run['state']}) "
            f"| {len(run['task_runs'])} | {'-' if seconds is None else f'{seconds:.0f} s'} |"
        )
    for step, run in report["runs"].items():
        lines += ["", f"## {step}: {run['vendor']} {run['run_id']}", ""]
        lines += ["| task run | state | started | finished | error |", "|---|---|---|---|---|"]
        for t in run["task_runs"]:
            error = " ".join(filter(None, (t.get("error_code"), t.get("error_message")))) or "-"
            lines.append(
                f"| {t.get('name') or t.get('task_run_id')} | {t.get('raw_state') or t.get('state')} "
                f"| {t.get('started_at') or '-'} | {t.get('finished_at') or '-'} | {error} |"
            )
    return "\n".join(lines) + "\n"


with DAG(
    dag_id="example_cross_cloud",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["cloudflows", "wedata", "dataworks", "cloud_infinite", "ice"],
    doc_md=__doc__,
    params={
        "ci_run_id": Param(
            CI_RUN_ID, type="string", description="Cloud Infinite execution RunId to wait for"
        ),
        "ice_task_id": Param(ICE_TASK_ID, type="string", description="ICE workflow TaskId to wait for"),
    },
) as dag:
    run_wedata = WeDataStartWorkflowRunOperator(
        task_id="run_wedata_workflow",
        project_id=WEDATA_PROJECT_ID,
        workflow_id=WEDATA_WORKFLOW_ID,
        workflow_params={"airflow_run_id": "{{ run_id }}", **EMULATOR_PACE},
        wait_for_completion=True,
        **WAIT,
    )

    run_dataworks = DataWorksCreateWorkflowInstancesOperator(
        task_id="run_dataworks_instance",
        project_id=DATAWORKS_PROJECT_ID,
        workflow_id=DATAWORKS_WORKFLOW_ID,
        name="cloudflows-cross-cloud-{{ run_id }}",
        workflow_parameters={"airflow_run_id": "{{ run_id }}", **EMULATOR_PACE},
        wait_for_completion=True,
        **WAIT,
    )

    wait_ci = CloudInfiniteWorkflowExecutionSensor(
        task_id="wait_ci_execution", run_id="{{ params.ci_run_id }}", **SENSE
    )

    wait_ice = IceWorkflowTaskSensor(
        task_id="wait_ice_task", workflow_task_id="{{ params.ice_task_id }}", **SENSE
    )

    @task
    def write_report(
        wedata: dict[str, Any],
        dataworks: dict[str, Any],
        ci: dict[str, Any],
        ice: dict[str, Any],
        **context: Any,
    ) -> dict[str, Any]:
        """Every run with its task runs, as JSON and Markdown; returns the paths and the states."""
        dag_run_id = context["run_id"]
        runs = {"wedata": wedata, "dataworks": dataworks, "cloud_infinite": ci, "ice": ice}
        report = {
            "dag_id": context["dag"].dag_id,
            "dag_run_id": dag_run_id,
            "runs": {step: {**run, "duration_seconds": _duration(run)} for step, run in runs.items()},
        }
        markdown = _markdown(report)
        log.info("Cross-cloud report:\n%s", markdown)
        out_dir = Path(os.environ.get(REPORT_DIR_ENV) or DEFAULT_REPORT_DIR)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = "cross_cloud_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", dag_run_id)
        json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
        json_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        md_path.write_text(markdown, encoding="utf-8")
        return {
            "json": str(json_path),
            "markdown": str(md_path),
            "states": {step: run["raw_state"] for step, run in runs.items()},
        }

    # The start operators push the finished run under the XCom key `run`; sensors return it.
    report = write_report(
        wedata=run_wedata.output["run"],
        dataworks=run_dataworks.output["run"],
        ci=wait_ci.output,
        ice=wait_ice.output,
    )
    run_wedata >> run_dataworks
