"""The OpenLineage facets of a task's remote run (needs the `openlineage` extra; see lineage.py).

Run facets: `cloudflows` (vendor, run id, console URL, state, the vendor's error),
`externalQuery` (the standard facet naming a run in another system) and, on failure,
`errorMessage`. Job facet: `cloudflowsJobType`, a JobTypeJobFacet naming the vendor product as
the integration; it has a key of its own because Airflow's listener always writes `jobType`
itself (integration AIRFLOW, job type TASK) after merging the task's facets.

What the facets report is what this task process saw: the run it last read or was handed by
the trigger (`lineage_run`), the ids it started, its failure message, and the console URL it
pushed (or an earlier process of the same try pushed, read back from XCom). Nothing here calls
the vendor: facets are asked for after the task has ended.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from attrs import define, field
from openlineage.client.facet_v2 import (
    JobFacet,
    RunFacet,
    error_message_run,
    external_query_run,
    job_type_job,
)

from airflow_provider_cloudflows.products import PRODUCTS, Product

log = logging.getLogger(__name__)

RUN_FACET = "cloudflows"
JOB_TYPE_FACET = "cloudflowsJobType"


@define
class CloudflowsRunFacet(RunFacet):
    """The remote workflow run an Airflow task started, read or waited for."""

    vendor: str  # "Alibaba Cloud DataWorks"
    product: str  # "dataworks": the module name of the product in this package
    runNoun: str  # the vendor's word for a run: "workflow instance"
    runId: str | None = field(default=None)
    # Every id when the task started several runs at once (DataWorks: one instance per business date).
    runIds: list[str] | None = field(default=None)
    consoleUrl: str | None = field(default=None)
    state: str | None = field(default=None)  # normalized: succeeded, failed, ...
    rawState: str | None = field(default=None)  # the vendor's own state
    errorCode: str | None = field(default=None)
    errorMessage: str | None = field(default=None)


def product_of(task: Any) -> Product | None:
    path = getattr(task, "hook_class_path", None)
    return next((p for p in PRODUCTS.values() if p.hook == path), None)


def run_facets(task: Any, task_instance: Any, *, failed: bool) -> dict[str, RunFacet]:
    product = product_of(task)
    if product is None:
        return {}
    run = getattr(task, "lineage_run", None)
    run_ids = [str(i) for i in getattr(task, "started_instance_ids", None) or ()]
    run_id = _run_id(task, run)
    facets: dict[str, RunFacet] = {
        RUN_FACET: CloudflowsRunFacet(
            vendor=product.name,
            product=product.key,
            runNoun=task.run_noun,
            runId=run_id,
            runIds=run_ids if len(run_ids) > 1 else None,
            consoleUrl=_console_url(task, task_instance, run),
            state=run.state.value if run is not None else None,
            rawState=run.raw_state if run is not None else None,
            errorCode=run.error_code if run is not None else None,
            errorMessage=run.error_message if run is not None else None,
        )
    }
    if run_id is not None:
        facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=run_id, source=_source(task, product)
        )
    failure = getattr(task, "lineage_failure", None)
    if failed and failure:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=failure, programmingLanguage="python"
        )
    return facets


def job_facets(task: Any) -> dict[str, JobFacet]:
    product = product_of(task)
    if product is None:
        return {}
    return {
        JOB_TYPE_FACET: job_type_job.JobTypeJobFacet(
            processingType="BATCH",
            integration=product.key.upper(),
            jobType=task.run_noun.upper().replace(" ", "_"),
        )
    }


def _run_id(task: Any, run: Any) -> str | None:
    if run is not None:
        return str(run.run_id)
    for name in ("lineage_run_id", "started_run_id", "run_id"):
        value = getattr(task, name, None)
        if value is not None and value != "":
            return str(value)
    return None


def _console_url(task: Any, task_instance: Any, run: Any) -> str | None:
    from airflow_provider_cloudflows.links.base import read_console_url

    url = ""
    try:
        url = read_console_url(task_instance)
    except Exception as err:  # a facet never fails the listener: it goes without the URL
        log.debug("No console URL for the OpenLineage facet: %s", err)
    if not url and run is not None and "hook" in vars(task):
        # The hook this task already built (and read its connection for) knows the URL.
        with contextlib.suppress(Exception):
            url = task.hook.console_url(run) or ""
    return url or None


def _source(task: Any, product: Product) -> str:
    region = getattr(task, "region", None)
    if not region and "hook" in vars(task):
        with contextlib.suppress(Exception):
            region = task.hook.region
    return f"{product.key}://{region}" if region else product.key
