"""Tencent Cloud WeData, event-driven: a DAG run for each run of a WeData workflow that succeeds.

The asset's watcher polls WeData from the triggerer (one listing per poll, shared by every watcher
of the project on the connection) and fires one asset event per run that finishes in success;
the DAG scheduled on the asset reads the run from `triggering_asset_events`. Nothing here starts
the WeData workflow: WeData's own scheduler (or anyone) does.

Airflow 3 only (asset watchers); on Airflow 2 this file defines no DAG. Against the emulator the
watcher polls every 5 s; against real WeData use the default (60 s) or more, and set
`PROJECT_ID` / `WATCHED_WORKFLOW_ID` to a trigger workflow of yours.
"""

from __future__ import annotations

from typing import Any

import pendulum

from airflow_provider_cloudflows.compat import AIRFLOW_MAJOR

# The emulator's demo project, and a workflow of it that only this DAG watches.
PROJECT_ID = "1460947878944567296"
WATCHED_WORKFLOW_ID = "5b7c2a6f-7e5a-11f0-ba36-b8cef6a5af5c"
ASSET_NAME = "wedata_orders_hourly_finished"

if AIRFLOW_MAJOR >= 3:
    from airflow.sdk import DAG, Asset, AssetWatcher, task

    from airflow_provider_cloudflows.triggers.events import WeDataWorkflowRunFinishedTrigger

    orders_hourly_finished = Asset(
        ASSET_NAME,
        watchers=[
            AssetWatcher(
                name="wedata_orders_hourly_run_finished",
                trigger=WeDataWorkflowRunFinishedTrigger(
                    project_id=PROJECT_ID,
                    workflow_id=WATCHED_WORKFLOW_ID,
                    # outcomes="terminal" would fire for failed and killed runs too.
                    poll_interval=5,
                ),
            )
        ],
    )

    with DAG(
        dag_id="example_event_driven",
        schedule=[orders_hourly_finished],
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        tags=["cloudflows", "wedata", "event-driven"],
        # What the demo reads to make a run of the watched workflow finish in the emulator.
        params={"project_id": PROJECT_ID, "watched_workflow_id": WATCHED_WORKFLOW_ID},
        doc_md=__doc__,
    ) as dag:

        @task
        def read_finished_run(triggering_asset_events: Any = None) -> dict[str, Any]:
            """The WeData run behind this DAG run (the newest, when events arrived together)."""
            runs = [event.extra["payload"] for event in triggering_asset_events[orders_hourly_finished]]
            for run in runs:
                print(
                    f"{run['vendor']} run {run['run_id']} of workflow {run['workflow_id']} finished "
                    f"{run['raw_state']} at {run['finished_at']}: {run['console_url']}"
                )
            return {**runs[-1], "run_ids": [run["run_id"] for run in runs]}

        read_finished_run()
