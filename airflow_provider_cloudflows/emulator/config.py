"""Emulator configuration: credentials per signature family, preloaded scripted runs, faults.

The vendors (one per product) and the families (one per connection type) come from products.py.

The demo credentials below are public on purpose: they only open the local emulator, and
users' tests and the example DAGs can rely on them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_provider_cloudflows.products import CONNECTION_TYPES, PRODUCTS

ALIBABA_DEMO_ACCESS_KEY_ID = "LTAI5tCloudflowsEmulator"
ALIBABA_DEMO_ACCESS_KEY_SECRET = "emulator-alibaba-secret-0123456789"
# An STS triple: temporary key id, secret and the security token that must come with it.
ALIBABA_DEMO_STS_ACCESS_KEY_ID = "STS.CloudflowsEmulatorTemporary"
ALIBABA_DEMO_STS_ACCESS_KEY_SECRET = "emulator-alibaba-sts-secret-0123456789"
ALIBABA_DEMO_STS_SECURITY_TOKEN = "emulator-alibaba-sts-token-0123456789"

TENCENT_DEMO_SECRET_ID = "AKIDCloudflowsEmulator0123456789"
TENCENT_DEMO_SECRET_KEY = "emulator-tencent-secret-0123456789"
TENCENT_DEMO_STS_SECRET_ID = "AKIDCloudflowsEmulatorSts0123456"
TENCENT_DEMO_STS_SECRET_KEY = "emulator-tencent-sts-secret-0123456789"
TENCENT_DEMO_STS_TOKEN = "emulator-tencent-sts-token-0123456789"

# Store keys of the products' runs (also the request log's and the fault filter's vendor names).
VENDORS: tuple[str, ...] = tuple(PRODUCTS)
# Credential tables, one per connection type: the EmulatorConfig field of that name holds each.
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(c.emulator_family for c in CONNECTION_TYPES.values()))
FAULT_KINDS = ("http500", "http502", "http503", "throttle", "reset", "slow", "truncated", "malformed")


class CredentialConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(repr=False)
    security_token: str | None = Field(default=None, repr=False)
    # Actions this key is not allowed to call: the vendor's permission error (RAM / CAM / COS
    # policy) after a valid signature, so tests can see what a key without the policy gets.
    denied_actions: list[str] = Field(default_factory=list)


def _demo_alibaba() -> dict[str, CredentialConfig]:
    return {
        ALIBABA_DEMO_ACCESS_KEY_ID: CredentialConfig(secret=ALIBABA_DEMO_ACCESS_KEY_SECRET),
        ALIBABA_DEMO_STS_ACCESS_KEY_ID: CredentialConfig(
            secret=ALIBABA_DEMO_STS_ACCESS_KEY_SECRET, security_token=ALIBABA_DEMO_STS_SECURITY_TOKEN
        ),
    }


def _demo_tencent() -> dict[str, CredentialConfig]:
    return {
        TENCENT_DEMO_SECRET_ID: CredentialConfig(secret=TENCENT_DEMO_SECRET_KEY),
        TENCENT_DEMO_STS_SECRET_ID: CredentialConfig(
            secret=TENCENT_DEMO_STS_SECRET_KEY, security_token=TENCENT_DEMO_STS_TOKEN
        ),
    }


class ScriptedTaskRunSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    task_id: str | None = None
    states: list[str] = Field(min_length=1)
    error_code: str | None = None
    error_message: str | None = None
    fields: dict[str, object] = Field(default_factory=dict)
    # The task run's log text, served by the vendor's log API (DataWorks GetTaskInstanceLog);
    # without one the emulator writes a few lines naming the task run and its state.
    log: str | None = None


class ScriptedRunSpec(BaseModel):
    """One run to script; the JSON form of store.ScriptedRun."""

    model_config = ConfigDict(extra="forbid")

    vendor: str
    run_id: str
    states: list[str] = Field(min_length=1)
    advance: Literal["poll", "time"] = "poll"
    step_seconds: float = Field(default=1.0, gt=0)
    task_runs: list[ScriptedTaskRunSpec] = Field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    fields: dict[str, object] = Field(default_factory=dict)
    # Wall-clock creation time (epoch seconds); now when omitted.
    created_at: float | None = None
    # Wall-clock time (epoch seconds) the run reaches its last state and finishes: "the 02:00
    # run finished". Until then it walks its other states as `advance` says.
    finishes_at: float | None = None
    # The raw state the run ends in when it is rerun (default: the vendor's success state).
    rerun_outcome: str | None = None

    @field_validator("vendor")
    @classmethod
    def _known_vendor(cls, value: str) -> str:
        if value not in VENDORS:
            raise ValueError(f"vendor must be one of {', '.join(VENDORS)}")
        return value


class FaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int = 0
    kinds: list[str] = Field(default_factory=lambda: list(FAULT_KINDS), min_length=1)
    vendors: list[str] | None = None
    slow_seconds: float = Field(default=2.0, ge=0.0)
    # Wait the Alibaba throttling response asks for (x-acs-retry-after, milliseconds).
    retry_after_ms: int = Field(default=500, ge=0)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
        return value

    @field_validator("vendors")
    @classmethod
    def _known_vendors(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = sorted(set(value) - set(VENDORS))
            if unknown:
                raise ValueError(f"unknown vendors {unknown}; known: {', '.join(VENDORS)}")
        return value


class EmulatorConfig(BaseModel):
    """The whole emulator configuration (the `--config` JSON file has this shape)."""

    model_config = ConfigDict(extra="forbid")

    alibabacloud: dict[str, CredentialConfig] = Field(default_factory=_demo_alibaba)
    tencentcloud: dict[str, CredentialConfig] = Field(default_factory=_demo_tencent)
    runs: list[ScriptedRunSpec] = Field(default_factory=list)
    faults: FaultConfig | None = None
    # Seeds generated run ids (and the fault draws when `faults.seed` is not given).
    seed: int = 0
    # Allowed clock skew for signed requests, per family (the vendors' own limits by default).
    alibaba_max_skew_seconds: int = 900
    tencent_max_skew_seconds: int = 300
    # A test server: it listens on loopback only unless this is set (CLI: --allow-non-loopback).
    allow_non_loopback: bool = False
    # Host names besides loopback names and IP addresses the control API answers to (e.g. a
    # compose service name); a request to any other name is refused (DNS rebinding).
    control_allowed_hosts: list[str] = Field(default_factory=list)
    # The largest request body read, vendor or control API; beyond it the answer is HTTP 413.
    max_request_body_bytes: int = Field(default=1024 * 1024, gt=0)

    def credentials_of(self, family: str) -> dict[str, CredentialConfig]:
        """The credential table of one family (a name in FAMILIES)."""
        if family not in FAMILIES:
            raise ValueError(f"unknown credential family {family!r}")
        return getattr(self, family)

    @classmethod
    def from_file(cls, path: str | Path) -> EmulatorConfig:
        return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_json(self) -> str:
        """Full JSON including secrets (used to hand the config to a child process)."""
        return json.dumps(self.model_dump(mode="json"), indent=2)
