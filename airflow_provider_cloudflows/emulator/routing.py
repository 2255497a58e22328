"""Which service a vendor request goes to, decided by the protocol bases themselves.

The router knows no protocol. It asks each protocol base in turn (`routing_rank`): Tencent API
3.0 claims requests by X-TC-Action / X-TC-Version and routes by version, Alibaba RPC claims them
by x-acs-action / x-acs-version or the legacy Action parameter and routes by version, COS/CI
routes by path. A request none claims gets the answer of the first protocol that gives one
(`unclaimed`): Alibaba's at the root path, COS's NoSuchResource elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.services import protocol_bases
from airflow_provider_cloudflows.emulator.services.base import RoutingError, Service, Target


class Router:
    """Routes vendor requests among `services`, asking every protocol products.py names (and each
    service's own), so a request in a protocol none of the services speak still gets that
    protocol's error."""

    def __init__(self, services: Iterable[Service]) -> None:
        self.services = list(services)
        bases = dict.fromkeys([*protocol_bases(), *(type(s).protocol_base for s in self.services)])
        self._protocols: list[tuple[type[Service], Any]] = []
        for base in sorted((b for b in bases if b is not None), key=lambda b: b.routing_rank):
            own = [s for s in self.services if type(s).protocol_base is base]
            self._protocols.append((base, base.routing_table(own)))

    def resolve(self, req: IncomingRequest) -> Target | RoutingError:
        for base, table in self._protocols:
            found = base.resolve(req, table)
            if found is not None:
                return found
        for base, _ in self._protocols:
            error = base.unclaimed(req)
            if error is not None:
                return error
        raise LookupError(f"no protocol answers {req.method} {req.path}")

    def summary(self) -> list[Mapping[str, object]]:
        """Each service's vendor, protocol, version and actions (GET /_emulator/health)."""
        return [
            {
                "vendor": s.vendor,
                "protocol": s.protocol,
                "version": getattr(s, "version", None),
                "actions": sorted(spec.name for spec in s.actions.values()),
            }
            for s in self.services
        ]
