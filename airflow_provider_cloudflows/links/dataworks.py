"""Extra link to a DataWorks workflow instance in the console's Operation Center."""

from __future__ import annotations

from airflow_provider_cloudflows.links.base import ConsoleLink


class DataWorksWorkflowInstanceLink(ConsoleLink):
    """Opens the instance in DataWorks Operation Center (URL built by `DataWorksHook.console_url`)."""

    name = "DataWorks Workflow Instance"
