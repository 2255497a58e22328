"""What the sensors and operators of one product share, declared once per product.

Each product module here declares two classes:

- a *product* class, on the task class of its connection type (`AlibabaCloudTask`,
  `TencentCloudTask`: `alibabacloud_conn_id` / `tencentcloud_conn_id` are the public names of
  `conn_id`): the hook, by dotted path, the product's word for a run and its console link; the
  product's start operator is this class on top of StartWorkflowRunOperator;
- a *run target*, its subclass: the constructor arguments that name one run, their public
  names (`workflow_task_id` for `run_id`, an `Alias`) and `run_params()`, what `hook.get_run`
  needs besides the id; the product's sensor and get operator are the run target on top of
  WorkflowRunSensor and GetWorkflowRunOperator, and add only their docstring and `template_fields`.

A run target may also name its run by what the DAG author knows instead of its id (a workflow
and a business date, a time window): it declares the arguments of that *description*
(`run_description`: its arguments, which of them are required) and `find_runs()`, the product's listing
of matching runs, newest first. `ProductTask.find_run()` does the rest once for every product:
the newest match, the log line saying how many matched, the XCom `run_id`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_cloudflows.module_loading import LazyHookClass
from airflow_provider_cloudflows.products import Product
from airflow_provider_cloudflows.xcom import RUN_ID_XCOM_KEY, push_run

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.hooks.base import CloudflowsHook
    from airflow_provider_cloudflows.runs import WorkflowRun


# How many matching runs one look reads at most: enough to say "3 matched", one page everywhere.
LOOKUP_LIMIT = 20


class RunDescription:
    """How a run target names a run without its id: which arguments, which of them are required.

    `required` holds argument names, or tuples of names of which at least one is needed
    (Cloud Infinite: an object key, a creation window, or both).
    """

    def __init__(self, id_argument: str, arguments: Iterable[str], required: Iterable[str | tuple[str, ...]]):
        self.id_argument = id_argument
        self.arguments = tuple(arguments)
        self.required = tuple(required)

    def _missing(self, values: Mapping[str, Any]) -> list[str]:
        missing = []
        for need in self.required:
            names = (need,) if isinstance(need, str) else need
            if not any(_given(values.get(name)) for name in names):
                missing.append(" or ".join(names))
        return missing

    def wanted(self) -> str:
        parts = [need if isinstance(need, str) else f"({' or '.join(need)})" for need in self.required]
        optional = [a for a in self.arguments if not any(a == n or a in n for n in self.required)]
        return ", ".join(parts) + (f" (optionally {', '.join(optional)})" if optional else "")

    def choose(self, run_id: Any, values: Mapping[str, Any]) -> bool:
        """At DAG parse time: True to find the run by description, False to read it by id.

        Exactly one way: an id, or a complete description. Anything else is a ValueError that
        names the arguments; a templated value that renders empty is caught at the first look.
        """
        described = sorted(name for name in self.arguments if values.get(name) is not None)
        if run_id is not None and described:
            raise ValueError(
                f"give either {self.id_argument}, or a description of the run ({self.wanted()}), not both: "
                f"got {self.id_argument}={run_id!r} and {', '.join(described)}"
            )
        if run_id is not None:
            if not str(run_id).strip():
                raise ValueError(
                    f"{self.id_argument} is empty ({run_id!r}): give the run's id, or describe the run "
                    f"with {self.wanted()}"
                )
            return False
        if not described:
            raise ValueError(f"give {self.id_argument}, or describe the run with {self.wanted()}")
        missing = self._missing(values)
        if missing:
            raise ValueError(
                f"finding the run by description needs {self.wanted()}; missing: {', '.join(missing)}"
            )
        return True

    def check_rendered(self, values: Mapping[str, Any], vendor: str) -> None:
        """At the first look: a required argument that rendered empty is a configuration mistake."""
        from airflow_provider_cloudflows.errors import InvalidRequestError

        missing = self._missing(values)
        if missing:
            shown = ", ".join(f"{name}={values.get(name)!r}" for name in self.arguments)
            raise InvalidRequestError(
                f"the run's description rendered incomplete ({shown}): {', '.join(missing)} "
                "rendered empty; check the templates of these arguments",
                vendor=vendor,
            )


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


class Alias:
    """A second public name of an attribute: reading or assigning it reads or assigns `name`.

    Airflow renders template fields by attribute name (getattr, then setattr), so a templated
    alias renders straight into the attribute the base classes poll with.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self if instance is None else getattr(instance, self.name)

    def __set__(self, instance: object, value: Any) -> None:
        setattr(instance, self.name, value)

    def __repr__(self) -> str:
        return f"Alias({self.name!r})"


class ProductTask(metaclass=type(BaseOperator)):
    """Mixin of every sensor and operator: the product's hook, its word for a run, its parameters.

    Made by Airflow's operator metaclass although it is no operator: Airflow wraps the
    `__init__` of the classes it makes, and only of those, so a run target's constructor gets
    what an operator's gets - `default_args` fill its arguments, a missing one raises Airflow's
    own error, `partial()` / `expand()` accept them - also in a sensor that adds no `__init__`.
    """

    # The hook, by dotted path: DAG files import sensors and operators, and resolving the hook
    # only when a task runs keeps the hook module and its signer out of DAG parsing.
    hook_class_path: ClassVar[str]
    hook_class = LazyHookClass()
    # The product as products.py declares it: its name and what its API can do (stop, rerun).
    cloud_product: ClassVar[Product]
    run_noun: ClassVar[str] = "run"
    conn_id: str
    region: str | None
    # What this task process saw of its run, for its OpenLineage facets (lineage.py): the last
    # read of the run, the run id a trigger event named, and the message the task failed with.
    lineage_run: WorkflowRun | None = None
    lineage_run_id: str | int | None = None
    lineage_failure: str | None = None

    # Set by a run target that can name its run by description (see RunDescription).
    run_description: ClassVar[RunDescription | None] = None
    by_description: bool = False

    def run_params(self) -> dict[str, Any]:
        """Keyword arguments for `hook.get_run` besides the run id (e.g. WeData's project id)."""
        return {}

    # -- finding a run by its description ------------------------------------------------------

    def description_values(self) -> dict[str, Any]:
        assert self.run_description is not None
        return {name: getattr(self, name) for name in self.run_description.arguments}

    def find_runs(self, limit: int) -> Iterable[WorkflowRun]:
        """The runs matching this task's description, newest first (a product's listing)."""
        raise NotImplementedError(f"{type(self).__name__} cannot find a run by description")

    def describe_run(self) -> str:
        """The description in words, for log lines and messages: 'of workflow 42 on 2026-03-01'."""
        return ", ".join(f"{k}={v!r}" for k, v in self.description_values().items() if v is not None)

    def check_description(self) -> None:
        """Called before the first look; a product adds its own checks (ICE's 90 days)."""
        assert self.run_description is not None
        self.run_description.check_rendered(self.description_values(), self.hook.vendor)

    def check_run_id(self) -> None:
        """Before reading a run by id: an id whose template rendered empty is a configuration mistake."""
        if self.run_id is not None and str(self.run_id).strip():
            return
        from airflow_provider_cloudflows.errors import InvalidRequestError

        name = self.run_description.id_argument if self.run_description else "run_id"
        how = f", or describe the run with {self.run_description.wanted()}" if self.run_description else ""
        raise InvalidRequestError(
            f"{name} is empty (it rendered to {self.run_id!r}): check the template that gives it{how}",
            vendor=self.hook_class.vendor,
        )

    def run_id_of(self, run: WorkflowRun) -> str | int:
        """The id to read `run` by (DataWorks ids are integers)."""
        return run.run_id

    def find_run(self, context: Context) -> WorkflowRun | None:
        """The newest run matching the description, or None; logs how many matched, pushes XCom `run_id`."""
        self.check_description()
        runs = list(self.find_runs(LOOKUP_LIMIT))
        vendor = self.hook.vendor
        if not runs:
            self.log.info("No %s %s %s yet", vendor, self.run_noun, self.describe_run())
            return None
        newest = runs[0]
        count = f"at least {len(runs)}" if len(runs) >= LOOKUP_LIMIT else str(len(runs))
        self.log.info(
            "%s %s %s(s) %s matched; following the newest: %s (created %s, %s)",
            count,
            vendor,
            self.run_noun,
            self.describe_run(),
            newest.run_id,
            newest.created_at.isoformat() if newest.created_at else "at an unknown time",
            newest.raw_state,
        )
        if (ti := context.get("ti")) is not None:
            ti.xcom_push(key=RUN_ID_XCOM_KEY, value=self.run_id_of(newest))
        return newest

    def hook_params(self) -> dict[str, Any]:
        """JSON-safe keyword arguments for the hook constructor (also given to the trigger)."""
        return {"region": self.region} if self.region else {}

    @cached_property
    def hook(self) -> CloudflowsHook:
        return self.hook_class(self.conn_id, **self.hook_params())

    def push_run(self, context: Context, run: WorkflowRun) -> dict[str, Any]:
        """Push the task runs (key `task_runs`) and the console URL; return the run for `return_value`."""
        self.lineage_run = run
        return push_run(context, run, self.hook.console_url(run))

    # -- OpenLineage (the `openlineage` extra; lineage.py imports it only when asked) -------------

    def record_failure(self, message: str) -> str:
        """Keep the message the task is about to fail with (for the facets); return it."""
        self.lineage_failure = message
        return message

    def record_event(self, event: dict[str, Any]) -> None:
        """Keep what the trigger's event says of the run (the task resumed in a new process)."""
        self.lineage_run_id = event.get("run_id")
        if isinstance(event.get("run"), dict):
            from airflow_provider_cloudflows.runs import WorkflowRun

            with contextlib.suppress(ValueError):
                self.lineage_run = WorkflowRun.model_validate(event["run"])
        if event.get("status") != "success" and event.get("message"):
            self.lineage_failure = event["message"]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Airflow's OpenLineage listener asks for these: the remote run's facets (lineage_facets.py)."""
        from airflow_provider_cloudflows.lineage import task_lineage

        return task_lineage(self, task_instance, failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The same facets, and the failure message, when the task failed."""
        from airflow_provider_cloudflows.lineage import task_lineage

        return task_lineage(self, task_instance, failed=True)


class AlibabaCloudTask(ProductTask):
    """A task of an Alibaba Cloud product: `alibabacloud_conn_id` is the public name of `conn_id`."""

    alibabacloud_conn_id = Alias("conn_id")


class TencentCloudTask(ProductTask):
    """A task of a Tencent Cloud product: `tencentcloud_conn_id` is the public name of `conn_id`."""

    tencentcloud_conn_id = Alias("conn_id")
