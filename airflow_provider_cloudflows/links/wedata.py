"""Extra link from WeData sensors and operators to the workflow run in the WeData console."""

from __future__ import annotations

from airflow_provider_cloudflows.links.base import ConsoleLink


class WeDataWorkflowRunLink(ConsoleLink):
    """Opens the run in the WeData console (URL built by `WeDataHook.console_url`)."""

    name = "WeData Run"


class WeDataTaskInstanceLink(ConsoleLink):
    """Opens the task instance in the WeData console (URL built by `WeDataTaskInstanceHook.console_url`)."""

    name = "WeData Task Instance"
