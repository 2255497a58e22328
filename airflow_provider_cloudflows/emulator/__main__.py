"""`python -m airflow_provider_cloudflows.emulator --host 127.0.0.1 --port 8790 [--config runs.json]
[--demo-runs] [--seed N] [--allow-non-loopback] [--allowed-host NAME]`"""

from __future__ import annotations

import argparse
import sys

from airflow_provider_cloudflows.emulator.config import EmulatorConfig
from airflow_provider_cloudflows.emulator.guard import NonLoopbackBindError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_cloudflows.emulator",
        description="Local emulator of Alibaba Cloud ICE/DataWorks and Tencent WeData/Cloud Infinite.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790, help="0 picks a free port (printed on start)")
    parser.add_argument("--config", help="JSON file: credentials, preloaded runs, faults")
    parser.add_argument(
        "--demo-runs",
        action="store_true",
        help="preload the demo runs (the run ids the README and example DAGs use), as scripts/demo does",
    )
    parser.add_argument("--seed", type=int, help="seed for generated run ids and fault draws")
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="listen on a host beyond loopback (0.0.0.0, a LAN address): anyone who reaches it can use it",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the control API answers to besides loopback names and IP addresses (repeatable)",
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from airflow_provider_cloudflows.emulator.server import announce_ready, describe, serve

    args = parse_args(argv)
    config = EmulatorConfig.from_file(args.config) if args.config else EmulatorConfig()
    if args.demo_runs:
        from airflow_provider_cloudflows.emulator.demo import with_demo_runs

        config = with_demo_runs(config)
    if args.allow_non_loopback:
        config = config.model_copy(update={"allow_non_loopback": True})
    if args.allowed_host:
        config = config.model_copy(
            update={"control_allowed_hosts": [*config.control_allowed_hosts, *args.allowed_host]}
        )
    if args.seed is not None:
        config = config.model_copy(update={"seed": args.seed})
        if config.faults is not None:
            config.faults = config.faults.model_copy(update={"seed": args.seed})
    print(f"cloudflows emulator config: {describe(config)}", file=sys.stderr, flush=True)
    try:
        serve(config, args.host, args.port, log_level=args.log_level, announce=announce_ready)
    except NonLoopbackBindError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
