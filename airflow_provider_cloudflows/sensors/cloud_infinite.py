"""Wait for a Tencent Cloud Infinite (CI) media-workflow execution to finish."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.cloud_infinite import CloudInfiniteWorkflowExecutionTarget


class CloudInfiniteWorkflowExecutionSensor(CloudInfiniteWorkflowExecutionTarget, WorkflowRunSensor):
    """Wait until a CI workflow execution succeeds; fail, naming its failed nodes, if it fails or is cancelled.

    Give either the execution's RunId, or - when CI starts executions itself on COS upload
    events and the RunId is not known in advance - the workflow and what you know of the
    execution: its object key, its creation window, or both.

    :param run_id: the execution's RunId (templated).
    :param workflow_id: wait for the newest execution of this workflow that matches
        `object_key` and/or the creation window (templated).
    :param object_key: the COS object key the execution processes, e.g. `input/movie.mp4`
        (templated; CI's `name` filter).
    :param created_after / created_before: the creation window (datetime or ISO text, templated,
        e.g. `"{{ data_interval_start }}"`), so an older execution for the same object - an
        earlier upload - is not mistaken for the awaited one. `workflow_id` needs `object_key`,
        `created_after`, or both.
    :param bucket: BucketName-APPID; default the connection's `bucket` extra (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection.
    :param fail_on_pause: fail when the execution is paused (CI pauses executions whose queue is
        paused); by default the sensor logs that it is paused and keeps waiting.

    Waiting by description: until an execution matches, every look lists the workflow's
    executions (newest first) and reports "not yet"; when several match, the newest is followed
    and the log says how many matched. Its RunId is pushed to XCom `run_id` and the sensor waits
    on it like on a given RunId. See WorkflowRunSensor for how poke, reschedule and deferrable
    mode keep the found id, and for `success_states`, `failure_states`, `region` and `deferrable`.
    On success the execution with one task run per node (each with its CI JobId) is the XCom
    return value.
    """

    template_fields: Sequence[str] = (
        *WorkflowRunSensor.template_fields,
        "bucket",
        *CloudInfiniteWorkflowExecutionTarget.run_description.arguments,
    )
