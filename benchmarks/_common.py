"""Helpers shared by the benchmark scripts: statistics, tables, verdict lines, a quiet Airflow home.

Every script prints markdown tables (so docs/benchmarks.md can quote them verbatim), then
`ratio:` lines and `PASS:` / `FAIL:` lines for its targets. Targets are reported, never asserted:
a slow CI machine must not turn a benchmark into a flaky test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; enough for a few hundred to a few thousand samples."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> None:
    if title:
        print(f"\n### {title}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(flush=True)


def ratio_line(label: str, value: float) -> None:
    print(f"ratio: {label} = {value:.2f}x", flush=True)


class Verdicts:
    """Collects PASS/FAIL lines; `--strict` turns a FAIL into exit code 1."""

    def __init__(self) -> None:
        self.failed = 0

    def check(self, ok: bool, target: str, measured: str) -> None:
        self.failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}: {target} (measured: {measured})", flush=True)

    def exit_code(self, strict: bool) -> int:
        return 1 if strict and self.failed else 0


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, not speed")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser


def airflow_env() -> dict[str, str]:
    """An environment with a private AIRFLOW_HOME, so benchmarks never touch a real installation."""
    env = dict(os.environ)
    if "CLOUDFLOWS_BENCH_AIRFLOW_HOME" not in env:
        env["CLOUDFLOWS_BENCH_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="cloudflows-bench-airflow-")
    env["AIRFLOW_HOME"] = env["CLOUDFLOWS_BENCH_AIRFLOW_HOME"]
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    return env


def use_airflow_env() -> None:
    """Apply `airflow_env()` to this process (call before anything imports airflow)."""
    os.environ.update(airflow_env())


def machine_summary() -> str:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line), ""
        )
    except OSError:
        pass
    mem_gib = ""
    try:
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])
        mem_gib = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} CPUs ({model or platform.processor() or 'unknown'}){mem_gib}, "
        f"Python {platform.python_version()} ({sys.executable})"
    )


def cpu_calibration_us() -> float:
    """Best of 5 x 2,000 `sum(range(1000))`: a yardstick for how fast (or how loaded) this CPU is."""
    import timeit

    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def print_header(name: str, quick: bool) -> None:
    print(f"# {name}{' (--quick: sizes too small for conclusions)' if quick else ''}")
    print(f"machine: {machine_summary()}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average: {load}; sum(range(1000)) takes {cpu_calibration_us():.1f} µs", flush=True)
