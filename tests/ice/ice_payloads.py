"""The documented ICE GetWorkflowTask response used across the ICE tests."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_cloudflows.emulator.services.ice import task_spec

# The documented GetWorkflowTask response (API reference, 2020-11-09), field for field. The doc
# gives no example for ActivityResults/UserData; those two follow the per-node shape of the IMS
# workflow-task-complete event (a dict keyed by ActivityId).
ACTIVITY_RESULTS = {
    "Transcode": {
        "Status": "Succeed",
        "StartTime": "2023-01-04T02:05:20Z",
        "EndTime": "2023-01-04T02:06:10Z",
        "ActivityId": "Transcode",
        "ActivityInstanceId": "ce87026be902****",
        "Result": {"Status": "Finished", "JobType": "Transcode", "JobId": "0f5da****4e5897f147"},
    },
    "Snapshot": {
        "Status": "Failed",
        "StartTime": "2023-01-04T02:06:10Z",
        "EndTime": "2023-01-04T02:06:19Z",
        "ActivityId": "Snapshot",
        "ErrorCode": "InvalidParameter.Input",
        "ErrorMessage": "the input media has no video stream",
    },
}
SEED = {
    "RequestId": "******0C-7870-15FE-B96F-8880BB******",
    "WorkflowTask": {
        "TaskId": "******4215e042b3966ca5441e******",
        "Status": "Succeed",
        "TaskInput": '{ "Type": "Media", "Media": "******30706071edbfe290b488******" }',
        "CreateTime": "2023-01-04T02:05:17Z",
        "FinishTime": "2023-01-04T02:06:19Z",
        "Workflow": {
            "WorkflowId": "******63dca94c609de02ac0d1******",
            "Name": "Super-resolution transcoding workflow",
            "Status": "Active",
            "Type": "Common",
            "CreateTime": "2022-11-27T10:02:12Z",
            "ModifiedTime": "2022-11-29T02:06:19Z",
        },
        "ActivityResults": json.dumps(ACTIVITY_RESULTS),
        "UserData": '{"NotifyAddress":"https://example.com/callback"}',
    },
}


def finished(task_id: str, outcome: str = "Succeed", **kwargs: Any) -> dict[str, Any]:
    """An emulator task already at the end of its script, so repeated reads see the same thing."""
    spec = task_spec(task_id, outcome=outcome, **kwargs)
    spec["states"] = spec["states"][-1:]
    for node in spec["task_runs"]:
        node["states"] = node["states"][-1:]
    return spec
