"""Extra links to a run in the vendor's console; the URL is computed when the run is read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_provider_cloudflows.compat import AIRFLOW_MAJOR
from airflow_provider_cloudflows.xcom import CONSOLE_URL_XCOM_KEY, pushed_console_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, TaskInstanceKey


def read_console_url(ti_key: Any) -> str:
    """The console URL the task pushed, or "" - without logging an error when it pushed none.

    Airflow 3 asks every link for its URL at the end of each task process (and stores the
    answer), and its XCom lookup of a missing key logs "XCom not found" at error level. So the
    URL this process pushed is answered from memory; otherwise one listing of the key (which
    answers "nothing" quietly) shows whether an earlier process of the task pushed one, before a
    deferral or a reschedule. Airflow 2 asks in the webserver, where a missing XCom is a quiet None.
    """
    if (url := pushed_console_url(ti_key)) is not None:
        return url
    if AIRFLOW_MAJOR < 3:
        return XCom.get_value(ti_key=ti_key, key=CONSOLE_URL_XCOM_KEY) or ""
    found = XCom.get_all(
        key=CONSOLE_URL_XCOM_KEY, dag_id=ti_key.dag_id, task_id=ti_key.task_id, run_id=ti_key.run_id
    )
    if not found:
        return ""
    map_index = getattr(ti_key, "map_index", -1)
    if map_index is None or map_index < 0:
        return found[0] or ""
    # A mapped task: the listing holds every map index's URL; read this one's.
    return XCom.get_value(ti_key=ti_key, key=CONSOLE_URL_XCOM_KEY) or ""


class ConsoleLink(BaseOperatorLink):
    """Reads the console URL that the sensor or operator pushed when it first saw the run."""

    name: ClassVar[str] = "Console"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return read_console_url(ti_key)
