"""Trigger scale: N concurrent WorkflowRunTriggers in one asyncio loop, vs a naive SDK-in-threads trigger.

A triggerer holds every deferred sensor of a deployment in one event loop. This runs N WeData
triggers (N = 100, 1,000, 5,000) against the emulator in a separate process, with the poll
interval scaled to N so the emulator sees a fixed request rate (default 200 req/s): interval =
N / rate. Triggers start staggered over one interval (as deferred tasks arrive over time), each
run is scripted to succeed 1.5 intervals after the start, so every trigger polls 2-3 times and
must deliver exactly one "success" event.

Each (design, N) runs in a fresh interpreter so memory and loop state never carry over.
Reported per scenario: client CPU per poll (process CPU over the scenario / requests the
emulator served), RSS per waiting run (RSS after every trigger has polled once and is waiting,
minus RSS before the first trigger was created, over N), maximum event-loop lag (a ticker
sleeping 10 ms and measuring its overshoot), events delivered vs expected, and TCP connections
the emulator saw opened.

A "restart" scenario starts N (default 1,000) triggers at once, as a triggerer does after a
restart: every first poll is queued at the same moment. `--pools 64,256` repeats it with more
request slots / pool connections (the pool size that used to be the default was 256).

Designs:
- ours: `WorkflowRunTrigger` with `WeDataHook` (one shared connection pool per loop, at most
  `MAX_CONCURRENT_REQUESTS` requests in flight).
- naive: what a trigger built on the official SDK looks like: one `WedataClient` per trigger,
  each call through `asyncio.to_thread` (the loop's default thread pool).

Targets: 5,000 concurrent waiting runs with maximum loop lag under 100 ms, every event
delivered, RSS per waiting run under 50 KB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

from _common import Verdicts, airflow_env, base_parser, print_header, print_table, ratio_line

LAG_TARGET_MS = 100.0
RSS_TARGET_KB = 50.0
TICK = 0.010
DESIGNS = ("ours", "naive")
PROJECT_ID = "1460947878944567296"


# ------------------------------------------------------------------------------------ child side


def _two_step_spec(run_id: str, finish_after: float) -> dict[str, Any]:
    """A WeData run that is RUNNING until `finish_after` seconds after scripting, then SUCCESS."""
    from airflow_provider_cloudflows.emulator.services.wedata import run_spec

    spec = run_spec(run_id, "SUCCESS", project_id=PROJECT_ID)
    spec["states"] = ["RUNNING", spec["states"][-1]]
    spec["task_runs"] = [
        dict(t, states=[t["states"][min(1, len(t["states"]) - 1)], t["states"][-1]])
        for t in spec["task_runs"]
    ]
    spec["advance"], spec["step_seconds"] = "time", finish_after
    return spec


def _naive_trigger_class() -> type:
    """A trigger written the obvious way: the official SDK, called in a thread per poll."""
    from airflow.triggers.base import BaseTrigger, TriggerEvent
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.wedata.v20250806 import models, wedata_client

    terminal = {"SUCCESS", "FAILED", "STOPPED", "KILLED", "SKIPED"}

    class NaiveWeDataSdkTrigger(BaseTrigger):
        def __init__(self, run_id: str, poll_interval: float, endpoint: str, sid: str, skey: str) -> None:
            super().__init__()
            self.run_id, self.poll_interval = run_id, poll_interval
            self.endpoint, self.sid, self.skey = endpoint, sid, skey

        def serialize(self) -> tuple[str, dict[str, Any]]:
            return ("naive", {"run_id": self.run_id, "poll_interval": self.poll_interval})

        async def run(self):  # type: ignore[override]
            hp = HttpProfile()
            hp.endpoint, hp.scheme = self.endpoint, "http"
            client = wedata_client.WedataClient(
                credential.Credential(self.sid, self.skey), "ap-guangzhou", ClientProfile(httpProfile=hp)
            )
            req = models.GetTriggerWorkflowRunRequest()
            req.ProjectId, req.WorkflowExecutionId = PROJECT_ID, self.run_id
            while True:
                try:
                    resp = await asyncio.to_thread(client.GetTriggerWorkflowRun, req)
                except Exception as exc:  # a naive trigger still has to survive a transient error
                    self.log.warning("poll failed: %s", exc)
                else:
                    state = resp.Data.TriggerWorkflowRun.ExecutionState
                    if state in terminal:
                        yield TriggerEvent({"status": "success" if state == "SUCCESS" else "failure"})
                        return
                await asyncio.sleep(self.poll_interval)

    return NaiveWeDataSdkTrigger


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _scenario(
    design: str, n: int, rate: float, url: str, pool: int | None, freeze: bool, burst: bool
) -> dict[str, Any]:
    from airflow_provider_cloudflows.emulator import config
    from airflow_provider_cloudflows.emulator.control_client import EmulatorControl
    from airflow_provider_cloudflows.hooks.wedata import WeDataHook
    from airflow_provider_cloudflows.triggers.workflow_run import WorkflowRunTrigger

    interval = n / rate
    finish_after = 1.5 * interval
    control = EmulatorControl(url, timeout=120)
    prefix = f"scale-{design}-{n}-{os.getpid()}"
    run_ids = [f"{prefix}-{i}" for i in range(n)]

    if pool is not None:  # benchmark-only: a shared client with another pool size
        import httpx

        from airflow_provider_cloudflows.hooks import transport
        from airflow_provider_cloudflows.hooks.transport import AsyncPoolTransport, PoolRouter

        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool, keepalive_expiry=60)
        origin = url.rstrip("/")
        transport._request_slots[asyncio.get_running_loop()] = {origin: asyncio.Semaphore(pool)}
        transport._async_routers[asyncio.get_running_loop()] = PoolRouter(
            lambda proxy, tls: AsyncPoolTransport(limits=limits, proxy=proxy, ssl_context=tls)
        )

    if design == "ours":

        def make(run_id: str) -> Any:
            return WorkflowRunTrigger(
                hook_class_path="airflow_provider_cloudflows.hooks.wedata.WeDataHook",
                conn_id="tencentcloud_default",
                run_id=run_id,
                poll_interval=interval,
                run_params={"project_id": PROJECT_ID},
            )

        control.script_runs([_two_step_spec(f"{prefix}-warm", 0.001)])
        await WeDataHook().aget_run(f"{prefix}-warm", project_id=PROJECT_ID)  # lazy imports, first client
    else:
        naive = _naive_trigger_class()
        endpoint = url.removeprefix("http://")

        def make(run_id: str) -> Any:
            return naive(
                run_id, interval, endpoint, config.TENCENT_DEMO_SECRET_ID, config.TENCENT_DEMO_SECRET_KEY
            )

        control.script_runs([_two_step_spec(f"{prefix}-warm", 0.001)])
        async for _ in make(f"{prefix}-warm").run():  # lazy imports, thread pool
            break

    before_conns = control.health()["connections"]["opened_total"]
    control.clear_requests()
    # Scripted last, with a margin for the setup below, so no run finishes before its first poll.
    scripting_started = time.monotonic()
    for start in range(0, n, 1000):
        control.script_runs([_two_step_spec(r, finish_after + 0.5) for r in run_ids[start : start + 1000]])
    scripted_at = time.monotonic()
    finish_after += 0.5 - (scripted_at - scripting_started)
    gc.collect()
    # What one full collection of the process's heap costs before any trigger exists: the part of
    # every full-GC pause that belongs to Airflow and the imported modules, not to waiting runs.
    gc_t0 = time.perf_counter()
    gc.collect()
    base_gc_ms = (time.perf_counter() - gc_t0) * 1000
    if freeze:
        gc.freeze()
    rss0 = _rss_kib()
    gc_pauses: list[float] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                gc_pauses.append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(on_gc)

    loop = asyncio.get_running_loop()
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(TICK)
            lags.append(loop.time() - t0 - TICK)

    events: list[dict[str, Any]] = []

    async def drive(trigger: Any) -> None:
        async for event in trigger.run():
            events.append(event.payload)
            break

    tick = asyncio.create_task(ticker())
    cpu0, wall0 = time.process_time(), time.monotonic()
    tasks = []
    for i, run_id in enumerate(run_ids):
        delay = 0 if burst else wall0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(drive(make(run_id))))
    # Every trigger has made (or is making) its first poll; give the last ones time to finish it.
    await asyncio.sleep(min(0.5, interval / 4))
    rss1 = _rss_kib()
    ramp_lag = max(lags, default=0.0)
    remaining = finish_after + interval + 30 - (time.monotonic() - scripted_at)
    _, pending = await asyncio.wait(tasks, timeout=max(remaining, 1.0))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    stop.set()
    await tick
    gc.callbacks.remove(on_gc)
    for task in pending:
        task.cancel()
    health = control.health()
    polls = health["requests"]
    control.close()
    delivered = sum(1 for e in events if e.get("status") == "success")
    return {
        "design": design,
        "n": n,
        "interval": interval,
        "pool": pool,
        "polls": polls,
        "cpu_per_poll_us": cpu / max(polls, 1) * 1e6,
        "cpu_s": cpu,
        "wall_s": wall,
        "rss_per_run_kb": (rss1 - rss0) / n,
        "rss0_mb": rss0 / 1024,
        "max_lag_ms": max(lags, default=0.0) * 1000,
        "ramp_lag_ms": ramp_lag * 1000,
        "p99_lag_ms": sorted(lags)[int(0.99 * (len(lags) - 1))] * 1000 if lags else 0.0,
        "delivered": delivered,
        "expected": n,
        "connections": health["connections"]["opened_total"] - before_conns,
        "gc_freeze": freeze,
        "burst": burst,
        "gen2_collections": len(gc_pauses),
        "max_gen2_ms": max(gc_pauses, default=0.0) * 1000,
        "base_gc_ms": base_gc_ms,
    }


def child(args: list[str]) -> None:
    import logging

    params = json.loads(args[0])
    # A real triggerer logs state changes; here logging would only measure the console.
    logging.disable(logging.INFO)
    result = asyncio.run(_scenario(**params))
    print("RESULT " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------------- parent side


def run_scenario(
    design: str,
    n: int,
    rate: float,
    url: str,
    pool: int | None = None,
    freeze: bool = False,
    burst: bool = False,
) -> dict[str, Any]:
    env = airflow_env()
    params = {
        "design": design,
        "n": n,
        "rate": rate,
        "url": url,
        "pool": pool,
        "freeze": freeze,
        "burst": burst,
    }
    timeout = 3 * n / rate + 120
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(params)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"scenario {design} N={n} failed ({proc.returncode}): {proc.stderr[-3000:]}")


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=None, help="comma-separated N (default 100,1000,5000; --quick 20,100)"
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="requests per second the emulator should see"
    )
    parser.add_argument(
        "--naive-sizes", default=None, help="N for the naive baseline (default: the same as --sizes)"
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=None,
        help="N for the restart scenario: all triggers start at once (default 1000)",
    )
    parser.add_argument(
        "--pools", default="", help="also run the restart scenario with these request-slot/pool sizes"
    )
    parser.add_argument(
        "--gc-freeze",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the largest N of ours after gc.freeze(), as Airflow's DAG processor and "
        "LocalExecutor do: the startup heap out of the collector's way (default: on)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in (args.sizes or ("20,100" if args.quick else "100,1000,5000")).split(",")]
    naive_sizes = [int(s) for s in args.naive_sizes.split(",")] if args.naive_sizes else sizes
    rate = args.rate * (0.5 if args.quick else 1.0)
    print_header("Trigger scale: concurrent WorkflowRunTriggers in one event loop", args.quick)
    print(
        f"request rate {rate:.0f}/s: poll interval = N / {rate:.0f} s; runs succeed 1.5 intervals after start"
    )

    os.environ.update(airflow_env())
    sys.path.insert(0, os.path.dirname(__file__))
    from _emulator import emulator_process

    results: list[dict[str, Any]] = []
    with emulator_process() as emulator:
        for n in sizes:
            for design in DESIGNS:
                if design == "naive" and n not in naive_sizes:
                    continue
                results.append(run_scenario(design, n, rate, emulator.url, None))
                r = results[-1]
                print(f"  done: {design} N={n} in {r['wall_s']:.1f} s", flush=True)
        burst_n = args.burst or (20 if args.quick else 1000)
        results.append(run_scenario("ours", burst_n, rate, emulator.url, burst=True))
        for pool in [int(p) for p in args.pools.split(",") if p]:
            results.append(run_scenario("ours", burst_n, rate, emulator.url, pool, burst=True))
        if args.gc_freeze:
            results.append(run_scenario("ours", max(sizes), rate, emulator.url, freeze=True))

    rows = [
        [
            r["design"]
            + (" restart (all at once)" if r["burst"] else "")
            + (f", {r['pool']} slots" if r["pool"] else "")
            + (" + gc.freeze" if r["gc_freeze"] else ""),
            r["n"],
            f"{r['interval']:.2f}",
            r["polls"],
            f"{r['cpu_per_poll_us']:.0f}",
            f"{r['rss_per_run_kb']:.1f}",
            f"{r['max_lag_ms']:.1f}",
            f"{r['p99_lag_ms']:.1f}",
            f"{r['delivered']}/{r['expected']}",
            r["connections"],
            f"{r['gen2_collections']} ({r['max_gen2_ms']:.0f})",
            f"{r['base_gc_ms']:.0f}",
            f"{r['wall_s']:.1f}",
        ]
        for r in results
    ]
    print_table(
        [
            "design",
            "N",
            "poll interval s",
            "polls",
            "CPU µs/poll",
            "RSS KB/waiting run",
            "max loop lag ms",
            "p99 loop lag ms",
            "events",
            "TCP conns",
            "full GCs (max ms)",
            "full GC before triggers ms",
            "wall s",
        ],
        rows,
        title=f"N concurrent WeData triggers, one event loop, emulator at {rate:.0f} req/s in a separate process",
    )

    verdicts = Verdicts()
    by = {(r["design"], r["n"]): r for r in results if not (r["pool"] or r["gc_freeze"] or r["burst"])}
    for n in sizes:
        ours, naive = by.get(("ours", n)), by.get(("naive", n))
        if ours and naive:
            ratio_line(f"N={n} naive/ours CPU per poll", naive["cpu_per_poll_us"] / ours["cpu_per_poll_us"])
            ratio_line(
                f"N={n} naive/ours RSS per waiting run",
                naive["rss_per_run_kb"] / max(ours["rss_per_run_kb"], 0.1),
            )
    largest = by[("ours", max(sizes))]
    n = largest["n"]
    verdicts.check(
        largest["max_lag_ms"] < LAG_TARGET_MS,
        f"{n} waiting runs: max loop lag < {LAG_TARGET_MS:.0f} ms",
        f"{largest['max_lag_ms']:.1f} ms",
    )
    frozen = next((r for r in results if r["gc_freeze"]), None)
    if frozen is not None:
        verdicts.check(
            frozen["max_lag_ms"] < LAG_TARGET_MS,
            f"{frozen['n']} waiting runs in a triggerer that called gc.freeze(): max loop lag < "
            f"{LAG_TARGET_MS:.0f} ms",
            f"{frozen['max_lag_ms']:.1f} ms",
        )
    verdicts.check(
        largest["delivered"] == largest["expected"],
        f"{n} waiting runs: every event delivered",
        f"{largest['delivered']}/{largest['expected']}",
    )
    verdicts.check(
        largest["rss_per_run_kb"] < RSS_TARGET_KB,
        f"{n} waiting runs: RSS per waiting run < {RSS_TARGET_KB:.0f} KB",
        f"{largest['rss_per_run_kb']:.1f} KB",
    )
    for r in results:
        if r["burst"] and not r["pool"]:
            verdicts.check(
                r["delivered"] == r["expected"],
                f"restart with {r['n']} triggers at once: every event delivered",
                f"{r['delivered']}/{r['expected']} in {r['wall_s']:.1f} s, {r['cpu_per_poll_us']:.0f} µs CPU/poll",
            )
    return verdicts.exit_code(args.strict)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        sys.exit(main())
