"""The benchmark scripts still run (`--quick`): exit code 0, their table and ratio lines printed.

Timings are never asserted here; the scripts print their own PASS/FAIL lines for the targets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

CASES = {
    "import_cost.py": "| module | median ms added |",
    "poll_cost.py": "| API | client | call | CPU µs median |",
    "trigger_scale.py": "| design | N | poll interval s |",
    # A real triggerer on a throwaway PostgreSQL, N = 20 (about two minutes).
    "triggerer_scale.py": "| design | N | s to hold all |",
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_quick(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert CASES[script] in out, out[-3000:]
    assert "\nratio: " in out, out[-3000:]
    assert "PASS: " in out or "FAIL: " in out, out[-3000:]
