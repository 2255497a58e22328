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
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_cloudflows.module_loading import LazyHookClass
from airflow_provider_cloudflows.products import Product
from airflow_provider_cloudflows.xcom import push_run

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cloudflows.hooks.base import CloudflowsHook
    from airflow_provider_cloudflows.runs import WorkflowRun


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

    def run_params(self) -> dict[str, Any]:
        """Keyword arguments for `hook.get_run` besides the run id (e.g. WeData's project id)."""
        return {}

    def hook_params(self) -> dict[str, Any]:
        """JSON-safe keyword arguments for the hook constructor (also given to the trigger)."""
        return {"region": self.region} if self.region else {}

    @cached_property
    def hook(self) -> CloudflowsHook:
        return self.hook_class(self.conn_id, **self.hook_params())

    def push_run(self, context: Context, run: WorkflowRun) -> dict[str, Any]:
        """Push the task runs (key `task_runs`) and the console URL; return the run for `return_value`."""
        return push_run(context, run, self.hook.console_url(run))


class AlibabaCloudTask(ProductTask):
    """A task of an Alibaba Cloud product: `alibabacloud_conn_id` is the public name of `conn_id`."""

    alibabacloud_conn_id = Alias("conn_id")


class TencentCloudTask(ProductTask):
    """A task of a Tencent Cloud product: `tencentcloud_conn_id` is the public name of `conn_id`."""

    tencentcloud_conn_id = Alias("conn_id")
