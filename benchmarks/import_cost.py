"""Import cost: time each sensor/operator/trigger module adds on top of `import airflow.sdk`.

DAG parsing pays this in every parse process, so it matters more than any per-poll cost.

Method. Each round starts a fresh interpreter that imports `airflow.sdk` (the part every DAG
pays anyway), then forks one child per module; the child imports exactly that module and
reports the wall time (perf_counter) of the import. A child therefore starts from exactly the
state "airflow.sdk imported, nothing else", and forking keeps a full run under a minute instead
of paying ~2 s of Airflow import per sample. `--fresh` measures the same thing the slow way
(one `python -c` per sample) to cross-check the forked numbers. Module order is shuffled per
round; the table shows the median (and max) over the rounds.

The same run measures the official vendor SDK clients and the dbt Cloud provider's sensor as
references. Target: each of our modules adds at most 30 ms, and none of them pulls in a heavy
module (the emulator, xmltodict, another vendor's models, a vendor SDK).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

from _common import (
    Verdicts,
    airflow_env,
    base_parser,
    median,
    print_header,
    print_table,
    ratio_line,
)

VENDORS = ("ice", "dataworks", "cloud_infinite", "wedata")
PKG = "airflow_provider_cloudflows"
OURS = [f"{PKG}.sensors.{v}" for v in VENDORS] + [f"{PKG}.operators.{v}" for v in VENDORS]
OURS.append(f"{PKG}.triggers.workflow_run")
DBT = "airflow.providers.dbt.cloud.sensors.dbt"
REFERENCES = [
    DBT,
    "tencentcloud.wedata.v20250806.wedata_client",
    "qcloud_cos",
    "alibabacloud_ice20201109.client",
    "alibabacloud_dataworks_public20240518.client",
]
# Modules that must stay out of a DAG file's import: (prefix, why it is heavy).
HEAVY = [f"{PKG}.emulator", "xmltodict", "starlette", "uvicorn", "tencentcloud", "qcloud_cos", "alibabacloud"]
TARGET_MS = 30.0

# Runs in a fresh interpreter: import airflow.sdk once, then fork one child per module.
CHILD = textwrap.dedent(
    """
    import importlib, json, os, sys, time
    t0 = time.perf_counter()
    import airflow.sdk
    base_ms = (time.perf_counter() - t0) * 1000
    mode, heavy, names = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
    print(json.dumps({"module": "airflow.sdk", "ms": base_ms, "error": None, "pulled": []}), flush=True)

    def measure(name):
        before = set(sys.modules)
        t0 = time.perf_counter()
        try:
            importlib.import_module(name)
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - t0) * 1000
        new = set(sys.modules) - before
        own_vendor = name.rsplit(".", 1)[-1]
        pulled = sorted(
            {m.split(".")[0] if not m.startswith("airflow_provider_cloudflows") else m for m in new
             if any(m == h or m.startswith(h + ".") for h in heavy)
             or (m.startswith("airflow_provider_cloudflows.models.") and not m.endswith("." + own_vendor))}
        )
        return {"module": name, "ms": ms, "error": error, "pulled": pulled}

    for name in names:
        if mode == "inline":
            print(json.dumps(measure(name)), flush=True)
            continue
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, json.dumps(measure(name)).encode())
            os._exit(0)
        os.close(w)
        chunks = []
        while chunk := os.read(r, 65536):
            chunks.append(chunk)
        os.close(r)
        os.waitpid(pid, 0)
        print(b"".join(chunks).decode(), flush=True)
    """
)


def precompile(modules: list[str]) -> None:
    """Write bytecode for the packages measured, as an installed wheel has it.

    With PYTHONDONTWRITEBYTECODE set (common in CI images and set on our machines) an editable
    checkout has no .pyc at all, and every sample would time compiling our sources rather than
    importing them. Other packages' own dependencies keep whatever bytecode their install wrote.
    """
    import compileall
    import importlib.util

    packages = {f"{PKG}"} | {
        ".".join(m.split(".")[:3]) if m.startswith("airflow.providers.") else m.split(".")[0] for m in modules
    }
    for package in sorted(packages):
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(location, quiet=1)


def run_child(mode: str, modules: list[str], env: dict[str, str]) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, json.dumps(HEAVY), *modules],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"import child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="rounds per module (default 10, --quick 2)")
    parser.add_argument(
        "--fresh", action="store_true", help="one fresh `python -c` per sample instead of forking (slow)"
    )
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.quick else 10)
    print_header("Import cost on top of `import airflow.sdk`", args.quick)
    modules = OURS + REFERENCES
    env = airflow_env()
    precompile(modules)
    run_child("inline", [], env)  # warm-up: Airflow writes its config and caches on first import

    samples: dict[str, list[float]] = {m: [] for m in ["airflow.sdk", *modules]}
    info: dict[str, dict] = {}
    rng = random.Random(7)
    for _ in range(repeat):
        order = modules[:]
        rng.shuffle(order)
        batches = [[m] for m in order] if args.fresh else [order]
        for batch in batches:
            for result in run_child("inline" if args.fresh else "fork", batch, env):
                samples[result["module"]].append(result["ms"])
                info.setdefault(result["module"], result)

    dbt_ms = median(samples[DBT]) if not info[DBT]["error"] else None
    rows = []
    verdicts = Verdicts()
    for name in ["airflow.sdk", *modules]:
        err = info[name]["error"]
        if err:
            rows.append([f"`{name}`", "unavailable", "", "", err.split(":")[0]])
            continue
        med, worst = median(samples[name]), max(samples[name])
        vs_dbt = f"{med / dbt_ms:.2f}x" if dbt_ms and name != "airflow.sdk" else ""
        label = "(baseline, not added)" if name == "airflow.sdk" else ", ".join(info[name]["pulled"]) or "-"
        rows.append([f"`{name}`", f"{med:.1f}", f"{worst:.1f}", vs_dbt, label])
    method = "fresh `python -c` per sample" if args.fresh else "fresh interpreter per round, fork per module"
    print_table(
        ["module", "median ms added", "max ms", "vs dbt sensor", "heavy modules pulled in"],
        rows,
        title=f"Import time added on top of `import airflow.sdk` ({repeat} rounds, {method})",
    )

    for name in OURS:
        if info[name]["error"]:
            verdicts.check(False, f"{name} imports", info[name]["error"])
            continue
        if dbt_ms:
            ratio_line(f"{name} / dbt-cloud sensor", median(samples[name]) / dbt_ms)
    if not dbt_ms:
        print("ratio: dbt-cloud sensor unavailable (pip install apache-airflow-providers-dbt-cloud)")
    for sdk in REFERENCES[1:]:
        if not info[sdk]["error"]:
            ratio_line(
                f"{sdk} / slowest of our modules",
                median(samples[sdk]) / max(median(samples[m]) for m in OURS),
            )
    for name in OURS:
        if info[name]["error"]:
            continue
        med = median(samples[name])
        verdicts.check(med <= TARGET_MS, f"{name} adds <= {TARGET_MS:.0f} ms", f"{med:.1f} ms")
        pulled = info[name]["pulled"]
        verdicts.check(not pulled, f"{name} imports no heavy module", ", ".join(pulled) or "none")
    return verdicts.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
