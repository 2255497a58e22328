"""Extra link to a Cloud Infinite workflow execution in the CI console."""

from __future__ import annotations

from airflow_provider_cloudflows.links.base import ConsoleLink


class CloudInfiniteWorkflowExecutionLink(ConsoleLink):
    """Opens the execution's bucket workflow page in the CI console (`CloudInfiniteHook.console_url`)."""

    name = "Cloud Infinite Workflow Execution"
