"""Wait for a Tencent Cloud Infinite (CI) media-workflow execution to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException, PokeReturnValue

from airflow_provider_cloudflows.errors import InvalidRequestError
from airflow_provider_cloudflows.products import PRODUCTS
from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.targets.cloud_infinite import CloudInfiniteWorkflowExecutionTarget
from airflow_provider_cloudflows.xcom import RUN_ID_XCOM_KEY

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

CLOUD_INFINITE = PRODUCTS["cloud_infinite"]


class CloudInfiniteWorkflowExecutionSensor(CloudInfiniteWorkflowExecutionTarget, WorkflowRunSensor):
    """Wait until a CI workflow execution succeeds; fail, naming its failed nodes, if it fails or is cancelled.

    Give either the execution's RunId, or - when CI starts executions itself on COS upload
    events and the RunId is not known in advance - the workflow and the object key:

    :param run_id: the execution's RunId (templated).
    :param workflow_id: with `object_key`: wait for the newest execution of this workflow for
        that object (templated).
    :param object_key: the COS object key the execution processes, e.g. `input/movie.mp4`
        (templated; CI's `name` filter).
    :param created_after: with `object_key`: ignore executions created before this time
        (datetime or ISO string, templated, e.g. `"{{ data_interval_start }}"`), so an older
        execution for the same object - an earlier upload - is not mistaken for the awaited one.
    :param bucket: BucketName-APPID; default the connection's `bucket` extra (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection.
    :param fail_on_pause: fail when the execution is paused (CI pauses executions whose queue is
        paused); by default the sensor logs that it is paused and keeps waiting.

    Waiting by object key: until an execution exists, every poke lists the workflow's executions
    for the object (newest first, one item) and reports "not yet". Once one exists, its RunId is
    pushed to XCom under `run_id` and the sensor waits on it like on a given RunId. In poke mode
    the first RunId found is kept; in reschedule mode each poke looks again and follows the
    newest execution. With `deferrable=True` the sensor looks on the worker first: while no
    execution exists it defers on a timer of `poke_interval` seconds and looks again when it
    resumes (the lookup is one cheap list call; it needs the worker only for that moment); as
    soon as an execution exists it defers to the shared WorkflowRunTrigger with that RunId. The
    sensor's `timeout` counts from the first look, across all of these deferrals.

    See WorkflowRunSensor for `success_states`, `failure_states`, `region` and `deferrable`.
    On success the execution with one task run per node (each with its CI JobId) is the XCom
    return value.
    """

    template_fields: Sequence[str] = (
        *WorkflowRunSensor.template_fields,
        "bucket",
        "workflow_id",
        "object_key",
        "created_after",
    )

    def __init__(
        self,
        *,
        run_id: str | None = None,
        workflow_id: str | None = None,
        object_key: str | None = None,
        created_after: datetime | str | None = None,
        bucket: str | None = None,
        tencentcloud_conn_id: str = "tencentcloud_default",
        **kwargs: Any,
    ) -> None:
        if run_id is not None and not str(run_id).strip() and not (workflow_id or object_key):
            raise ValueError(
                f"run_id is empty ({run_id!r}): give the execution's RunId, or workflow_id and "
                "object_key to wait for the newest execution of an object"
            )
        if bool(run_id) == bool(workflow_id or object_key):
            raise ValueError("give either run_id, or workflow_id and object_key")
        if not run_id and not (workflow_id and object_key):
            raise ValueError("waiting by object key needs both workflow_id and object_key")
        super().__init__(
            run_id=run_id or "", bucket=bucket, tencentcloud_conn_id=tencentcloud_conn_id, **kwargs
        )
        self.workflow_id = workflow_id
        self.object_key = object_key
        self.created_after = created_after
        # Chosen here, not from the rendered run_id: a templated run_id that renders empty is a
        # mistake to report, not a request to wait by object key.
        self._by_object = bool(workflow_id or object_key)

    # -- finding the execution by object key ----------------------------------------------------

    def _waits_by_object(self) -> bool:
        """True while an execution is still to be found by object key (none found yet)."""
        if self.run_id and str(self.run_id).strip():
            return False
        if self._by_object:
            return True
        raise InvalidRequestError(
            f"run_id is empty (it rendered to {self.run_id!r}): give the execution's RunId, or "
            "workflow_id and object_key to wait for the newest execution of an object",
            vendor=CLOUD_INFINITE.name,
        )

    def find_run_id(self, context: Context) -> str | None:
        """The newest execution for the object key, or None; pushes a found RunId to XCom `run_id`."""
        run = self.hook.newest_run(
            self.workflow_id, self.object_key, created_after=self.created_after or None, bucket=self.bucket
        )
        if run is None:
            self.log.info(
                "No execution of workflow %s for object %r yet%s",
                self.workflow_id,
                self.object_key,
                f" (created after {self.created_after})" if self.created_after else "",
            )
            return None
        self.log.info(
            "Waiting on execution %s of workflow %s for object %r (created %s)",
            run.run_id,
            self.workflow_id,
            self.object_key,
            run.created_at,
        )
        if context.get("ti") is not None:
            context["ti"].xcom_push(key=RUN_ID_XCOM_KEY, value=run.run_id)
        return run.run_id

    def poke(self, context: Context) -> PokeReturnValue | bool:
        if self._waits_by_object():
            found = self.find_run_id(context)
            if found is None:
                return PokeReturnValue(is_done=False)
            self.run_id = found
        return super().poke(context)

    # -- deferral -------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if not self.deferrable or not self._waits_by_object():
            return super().execute(context)
        return self._look_then_defer(context, deadline=time.time() + self.timeout)

    def resume_looking(self, context: Context, event: Any = None, deadline: float | None = None) -> Any:
        """Called when the timer set while no execution existed fires: look again."""
        return self._look_then_defer(context, deadline=deadline or time.time() + self.timeout)

    def _look_then_defer(self, context: Context, *, deadline: float) -> Any:
        found = self.find_run_id(context)
        remaining = deadline - time.time()
        if found is None:
            if remaining <= 0:
                message = (
                    f"no execution of workflow {self.workflow_id} for object {self.object_key!r} "
                    f"appeared within {self.timeout:.0f} s"
                )
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            self.defer(
                trigger=_timer(min(self.poke_interval, remaining)),
                method_name="resume_looking",
                kwargs={"deadline": deadline},
                timeout=timedelta(seconds=remaining + 60),
            )
        self.run_id = found
        if (result := super().poke(context)).is_done:
            return result.xcom_value
        self.defer(
            trigger=self.build_trigger(deadline=deadline),
            method_name="execute_complete",
            timeout=timedelta(seconds=max(remaining, 0) + 60),
        )


def _timer(seconds: float) -> Any:
    try:
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    except ImportError:  # Airflow 2 without the standard provider
        from airflow.triggers.temporal import TimeDeltaTrigger
    return TimeDeltaTrigger(timedelta(seconds=max(seconds, 0.0)))
