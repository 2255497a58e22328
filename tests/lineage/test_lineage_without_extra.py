"""Without the `openlineage` extra nothing changes: operators work, facet methods answer None, imports stay as they were.

Each check runs in a fresh interpreter whose import system hides the OpenLineage provider and
client - their modules and their package metadata, so Airflow finds no provider entry point
either - the way an installation without the extra behaves; the OpenLineage configuration is
set all the same, so only the missing package can be what turns lineage off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

NO_OPENLINEAGE = textwrap.dedent(
    """
    import contextlib, importlib.machinery, sys

    BLOCKED = ("openlineage", "openlineage_sql", "airflow.providers.openlineage")
    HIDDEN = {"apache-airflow-providers-openlineage", "openlineage-python", "openlineage-integration-common", "openlineage-sql"}

    def blocked(name):
        return any(name == b or name.startswith(b + ".") for b in BLOCKED)

    def hidden(dist):
        return (dist.metadata["Name"] or "").lower().replace("_", "-") in HIDDEN

    class WithoutOpenLineage:
        # A finder of sys.meta_path less the OpenLineage packages: their modules and their metadata.
        def __init__(self, finder):
            self.finder = finder
        def find_spec(self, name, path=None, target=None):
            find = getattr(self.finder, "find_spec", None)
            return None if blocked(name) or find is None else find(name, path, target)
        def find_distributions(self, *args, **kwargs):
            find = getattr(self.finder, "find_distributions", None)  # importlib_metadata removes PathFinder's
            return () if find is None else (d for d in find(*args, **kwargs) if not hidden(d))
        def invalidate_caches(self):
            with contextlib.suppress(AttributeError):
                self.finder.invalidate_caches()

    with contextlib.suppress(ImportError):
        import importlib_metadata  # Airflow reads entry points through it; it adds its own finder
    sys.meta_path[:] = [
        WithoutOpenLineage(f) if f is importlib.machinery.PathFinder or hasattr(f, "find_distributions") else f
        for f in sys.meta_path
    ]
    """
)

# What a DAG file imports, and which modules our sensors and operators add to it.
IMPORTS = textwrap.dedent(
    """
    import json, sys
    from airflow.providers.common.compat.sdk import BaseOperator, BaseSensorOperator
    before = set(sys.modules)
    for vendor in ("ice", "dataworks", "wedata", "cloud_infinite"):
        __import__(f"airflow_provider_cloudflows.sensors.{vendor}")
        __import__(f"airflow_provider_cloudflows.operators.{vendor}")
    result = {"lineage_modules": [m for m in sorted(set(sys.modules) - before) if "lineage" in m]}
    """
)

# Whether the provider is found, as a module or as an installed package.
FOUND = textwrap.dedent(
    """
    import importlib.metadata
    try:
        import airflow.providers.openlineage.extractors
        result["provider_found"] = True
    except ImportError:
        result["provider_found"] = False
    names = [(d.metadata["Name"] or "").lower() for d in importlib.metadata.distributions()]
    result["packages_listed"] = [n for n in names if "openlineage" in n]
    """
)

# Starts a run with each start operator that writes free parameters, and asks for facets.
RUNS = textwrap.dedent(
    """
    from lineage_support import (
        LineageTi, context, dataworks_start, ice_start, wedata_start, cloud_infinite_start
    )
    from airflow_provider_cloudflows.sensors.ice import IceWorkflowTaskSensor

    ti = LineageTi()
    ice = ice_start()
    task_id = ice.execute(context(ti))
    user_data = json.loads(ice.hook.get_run(task_id).detail["WorkflowTask"]["UserData"])
    dataworks = dataworks_start(wait_for_completion=False)
    (instance_id,) = dataworks.execute(context(ti))
    parameters = dataworks.hook.get_run(instance_id, with_task_runs=False).detail["WorkflowParameters"]
    wedata = wedata_start(wait_for_completion=False)
    execution_id = wedata.execute(context(ti))
    (brief,) = [
        r.detail["TriggerWorkflowRun"]
        for r in wedata.hook.list_runs("p-1", workflow_id="wf-1")
        if r.run_id == execution_id
    ]
    sensor = IceWorkflowTaskSensor(task_id="wait", workflow_task_id=task_id)
    tasks = [ice, dataworks, wedata, sensor, cloud_infinite_start()]
    result.update({
        "ice_state": ti.pushed()["run"]["raw_state"],
        "user_data": sorted(user_data),
        "workflow_parameters": json.loads(parameters),
        "wedata_params": sorted(p["ParamKey"] for p in json.loads(brief["WorkflowParams"])),
        "facets": [
            [t.get_openlineage_facets_on_complete(ti), t.get_openlineage_facets_on_failure(ti)]
            for t in tasks
        ],
    })
    """
)


def run_python(*parts: str, block_openlineage: bool) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")]),
        # Configured: were the provider importable, lineage would be on.
        "AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "console"}',
    }
    source = "".join([NO_OPENLINEAGE if block_openlineage else "", *parts, "print(json.dumps(result))\n"])
    done = subprocess.run(
        [sys.executable, "-c", source], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.usefixtures("emulator")
def test_without_the_extra_operators_run_unchanged_and_facets_are_none() -> None:
    result = run_python(IMPORTS, FOUND, RUNS, block_openlineage=True)
    # The interpreter really has no OpenLineage: no module, no package (and Airflow starts).
    assert (result["provider_found"], result["packages_listed"]) == (False, [])
    # DAG parsing imports no lineage code.
    assert result["lineage_modules"] == []
    # The start requests are those of a deployment without lineage; the runs succeed.
    assert result["ice_state"] == "Succeed"
    assert result["user_data"] == ["AirflowTaskInstance", "emulator_step_seconds"]
    assert result["workflow_parameters"] == {"emulator_step_seconds": 0.02}
    assert result["wedata_params"] == ["airflow_task_instance", "emulator_step_seconds"]
    # Each facet method answers None (what the listener takes as "no facets"), none raises.
    assert result["facets"] == [[None, None]] * 5


def test_with_the_extra_dag_files_still_import_no_lineage_code() -> None:
    """DAG parsing pays nothing for lineage: it is imported when a task ends or starts a run."""
    pytest.importorskip("airflow.providers.openlineage", reason="the `openlineage` extra is not installed")
    result = run_python(IMPORTS, FOUND, block_openlineage=False)
    assert result["provider_found"] and result["lineage_modules"] == []
