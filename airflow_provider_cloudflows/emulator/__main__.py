"""`python -m airflow_provider_cloudflows.emulator --host 127.0.0.1 --port 8790 [--config runs.json] [--seed N]`"""

from __future__ import annotations

import argparse
import sys

from airflow_provider_cloudflows.emulator.config import EmulatorConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_cloudflows.emulator",
        description="Local emulator of Alibaba Cloud ICE/DataWorks and Tencent WeData/Cloud Infinite.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790, help="0 picks a free port (printed on start)")
    parser.add_argument("--config", help="JSON file: credentials, preloaded runs, faults")
    parser.add_argument("--seed", type=int, help="seed for generated run ids and fault draws")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from airflow_provider_cloudflows.emulator.server import announce_ready, describe, serve

    args = parse_args(argv)
    config = EmulatorConfig.from_file(args.config) if args.config else EmulatorConfig()
    if args.seed is not None:
        config = config.model_copy(update={"seed": args.seed})
        if config.faults is not None:
            config.faults = config.faults.model_copy(update={"seed": args.seed})
    print(f"cloudflows emulator config: {describe(config)}", file=sys.stderr, flush=True)
    serve(config, args.host, args.port, log_level=args.log_level, announce=announce_ready)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
