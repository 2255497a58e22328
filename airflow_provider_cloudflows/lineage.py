"""OpenLineage for every sensor and operator: the facets of the remote run, and the parent ids a started run carries.

Both are optional: with the `openlineage` extra (apache-airflow-providers-openlineage) installed
and OpenLineage enabled, Airflow's OpenLineage listener asks each task for its facets when it
ends, and the start operators write the Airflow task's OpenLineage ids into the remote run's free
parameters. Without it nothing here imports anything: the facet methods answer None (the
listener is absent anyway) and a start request is exactly what it would be otherwise.

This module is imported only when a task asks for its facets or starts a run, never when a DAG
file imports a sensor or an operator; the OpenLineage facet classes are in lineage_facets.py,
imported only once the provider is known to be installed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

log = logging.getLogger(__name__)

# The names the Airflow task's OpenLineage ids go under in a started run's parameters (WeData run
# parameters, ICE UserData, DataWorks workflow parameters). Each value is what the provider's
# `lineage_parent_id` / `lineage_root_parent_id` macros give: "<namespace>/<job name>/<run id>".
PARENT_ID_PARAM = "openlineage_parent_id"
ROOT_PARENT_ID_PARAM = "openlineage_root_parent_id"


def task_lineage(task: Any, task_instance: Any, *, failed: bool) -> Any | None:
    """The task's OperatorLineage, or None when the OpenLineage provider is not installed."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    from airflow_provider_cloudflows.lineage_facets import job_facets, run_facets

    return OperatorLineage(
        run_facets=run_facets(task, task_instance, failed=failed), job_facets=job_facets(task)
    )


def parent_run_ids(task: Any, context: Context) -> dict[str, str]:
    """The Airflow task instance's OpenLineage ids, for a run it starts to carry ({} when off).

    Empty unless the OpenLineage provider is installed, OpenLineage is enabled (a transport is
    configured and `[openlineage] disabled` is not set) and it emits events for this task.
    Finding the ids never fails a start: a problem is one warning and the run starts without them.
    """
    try:
        from airflow.providers.openlineage import conf
        from airflow.providers.openlineage.plugins.macros import lineage_parent_id, lineage_root_parent_id
        from airflow.providers.openlineage.utils.utils import (
            is_operator_disabled,
            is_selective_lineage_enabled,
        )
    except ImportError:
        return {}
    try:
        if conf.is_disabled() or is_operator_disabled(task) or not is_selective_lineage_enabled(task):
            return {}
        ti = context["ti"]
        return {PARENT_ID_PARAM: lineage_parent_id(ti), ROOT_PARENT_ID_PARAM: lineage_root_parent_id(ti)}
    except Exception as err:
        log.warning("The run starts without the task's OpenLineage ids, which could not be read: %s", err)
        return {}


def with_parent_run_ids(params: Mapping[str, Any] | None, ids: Mapping[str, str]) -> dict[str, Any] | None:
    """The user's parameters with the OpenLineage ids added; values the user set win.

    None stays None when there are no ids, so a run started without OpenLineage is started
    with exactly the parameters it had before.
    """
    if not ids:
        return dict(params) if params is not None else None
    return {**ids, **(params or {})}
