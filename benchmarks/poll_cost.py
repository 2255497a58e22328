"""Poll cost: client CPU and wall time of one synchronous `get_run`, ours vs the official SDKs.

Each poll a sensor makes in `poke`/`reschedule` mode costs a worker this much. The emulator
runs in a separate process (its CPU is not counted), each run is frozen so every client reads
exactly the same payload, and clients take turns in blocks of 50 calls so drift in machine
load hits them all alike. Per call we record `time.process_time()` (CPU of this process) and
`time.perf_counter()` (wall) deltas, and report medians and p90.

Clients, per vendor:
- ours: the hook's `get_run` (signs, sends on the hook's keep-alive pool, parses into a
  WorkflowRun); built once, as a sensor builds it once per task try.
- sdk: the official SDK's client for the same action, built once, result read to the state.
- floor: bare, unsigned `httpx.Client.get`s of the emulator's `/_emulator/bytes?size=N`, one per
  request the hook sends, each N the size of the body that request gets back (measured first),
  body not parsed: the least any HTTP client pays to move the same bytes.

DataWorks reads its run with one call (GetWorkflowInstance) and its task instances with a
second (ListTaskInstances); the table compares the single call with the SDK's single call and
shows the two-call read (ours with task runs vs the SDK's two calls) on a separate row.

Targets: every hook's CPU per call at or below its SDK's, and within 1.3x of the floor.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _common import (
    Verdicts,
    base_parser,
    median,
    percentile,
    print_header,
    print_table,
    ratio_line,
    use_airflow_env,
)

use_airflow_env()

from _emulator import ALIBABA_REGION, WEDATA_REGION, emulator_process, frozen  # noqa: E402

SDK_TARGET = 1.0
FLOOR_TARGET = 1.3
BLOCK = 50


@dataclass
class Client:
    vendor: str
    kind: str  # "ours", "sdk", "floor"
    label: str
    call: Callable[[], Any]
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def measure(self, n: int) -> None:
        call, cpu, wall = self.call, self.cpu, self.wall
        pt, pc = time.process_time, time.perf_counter
        for _ in range(n):
            c0, w0 = pt(), pc()
            call()
            w1, c1 = pc(), pt()
            cpu.append(c1 - c0)
            wall.append(w1 - w0)


def script_runs(control: Any) -> dict[str, Any]:
    """One frozen, running run per vendor; returns the ids and parameters the clients need."""
    from airflow_provider_cloudflows.emulator.services import cloud_infinite, dataworks, ice, wedata

    bizdate = dataworks.default_bizdate(time.time())
    dw_spec = dataworks.demo_runs()[0]
    specs = [
        frozen(ice.task_spec("bench0000000000000000000000000001", outcome="Succeed")),
        frozen(dict(dw_spec, run_id="7001"), step=3),
        frozen(wedata.run_spec("bench-0000-0000-0000-000000000001", "SUCCESS")),
        frozen(
            cloud_infinite.execution_spec("ibench00000000000000000000000001", object_key="input/bench.mp4")
        ),
    ]
    control.script_runs(specs)
    return {
        "ice": specs[0]["run_id"],
        "dataworks": 7001,
        "dataworks_bizdate": bizdate,
        "dataworks_project": dataworks.DEMO_PROJECT_ID,
        "wedata": specs[2]["run_id"],
        "wedata_project": specs[2]["fields"]["ProjectId"],
        "cloud_infinite": specs[3]["run_id"],
        "bucket": cloud_infinite.DEMO_BUCKET,
        "ci_region": cloud_infinite.DEMO_REGION,
    }


def response_sizes(hook: Any, call: Callable[[], Any]) -> list[int]:
    """Body sizes of the responses one `call` of `hook` receives, one per request it sends."""
    import httpx

    sizes: list[int] = []
    router = hook.transport

    from airflow_provider_cloudflows.hooks.transport import PoolTransport

    class Measuring(PoolTransport):
        def __init__(self, inner: PoolTransport) -> None:
            self.inner, self.pool = inner, inner.pool

        def read(self, request: httpx.Request, limits: Any) -> httpx.Response:
            response = self.inner.read(request, limits)
            sizes.append(len(response.content))
            return response

    hook.__dict__["transport"] = lambda u: Measuring(router(u))
    try:
        call()
    finally:
        hook.__dict__["transport"] = router
    return sizes


def build_clients(url: str, ids: dict[str, Any]) -> list[Client]:
    import httpx
    from alibabacloud_dataworks_public20240518 import models as dw_models
    from alibabacloud_dataworks_public20240518.client import Client as DataWorksClient
    from alibabacloud_ice20201109 import models as ice_models
    from alibabacloud_ice20201109.client import Client as IceClient
    from alibabacloud_tea_openapi import utils_models as om
    from qcloud_cos import CosConfig, CosS3Client
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.wedata.v20250806 import models as wd_models
    from tencentcloud.wedata.v20250806 import wedata_client

    from airflow_provider_cloudflows.emulator import config
    from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
    from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
    from airflow_provider_cloudflows.hooks.ice import IceHook
    from airflow_provider_cloudflows.hooks.wedata import WeDataHook

    host_port = url.removeprefix("http://")
    ak, ask = config.ALIBABA_DEMO_ACCESS_KEY_ID, config.ALIBABA_DEMO_ACCESS_KEY_SECRET
    sid, skey = config.TENCENT_DEMO_SECRET_ID, config.TENCENT_DEMO_SECRET_KEY
    ali_cfg = om.Config(
        access_key_id=ak, access_key_secret=ask, endpoint=host_port, protocol="HTTP", region_id=ALIBABA_REGION
    )
    floor_http = httpx.Client()

    def floor(vendor: str, hook: Any, call: Callable[[], Any]) -> Client:
        """Bare GETs of as many bytes as each response `call` receives: the least any client pays."""
        sizes = response_sizes(hook, call)
        urls = [f"{url}/_emulator/bytes?size={size}" for size in sizes]
        label = " + ".join(f"{size:,} B" for size in sizes)
        return Client(
            vendor, "floor", f"httpx GET of {label} (unsigned)", lambda: [floor_http.get(u) for u in urls]
        )

    # -- ICE
    ice_hook = IceHook()
    ice_sdk = IceClient(ali_cfg)
    ice_req = ice_models.GetWorkflowTaskRequest(task_id=ids["ice"])
    # -- DataWorks
    dw_hook = DataWorksHook()
    dw_sdk = DataWorksClient(ali_cfg)
    dw_req = dw_models.GetWorkflowInstanceRequest(id=ids["dataworks"])

    def dw_sdk_with_tasks() -> Any:
        inst = dw_sdk.get_workflow_instance(dw_req).body.workflow_instance
        page = dw_sdk.list_task_instances(
            dw_models.ListTaskInstancesRequest(
                bizdate=inst.biz_date,
                project_id=inst.project_id,
                workflow_instance_id=inst.id,
                project_env=inst.env_type,
                sort_by="Id Asc",
                page_size=dw_hook.task_page_size,
                page_number=1,
            )
        ).body.paging_info
        return inst.status, [t.status for t in page.task_instances]

    # -- WeData
    wd_hook = WeDataHook()
    hp = HttpProfile()
    hp.endpoint, hp.scheme = host_port, "http"
    wd_sdk = wedata_client.WedataClient(
        credential.Credential(sid, skey), WEDATA_REGION, ClientProfile(httpProfile=hp)
    )
    wd_req = wd_models.GetTriggerWorkflowRunRequest()
    wd_req.ProjectId, wd_req.WorkflowExecutionId = str(ids["wedata_project"]), ids["wedata"]
    # -- Cloud Infinite
    ci_hook = CloudInfiniteHook(region=ids["ci_region"])
    host, port = host_port.split(":")
    ci_sdk = CosS3Client(
        CosConfig(
            Region=ids["ci_region"], SecretId=sid, SecretKey=skey, Scheme="http", IP=host, Port=int(port)
        )
    )

    return [
        Client("ice", "ours", "IceHook.get_run", lambda: ice_hook.get_run(ids["ice"]).state),
        Client(
            "ice",
            "sdk",
            "ice20201109 get_workflow_task",
            lambda: ice_sdk.get_workflow_task(ice_req).body.workflow_task.status,
        ),
        floor("ice", ice_hook, lambda: ice_hook.get_run(ids["ice"])),
        Client(
            "dataworks",
            "ours",
            "DataWorksHook.get_run(with_task_runs=False)",
            lambda: dw_hook.get_run(ids["dataworks"], with_task_runs=False).state,
        ),
        Client(
            "dataworks",
            "sdk",
            "dataworks20240518 get_workflow_instance",
            lambda: dw_sdk.get_workflow_instance(dw_req).body.workflow_instance.status,
        ),
        floor("dataworks", dw_hook, lambda: dw_hook.get_run(ids["dataworks"], with_task_runs=False)),
        Client(
            "dataworks+tasks",
            "ours",
            "DataWorksHook.get_run (2 calls)",
            lambda: dw_hook.get_run(ids["dataworks"], with_task_runs=True).state,
        ),
        Client("dataworks+tasks", "sdk", "get_workflow_instance + list_task_instances", dw_sdk_with_tasks),
        floor("dataworks+tasks", dw_hook, lambda: dw_hook.get_run(ids["dataworks"], with_task_runs=True)),
        Client(
            "wedata",
            "ours",
            "WeDataHook.get_run",
            lambda: wd_hook.get_run(ids["wedata"], project_id=ids["wedata_project"]).state,
        ),
        Client(
            "wedata",
            "sdk",
            "wedata GetTriggerWorkflowRun",
            lambda: wd_sdk.GetTriggerWorkflowRun(wd_req).Data.TriggerWorkflowRun.ExecutionState,
        ),
        floor("wedata", wd_hook, lambda: wd_hook.get_run(ids["wedata"], project_id=ids["wedata_project"])),
        Client(
            "cloud_infinite",
            "ours",
            "CloudInfiniteHook.get_run",
            lambda: ci_hook.get_run(ids["cloud_infinite"], bucket=ids["bucket"]).state,
        ),
        Client(
            "cloud_infinite",
            "sdk",
            "cos-python-sdk-v5 ci_get_workflowexecution",
            lambda: ci_sdk.ci_get_workflowexecution(Bucket=ids["bucket"], RunId=ids["cloud_infinite"]),
        ),
        floor(
            "cloud_infinite", ci_hook, lambda: ci_hook.get_run(ids["cloud_infinite"], bucket=ids["bucket"])
        ),
    ]


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=None, help="calls per client (default 1000, --quick 20)")
    args = parser.parse_args()
    n = args.n or (20 if args.quick else 1000)
    print_header("Poll cost: one synchronous get_run", args.quick)
    # The SDKs log every request at INFO/DEBUG on some paths; keep logging out of the measurement.
    logging.disable(logging.WARNING)

    with emulator_process() as emulator:
        ids = script_runs(emulator.control)
        clients = build_clients(emulator.url, ids)
        for client in clients:  # warm-up: connections, caches, lazy imports, first-call checks
            for _ in range(max(5, min(50, n // 10))):
                client.call()
        done = 0
        while done < n:
            block = min(BLOCK, n - done)
            for client in clients:
                client.measure(block)
            done += block
        requests_seen = len(emulator.control.requests())

    rows = []
    by_vendor: dict[str, dict[str, Client]] = {}
    for c in clients:
        by_vendor.setdefault(c.vendor, {})[c.kind] = c
    for vendor, kinds in by_vendor.items():
        floor_cpu = median(kinds["floor"].cpu)
        for kind in ("ours", "sdk", "floor"):
            c = kinds[kind]
            rows.append(
                [
                    vendor,
                    kind,
                    c.label,
                    f"{median(c.cpu) * 1e6:.0f}",
                    f"{percentile(c.cpu, 90) * 1e6:.0f}",
                    f"{median(c.wall) * 1e6:.0f}",
                    f"{percentile(c.wall, 90) * 1e6:.0f}",
                    f"{median(c.cpu) / floor_cpu:.2f}x",
                ]
            )
    print_table(
        [
            "API",
            "client",
            "call",
            "CPU µs median",
            "CPU µs p90",
            "wall µs median",
            "wall µs p90",
            "CPU vs floor",
        ],
        rows,
        title=f"Client cost per get_run ({n} calls each, emulator in a separate process)",
    )
    print(f"(the emulator logged {requests_seen} requests)")

    verdicts = Verdicts()
    for vendor, kinds in by_vendor.items():
        ours, sdk, floor = (median(kinds[k].cpu) for k in ("ours", "sdk", "floor"))
        ours_wall, sdk_wall = median(kinds["ours"].wall), median(kinds["sdk"].wall)
        ratio_line(f"{vendor} ours/sdk CPU", ours / sdk)
        ratio_line(f"{vendor} ours/sdk wall", ours_wall / sdk_wall)
        ratio_line(f"{vendor} ours/floor CPU", ours / floor)
    for vendor, kinds in by_vendor.items():
        ours, sdk, floor = (median(kinds[k].cpu) for k in ("ours", "sdk", "floor"))
        verdicts.check(
            ours <= sdk * SDK_TARGET, f"{vendor}: ours CPU/call <= SDK", f"{ours / sdk:.2f}x of the SDK"
        )
        verdicts.check(
            ours <= floor * FLOOR_TARGET,
            f"{vendor}: ours CPU/call <= {FLOOR_TARGET}x bare httpx",
            f"{ours / floor:.2f}x of the floor",
        )
    return verdicts.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
