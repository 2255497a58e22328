"""Extra link from an ICE sensor or operator to the workflow task in the IMS console."""

from __future__ import annotations

from airflow_provider_cloudflows.links.base import ConsoleLink


class IceWorkflowTaskLink(ConsoleLink):
    """The URL is pushed when the task is first seen (see `IceHook.console_url_for`).

    The console page of a single workflow task is UNCONFIRMED; the link opens the IMS console's
    workflow task list filtered to the task id.
    """

    name = "ICE Workflow Task"
