"""Each product's run target: its keywords behave as an operator's own, and its aliases are the base attributes."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_cloudflows.targets.base import Alias

# class -> (the keyword naming the run, its base attribute, the connection keyword, other required keywords)
CASES = {
    "sensors.ice.IceWorkflowTaskSensor": ("workflow_task_id", "run_id", "alibabacloud_conn_id", {}),
    "operators.ice.IceGetWorkflowTaskOperator": ("workflow_task_id", "run_id", "alibabacloud_conn_id", {}),
    "sensors.dataworks.DataWorksWorkflowInstanceSensor": (
        "instance_id",
        "run_id",
        "alibabacloud_conn_id",
        {},
    ),
    "operators.dataworks.DataWorksGetWorkflowInstanceOperator": (
        "instance_id",
        "run_id",
        "alibabacloud_conn_id",
        {},
    ),
    "sensors.wedata.WeDataWorkflowRunSensor": (
        "execution_id",
        "run_id",
        "tencentcloud_conn_id",
        {"project_id": "p"},
    ),
    "operators.wedata.WeDataGetWorkflowRunOperator": (
        "execution_id",
        "run_id",
        "tencentcloud_conn_id",
        {"project_id": "p"},
    ),
    "sensors.wedata.WeDataTaskInstanceSensor": (
        "instance_key",
        "run_id",
        "tencentcloud_conn_id",
        {"project_id": "p"},
    ),
    "operators.wedata.WeDataGetTaskInstanceOperator": (
        "instance_key",
        "run_id",
        "tencentcloud_conn_id",
        {"project_id": "p"},
    ),
    "sensors.cloud_infinite.CloudInfiniteWorkflowExecutionSensor": (
        "run_id",
        "run_id",
        "tencentcloud_conn_id",
        {},
    ),
    "operators.cloud_infinite.CloudInfiniteGetWorkflowExecutionOperator": (
        "run_id",
        "run_id",
        "tencentcloud_conn_id",
        {},
    ),
}


def task_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(f"airflow_provider_cloudflows.{module}"), name)


@pytest.mark.parametrize("path", sorted(CASES))
def test_the_vendor_keywords_name_the_base_attributes(path):
    cls = task_class(path)
    run_kw, run_attr, conn_kw, required = CASES[path]
    task = cls(task_id="t", **{run_kw: "r-1", conn_kw: "my_conn"}, **required)
    assert (getattr(task, run_attr), task.conn_id) == ("r-1", "my_conn")
    assert (getattr(task, run_kw), getattr(task, conn_kw)) == ("r-1", "my_conn")
    setattr(task, conn_kw, "other_conn")  # what rendering a templated alias does
    assert task.conn_id == "other_conn"
    assert isinstance(getattr(cls, conn_kw), Alias)


@pytest.mark.parametrize("path", sorted(CASES))
def test_default_args_fill_the_vendor_keywords(path):
    cls = task_class(path)
    run_kw, _, conn_kw, required = CASES[path]
    task = cls(task_id="t", default_args={conn_kw: "from_default_args"}, **{run_kw: "r-1"}, **required)
    assert task.conn_id == "from_default_args"


@pytest.mark.parametrize("path", sorted(CASES))
def test_a_missing_run_keyword_says_how_to_name_the_run(path):
    # Every run target also takes a description of its run, so the id is optional: leaving out
    # both is a ValueError at parse time that names the id and the description's arguments.
    cls = task_class(path)
    run_kw, _, _, required = CASES[path]
    with pytest.raises(ValueError, match=f"give {run_kw}, or describe the run with "):
        cls(task_id="t", **required)


@pytest.mark.parametrize("path", sorted(CASES))
def test_the_run_keyword_can_be_mapped(path):
    cls = task_class(path)
    run_kw, _, conn_kw, required = CASES[path]
    mapped = cls.partial(task_id="t", **{conn_kw: "c"}, **required).expand(**{run_kw: ["r-1", "r-2"]})
    assert type(mapped).__name__ == "MappedOperator"
