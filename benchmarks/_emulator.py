"""The emulator side of the benchmarks: a separate process, the demo credentials, frozen runs.

The emulator always runs in its own process so its CPU never lands in the client's
`process_time` and the two do not share a GIL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ALIBABA_REGION = "cn-shanghai"
WEDATA_REGION = "ap-guangzhou"


@contextmanager
def emulator_process() -> Iterator[Any]:
    """An emulator in a child process, with AIRFLOW_CONN_*_DEFAULT aimed at it in this process."""
    from airflow_provider_cloudflows.emulator import config
    from airflow_provider_cloudflows.emulator.server import run_subprocess

    emulator = run_subprocess()
    try:
        os.environ["AIRFLOW_CONN_ALIBABACLOUD_DEFAULT"] = connection_json(
            "alibabacloud",
            config.ALIBABA_DEMO_ACCESS_KEY_ID,
            config.ALIBABA_DEMO_ACCESS_KEY_SECRET,
            region=ALIBABA_REGION,
            endpoint=emulator.url,
        )
        os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = connection_json(
            "tencentcloud",
            config.TENCENT_DEMO_SECRET_ID,
            config.TENCENT_DEMO_SECRET_KEY,
            region=WEDATA_REGION,
            endpoint=emulator.url,
        )
        yield emulator
    finally:
        emulator.stop()


def connection_json(conn_type: str, login: str, password: str, **extra: Any) -> str:
    return json.dumps({"conn_type": conn_type, "login": login, "password": password, "extra": extra})


def frozen(spec: dict[str, Any], step: int = 1) -> dict[str, Any]:
    """A scripted run held at one step of its script forever (the run and each task run).

    Every read then returns the same payload, so each client parses exactly the same bytes.
    """
    from airflow_provider_cloudflows.emulator.services.base import held_at

    return held_at(spec, step)


def rss_kib() -> int:
    """Current resident set size of this process (KiB), from /proc (no psutil needed)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")
