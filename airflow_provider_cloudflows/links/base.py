"""Extra links to a run in the vendor's console; the URL is computed when the run is read."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_provider_cloudflows.xcom import CONSOLE_URL_XCOM_KEY

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, TaskInstanceKey


class ConsoleLink(BaseOperatorLink):
    """Reads the console URL that the sensor or operator pushed when it first saw the run."""

    name: ClassVar[str] = "Console"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(ti_key=ti_key, key=CONSOLE_URL_XCOM_KEY) or ""
