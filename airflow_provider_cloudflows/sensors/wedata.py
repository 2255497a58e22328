"""Wait for a Tencent Cloud WeData workflow run, or a scheduled task's task instance, to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException, PokeReturnValue

from airflow_provider_cloudflows.errors import InvalidRequestError
from airflow_provider_cloudflows.sensors.base import WorkflowRunSensor
from airflow_provider_cloudflows.sensors.cloud_infinite import _timer as timer_trigger
from airflow_provider_cloudflows.targets.wedata import (
    TASK_INSTANCE_TEMPLATE_FIELDS,
    WeDataTaskInstanceTarget,
    WeDataWorkflowRunTarget,
)
from airflow_provider_cloudflows.xcom import RUN_ID_XCOM_KEY

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class WeDataWorkflowRunSensor(WeDataWorkflowRunTarget, WorkflowRunSensor):
    """Wait until a WeData workflow run finishes; fail if it fails (GetTriggerWorkflowRun).

    :param execution_id: the WorkflowExecutionId (templated).
    :param project_id: the WeData project id (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection (region required; endpoint optional).
    :param success_states / failure_states: raw WeData states overriding the defaults. By default a
        skipped run (``SKIPED``) succeeds; pass ``failure_states=["SKIPED"]`` to fail on it.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Also takes every WorkflowRunSensor / BaseSensorOperator argument (poke_interval, timeout,
    mode, soft_fail, region...). On success the run, with its task runs, is the XCom return value.
    """

    template_fields: Sequence[str] = (
        "execution_id",
        "project_id",
        "tencentcloud_conn_id",
        "region",
        "success_states",
        "failure_states",
    )


class WeDataTaskInstanceSensor(WeDataTaskInstanceTarget, WorkflowRunSensor):
    """Wait until a WeData task instance (a scheduled task's run) finishes; fail if it fails (GetTaskInstance).

    Name the instance by its key, or by its task and schedule time:

    :param instance_key: the InstanceKey, e.g. ``20240627201611119_2025-03-20 00:00:00`` (templated).
    :param wedata_task_id: WeData's task id (templated); with `schedule_time`, wait for that
        task's instance of that time (``task_id`` is the Airflow task's own id).
    :param schedule_time: the instance's planned schedule time (datetime, ISO-8601 text such as
        ``"{{ data_interval_end }}"``, or ``yyyy-MM-dd HH:mm:ss`` taken as UTC+8; templated).
    :param schedule_time_to: with `schedule_time`: the end of a window of schedule times
        (inclusive); the newest instance in the window is followed (templated).
    :param workflow_id: only instances of this workflow (templated, optional).
    :param project_id: the WeData project id (templated).
    :param tencentcloud_conn_id: the `tencentcloud` connection (region required).
    :param success_states / failure_states: raw InstanceStates overriding the defaults. By
        default a skipped instance (``SKIP_RUNNING``) succeeds; ``FAILED_RETRY`` keeps waiting
        (the instance will try again) and ``EXPIRED`` fails.
    :param deferrable: wait in the triggerer instead of a worker slot.

    Waiting by task and schedule time: until the instance exists, every poke lists the task's
    instances of that time (ListTaskInstances) and reports "not yet" - WeData creates instances
    ahead of time, but a DAG may look before it has - so only the sensor's `timeout` bounds that
    wait. When several match, the newest (by schedule time, then last update) is followed and the
    log names the others. Once found, its InstanceKey is pushed to XCom under `run_id` and the
    sensor waits on that key like on a given one (deferred: in the shared WorkflowRunTrigger,
    which keeps the key across triggerer restarts). On success the instance is the XCom return
    value, with itself as its one task run.
    """

    template_fields: Sequence[str] = (*TASK_INSTANCE_TEMPLATE_FIELDS, "success_states", "failure_states")

    # -- finding the instance by task and schedule time ------------------------------------------

    def _waits_for_lookup(self) -> bool:
        """True while the instance is still to be found by task and schedule time."""
        if self.run_id and str(self.run_id).strip():
            return False
        if self.finds_by_task:
            return True
        raise InvalidRequestError(
            f"instance_key is empty (it rendered to {self.run_id!r}): give the task instance's "
            "InstanceKey, or wedata_task_id and schedule_time to wait for the task's instance of that time",
            vendor=self.hook_class.vendor,
        )

    def find_run_id(self, context: Context) -> str | None:
        """The newest matching instance's key, or None; pushes a found key to XCom `run_id`."""
        run = self.find_instance()
        if run is None:
            self.log.info("No task instance of %s yet", self.describe_lookup())
            return None
        self.log.info(
            "Waiting on task instance %s of %s (now %s)", run.run_id, self.describe_lookup(), run.raw_state
        )
        if context.get("ti") is not None:
            context["ti"].xcom_push(key=RUN_ID_XCOM_KEY, value=run.run_id)
        return run.run_id

    def poke(self, context: Context) -> PokeReturnValue | bool:
        if self._waits_for_lookup():
            found = self.find_run_id(context)
            if found is None:
                return PokeReturnValue(is_done=False)
            self.run_id = found
        return super().poke(context)

    # -- deferral while the instance does not exist yet ------------------------------------------

    def execute(self, context: Context) -> Any:
        if not self.deferrable or not self._waits_for_lookup():
            return super().execute(context)
        return self._look_then_defer(context, deadline=time.time() + self.timeout)

    def resume_looking(self, context: Context, event: Any = None, deadline: float | None = None) -> Any:
        """Called when the timer set while no instance existed fires: look again."""
        return self._look_then_defer(context, deadline=deadline or time.time() + self.timeout)

    def _look_then_defer(self, context: Context, *, deadline: float) -> Any:
        # While there is no instance, the worker looks (one list call) and defers on a timer; once
        # there is one, the shared WorkflowRunTrigger waits on its key.
        found = self.find_run_id(context)
        remaining = deadline - time.time()
        if found is None:
            if remaining <= 0:
                message = f"no task instance of {self.describe_lookup()} appeared within {self.timeout:.0f} s"
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            self.defer(
                trigger=timer_trigger(min(self.poke_interval, remaining)),
                method_name="resume_looking",
                kwargs={"deadline": deadline},
                timeout=timedelta(seconds=remaining + 60),
            )
        self.run_id = found
        if (result := WorkflowRunSensor.poke(self, context)).is_done:
            return result.xcom_value
        self.defer(
            trigger=self.build_trigger(deadline=deadline),
            method_name="execute_complete",
            timeout=timedelta(seconds=max(remaining, 0) + 60),
        )
