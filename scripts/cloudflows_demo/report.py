"""What ran and how it went: the DAG runs and task instances from the metadata DB, the vendor runs
from the XComs, the deferrals and blocked-loop warnings from the logs, and the summary table.

Airflow reads its configuration when first imported, so the Airflow modules are imported inside
the functions: only once the site's environment is in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudflows_demo.site import AirflowSite

# The triggerer's warning when a trigger blocks its event loop (Airflow >= 3.2).
BLOCKED_LOOP_MESSAGE = "Triggerer's async thread was blocked"
# Written into the task log when a task hands over to the triggerer.
DEFERRED_MESSAGE = "Pausing task as DEFERRED"

# Which vendor an operator class belongs to, when its XCom does not say.
VENDOR_PREFIXES = (
    ("Ice", "Alibaba Cloud ICE"),
    ("DataWorks", "Alibaba Cloud DataWorks"),
    ("CloudInfinite", "Tencent Cloud Infinite"),
    ("WeData", "Tencent Cloud WeData"),
)


def say(message: str) -> None:
    """One line of the demo's output, flushed so that progress shows as it happens, also in a pipe."""
    print(message, flush=True)


@dataclass
class TaskRow:
    """One row of the summary table: a task instance and the vendor run its XComs name."""

    dag_id: str
    task_id: str
    operator: str
    state: str
    tries: int
    duration: float | None
    vendor: str = ""
    run_id: str = ""
    run_state: str = ""
    task_runs: int | None = None
    deferred: bool | None = None


@dataclass
class DagResult:
    """A DAG's run and its task instances (the run id is "-" and the state "missing" without a run)."""

    dag_id: str
    run_id: str
    state: str
    duration: float | None
    tasks: list[TaskRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "success" and not any(
            t.state in ("failed", "upstream_failed") for t in self.tasks
        )


def vendor_run_of(xcoms: Mapping[str, Any]) -> dict[str, Any] | None:
    """The vendor run a task pushed: the sensors' and get operators' return value, or key `run`."""
    for key in ("run", "return_value"):
        value = xcoms.get(key)
        if isinstance(value, dict) and "vendor" in value and "run_id" in value:
            return value
    return None


def describe_task(row: TaskRow, xcoms: Mapping[str, Any]) -> TaskRow:
    run = vendor_run_of(xcoms)
    if run is not None:
        row.run_id = str(run["run_id"])
        row.run_state = str(run.get("raw_state") or run.get("state") or "")
        row.task_runs = len(run.get("task_runs") or [])
    elif "run_id" in xcoms:
        row.run_id = str(xcoms["run_id"])
    if row.task_runs is None and isinstance(xcoms.get("task_runs"), list):
        row.task_runs = len(xcoms["task_runs"])
    row.vendor = next((v for prefix, v in VENDOR_PREFIXES if row.operator.startswith(prefix)), "")
    if not row.vendor and run is not None:
        row.vendor = str(run["vendor"])
    return row


def collect_results(dag_runs: Mapping[str, str | None]) -> list[DagResult]:
    """Read each DAG's run (the given run id, or its latest), task instances and XComs from the DB."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    results: list[DagResult] = []
    with create_session() as session:
        for dag_id, wanted in dag_runs.items():
            query = select(DagRun).where(DagRun.dag_id == dag_id)
            query = query.where(DagRun.run_id == wanted) if wanted else query.order_by(DagRun.id.desc())
            dag_run = session.scalars(query.limit(1)).first()
            if dag_run is None:
                results.append(DagResult(dag_id, wanted or "-", "missing", None))
                continue
            duration = (
                (dag_run.end_date - dag_run.start_date).total_seconds()
                if dag_run.end_date and dag_run.start_date
                else None
            )
            result = DagResult(dag_id, dag_run.run_id, str(dag_run.state), duration)
            xcoms: dict[str, dict[str, Any]] = {}
            for task_id, key, value in session.execute(
                select(XComModel.task_id, XComModel.key, XComModel.value).where(
                    XComModel.dag_id == dag_id, XComModel.run_id == dag_run.run_id
                )
            ):
                xcoms.setdefault(task_id, {})[key] = XComModel.deserialize_value(_Row(value))
            tis = session.scalars(
                select(TaskInstance)
                .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dag_run.run_id)
                .order_by(TaskInstance.start_date, TaskInstance.task_id)
            )
            for ti in tis:
                row = TaskRow(
                    dag_id=dag_id,
                    task_id=ti.task_id,
                    operator=ti.operator or "",
                    state=str(ti.state),
                    tries=ti.try_number,
                    duration=ti.duration,
                )
                result.tasks.append(describe_task(row, xcoms.get(ti.task_id, {})))
            results.append(result)
    return results


@dataclass
class _Row:
    """XComModel.deserialize_value reads `.value` from a DB result row."""

    value: Any


def mark_deferrals(site: AirflowSite, results: Sequence[DagResult]) -> None:
    """Which tasks handed over to the triggerer: their task log says so and a trigger log exists."""
    for result in results:
        for row in result.tasks:
            logs = site.task_logs(row.dag_id, result.run_id, row.task_id)
            row.deferred = any(".log.trigger." in p.name for p in logs) or any(
                DEFERRED_MESSAGE in p.read_text(errors="replace") for p in logs if ".trigger." not in p.name
            )


def blocked_loop_warnings(log_path: Path) -> list[str]:
    """The triggerer log's lines saying a trigger blocked its event loop (none when there is no log)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if BLOCKED_LOOP_MESSAGE in line]


# -- the summary table ------------------------------------------------------------------------------------


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def render_summary(results: Sequence[DagResult], *, live: bool) -> str:
    headers = [
        "DAG",
        "task",
        "vendor",
        "run id",
        "run state",
        "task runs",
        "Airflow state",
        "tries",
        "duration",
    ]
    if live:
        headers.append("deferred")
    rows: list[list[str]] = []
    for result in results:
        for t in result.tasks:
            row = [
                t.dag_id,
                t.task_id,
                t.vendor or "-",
                t.run_id or "-",
                t.run_state or "-",
                "-" if t.task_runs is None else str(t.task_runs),
                t.state,
                str(t.tries),
                _fmt_seconds(t.duration),
            ]
            if live:
                row.append("yes" if t.deferred else "no")
            rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]
    out.append("")
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        out.append(
            f"{mark} {result.dag_id}: run {result.run_id} {result.state} in {_fmt_seconds(result.duration)}"
        )
    return "\n".join(out)
