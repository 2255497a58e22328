"""What every emulated vendor service shares: action declaration, the call object, errors.

A vendor service subclasses one protocol base (AlibabaRpcService, TencentApi3Service,
CosXmlService) and declares its actions with `@action(...)` (or `@route(...)` for the
path-routed COS/CI API). The protocol base verifies the signature, parses parameters,
checks required ones, calls the handler and renders the result or error in the vendor's
own shape (`success_response`, and `error_response` for every error, each written once per
protocol). It also tells the router which requests are its own (`resolve`, `unclaimed`).

    class IceService(AlibabaRpcService):
        vendor = "ice"                      # store key, request log, fault filter
        version = "2020-11-09"              # routing: x-acs-version / Version
        product = "ICE"                     # Recommend link in errors
        not_found_code = "InvalidParameter.TaskNotFound"   # what RunNotFound becomes,
        not_found_message = "The task {run_id} does not exist."   # in the protocol's shape

        @action("GetWorkflowTask", required=("TaskId",))
        async def get_workflow_task(self, call: Call) -> dict:
            snap = self.store.observe(self.vendor, call.params["TaskId"])  # RunNotFound -> 404
            call.run_id = snap.run_id       # recorded in the request log
            if snap.state == "Bad":
                raise ServiceError("Forbidden", "Not allowed.", 403)
            return {"WorkflowTask": {"TaskId": snap.run_id, "Status": snap.state,
                                     "CreateTime": iso8601_utc(snap.created_at)}}

A handler returns the body without RequestId (the base adds it) or a starlette Response.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from starlette.responses import Response

from airflow_provider_cloudflows.emulator.clock import ci_time, epoch_ms, epoch_ms_str, iso8601_utc
from airflow_provider_cloudflows.emulator.request import IncomingRequest
from airflow_provider_cloudflows.emulator.requestlog import RequestRecord
from airflow_provider_cloudflows.emulator.store import RunNotFound, RunStore
from airflow_provider_cloudflows.emulator.verify import Credential, SignatureRejected

if TYPE_CHECKING:
    from airflow_provider_cloudflows.emulator.state import EmulatorState

__all__ = [
    "ActionSpec",
    "Call",
    "IncomingRequest",
    "RoutingError",
    "RunNotFound",
    "Service",
    "ServiceError",
    "Target",
    "VersionRoutedService",
    "action",
    "ci_time",
    "epoch_ms",
    "epoch_ms_str",
    "iso8601_utc",
    "json_bytes",
    "json_text",
    "route",
]

log = logging.getLogger(__name__)

Handler = Callable[[Any, "Call"], Awaitable[Any]]
F = TypeVar("F", bound=Handler)

_GATEWAY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>gateway</center>\r\n</body>\r\n</html>\r\n"
)


class ServiceError(Exception):
    """Raise from a handler to answer with the vendor's error shape."""

    def __init__(
        self, code: str, message: str, http_status: int = 400, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the vendor's action name (also what the request log shows)
    func_name: str
    required: tuple[str, ...] = ()
    methods: tuple[str, ...] | None = None  # None: any method
    path: str | None = None  # path template, path-routed services only
    pattern: re.Pattern[str] | None = None


def action(
    name: str, *, required: Sequence[str] = (), methods: Sequence[str] | None = None
) -> Callable[[F], F]:
    """Declare an RPC action handler: `async def handler(self, call: Call) -> dict`."""

    def mark(func: F) -> F:
        func.__emulator_action__ = ActionSpec(  # type: ignore[attr-defined]
            name=name,
            func_name=func.__name__,
            required=tuple(required),
            methods=None if methods is None else tuple(m.upper() for m in methods),
        )
        return func

    return mark


def _compile_path(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}/?$")


def route(method: str, path: str, *, action: str, required: Sequence[str] = ()) -> Callable[[F], F]:
    """Declare a path-routed handler, e.g. `@route("GET", "/workflowexecution/{run_id}", action=...)`.

    `{name}` segments arrive in `call.path_params`; `required` names query parameters.
    """

    def mark(func: F) -> F:
        func.__emulator_action__ = ActionSpec(  # type: ignore[attr-defined]
            name=action,
            func_name=func.__name__,
            required=tuple(required),
            methods=(method.upper(),),
            path=path,
            pattern=_compile_path(path),
        )
        return func

    return mark


@dataclass
class Call:
    """One verified request, as a handler sees it."""

    service: Service
    action: str
    params: dict[str, Any]
    request: IncomingRequest
    request_id: str
    key_id: str
    now: float  # wall clock, epoch seconds
    region: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    # Set by the handler to the run it served; the request log records it.
    run_id: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def require(self, name: str) -> Any:
        value = self.params.get(name)
        if value is None or value == "":
            raise self.service.missing_parameter(name)
        return value

    def int_param(self, name: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise self.service.invalid_parameter(name, value) from None
        if minimum is not None and number < minimum:
            raise self.service.invalid_parameter(name, value)
        return number

    def json_param(self, name: str, default: Any = None) -> Any:
        """A parameter sent as a JSON string (Alibaba lists such as `Ids=[1,2]`)."""
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise self.service.invalid_parameter(name, value) from None


@dataclass(frozen=True)
class Target:
    """Where the router sent a request: a service, and the action when already known."""

    service: Service
    spec: ActionSpec | None = None
    action_name: str | None = None
    path_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RoutingError:
    """A request no service takes, answered in the shape of the protocol it spoke."""

    protocol: type[Service]
    error: ServiceError

    @property
    def code(self) -> str:
        return self.error.code

    def response(self, req: IncomingRequest) -> Response:
        return self.protocol.error_response(self.error, req, self.protocol.new_request_id())


class Service:
    """Base of every emulated service; subclass a protocol base rather than this."""

    vendor: ClassVar[str] = ""  # "ice", "dataworks", "wedata", "cloud_infinite"
    family: ClassVar[str] = ""  # credential family, set by the protocol base
    protocol: ClassVar[str] = ""
    # The class that set `protocol` (AlibabaRpcService, ...): the router asks it about requests.
    protocol_base: ClassVar[type[Service] | None] = None
    # Every protocol base by its `protocol`, as each is defined.
    protocol_bases: ClassVar[dict[str, type[Service]]] = {}
    # What a handler's RunNotFound becomes: the vendor's code and wording, the protocol's status.
    not_found_code: ClassVar[str] = "ResourceNotFound"
    not_found_message: ClassVar[str] = "The specified resource {run_id} does not exist."
    not_found_status: ClassVar[int] = 404
    actions: ClassVar[dict[str, ActionSpec]] = {}

    # ------------------------------------------------------------------ declaration

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, ActionSpec] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                spec = getattr(value, "__emulator_action__", None)
                if isinstance(spec, ActionSpec):
                    specs[spec.name if spec.path is None else f"{spec.methods}{spec.path}"] = spec
        cls.actions = specs
        if "protocol" in vars(cls):
            cls.protocol_base = cls
            Service.protocol_bases[cls.protocol] = cls

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    @property
    def store(self) -> RunStore:
        return self.state.store

    @property
    def credentials(self) -> Mapping[str, Credential]:
        return self.state.credentials[self.family]

    # ------------------------------------------------------------------ routing (protocol bases)
    # The router knows no protocol: it asks each protocol base, lowest `routing_rank` first,
    # whether a request is in its protocol and which of its services takes it.

    routing_rank: ClassVar[int] = 100

    @classmethod
    def routing_table(cls, services: Sequence[Service]) -> Any:
        """What `resolve` looks requests up in, built once from this protocol's services."""
        return list(services)

    @classmethod
    def resolve(cls, req: IncomingRequest, table: Any) -> Target | RoutingError | None:
        """Where a request of this protocol goes, or why nowhere; None: not this protocol's request."""
        return None

    @classmethod
    def unclaimed(cls, req: IncomingRequest) -> RoutingError | None:
        """This protocol's answer to a request no protocol took, when the answer is its to give."""
        return None

    # ------------------------------------------------------------------ protocol hooks

    def verify(self, req: IncomingRequest, now: float) -> str:
        """Check the signature; return the key id or raise SignatureRejected."""
        raise NotImplementedError

    def parse(self, req: IncomingRequest, target: Target) -> tuple[ActionSpec, dict[str, Any], str | None]:
        """(action spec, params, region) or raise ServiceError."""
        raise NotImplementedError

    def success_response(self, result: Any, call: Call) -> Response:
        raise NotImplementedError

    @classmethod
    def new_request_id(cls) -> str:
        return str(uuid.uuid4()).upper()

    @classmethod
    def error_response(cls, error: ServiceError, req: IncomingRequest, request_id: str) -> Response:
        """The protocol's answer to any error: a handler's, a signature's, a fault's or the router's.

        Each protocol base writes this once; nothing else renders an error.
        """
        raise NotImplementedError

    @classmethod
    def throttle_error(cls, retry_after_ms: int) -> ServiceError:
        raise NotImplementedError

    # (code, message, HTTP status) when a valid key lacks the permission for an action.
    permission_error: ClassVar[tuple[str, str, int]] = ("AccessDenied", "Access Denied.", 403)
    # (code, message, HTTP status) for the http500/http503 faults.
    fault_errors: ClassVar[dict[str, tuple[str, str, int]]] = {}
    media_type: ClassVar[str] = "application/json"

    @classmethod
    def malformed_body(cls, request_id: str) -> bytes:
        raise NotImplementedError

    # ------------------------------------------------------------------ errors handlers raise

    def missing_parameter(self, name: str) -> ServiceError:
        return ServiceError("MissingParameter", f"The request is missing a required parameter {name}.", 400)

    def invalid_parameter(self, name: str, value: Any) -> ServiceError:
        return ServiceError("InvalidParameter", f"The parameter {name} has an invalid value {value!r}.", 400)

    def not_found(self, exc: RunNotFound) -> ServiceError:
        message = self.not_found_message.format(run_id=exc.run_id)
        return ServiceError(self.not_found_code, message, self.not_found_status)

    # ------------------------------------------------------------------ the request cycle

    def _error(
        self, exc: ServiceError, request_id: str, req: IncomingRequest, record: RequestRecord
    ) -> Response:
        record.error_code = exc.code
        return self.error_response(exc, req, request_id)

    async def handle(self, req: IncomingRequest, target: Target, record: RequestRecord) -> Response:
        request_id = self.new_request_id()
        now = self.state.clock()
        try:
            try:
                spec, params, region = self.parse(req, target)
            finally:
                # Even a request refused below is logged under the action it asked for.
                record.action = record.action or target.action_name
            record.action = spec.name
            if spec.methods is not None and req.method.upper() not in spec.methods:
                raise self.method_not_allowed(req.method)
            record.key_id = self.verify(req, now)
            if spec.name in self.state.denied(self.family, record.key_id):
                raise ServiceError(*self.permission_error)
            for name in spec.required:
                if params.get(name) is None or params.get(name) == "":
                    raise self.missing_parameter(name)
            call = Call(
                service=self,
                action=spec.name,
                params=params,
                request=req,
                request_id=request_id,
                key_id=record.key_id,
                now=now,
                region=region,
                path_params=dict(target.path_params),
            )
            handler = getattr(self, spec.func_name)
            try:
                result = await handler(call)
            finally:
                record.run_id = call.run_id
            if isinstance(result, Response):
                return result
            return self.success_response(result, call)
        except SignatureRejected as exc:
            return self._error(ServiceError(exc.code, exc.message, exc.http_status), request_id, req, record)
        except ServiceError as exc:
            return self._error(exc, request_id, req, record)
        except RunNotFound as exc:
            record.run_id = record.run_id or exc.run_id
            return self._error(self.not_found(exc), request_id, req, record)
        except Exception:
            log.exception("emulated %s action %s failed", self.vendor, record.action)
            code, message, status = self.fault_errors["http500"]
            return self._error(ServiceError(code, message, status), request_id, req, record)

    def method_not_allowed(self, method: str) -> ServiceError:
        return ServiceError("MethodNotAllowed", f"The method {method} is not allowed for this action.", 405)

    # ------------------------------------------------------------------ faults

    @classmethod
    def fault_response(cls, kind: str, req: IncomingRequest, retry_after_ms: int) -> Response:
        """The response for a fault that replaces handling (http5xx, throttle, malformed)."""
        request_id = cls.new_request_id()
        if kind == "http502":
            return Response(_GATEWAY_502, status_code=502, media_type="text/html")
        if kind == "malformed":
            return Response(cls.malformed_body(request_id), status_code=200, media_type=cls.media_type)
        if kind == "throttle":
            exc = cls.throttle_error(retry_after_ms)
        else:
            exc = ServiceError(*cls.fault_errors[kind])
        return cls.error_response(exc, req, request_id)


class VersionRoutedService(Service):
    """A protocol whose requests name an action and an API version (Alibaba RPC, Tencent API 3.0).

    The protocol base says how a request names them (`action_and_version`) and how the gateway
    answers when it cannot place one (`routing_errors`); each service serves its `version`.
    """

    version: ClassVar[str] = ""  # e.g. "2020-11-09"
    # (code, message, HTTP status) for "missing_action", "missing_version" and "unknown_version"
    # (whose message may name the {version}).
    routing_errors: ClassVar[Mapping[str, tuple[str, str, int]]] = {}

    @classmethod
    def action_and_version(cls, req: IncomingRequest) -> tuple[str | None, str | None] | None:
        """(action, version) as the request names them; None when it is not in this protocol."""
        raise NotImplementedError

    @classmethod
    def routing_table(cls, services: Sequence[Service]) -> dict[str, Service]:
        table: dict[str, Service] = {}
        for service in services:
            version = type(service).version  # type: ignore[attr-defined]
            other = table.get(version)
            if other is not None:
                raise ValueError(f"{type(service).__name__} and {type(other).__name__} both serve {version}")
            table[version] = service
        return table

    @classmethod
    def resolve(cls, req: IncomingRequest, table: Mapping[str, Service]) -> Target | RoutingError | None:
        named = cls.action_and_version(req)
        if named is None:
            return None
        action, version = named
        if not action:
            return cls._unroutable("missing_action")
        if not version:
            return cls._unroutable("missing_version")
        service = table.get(version)
        if service is None:
            return cls._unroutable("unknown_version", version=version)
        return Target(service, action_name=action)

    @classmethod
    def _unroutable(cls, why: str, **names: str) -> RoutingError:
        code, message, status = cls.routing_errors[why]
        return RoutingError(cls, ServiceError(code, message.format(**names), status))


def json_text(document: Any) -> str:
    """Compact JSON as the vendors write it, also inside string fields (UTF-8 kept as is)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def json_bytes(document: Any) -> bytes:
    return json_text(document).encode("utf-8")


def held_at(spec: dict[str, Any], step: int = -1) -> dict[str, Any]:
    """A run spec held at one step of its script (the run and each task run) for every read.

    `held_at(spec)` is a run that is already finished at its first read, whatever the machine's
    speed: no poll count or clock decides what a test sees.
    """

    def at(states: list[Any]) -> list[Any]:
        return [states[step if step < 0 else min(step, len(states) - 1)]]

    return dict(
        spec,
        advance="poll",
        states=at(spec["states"]),
        task_runs=[dict(task, states=at(task["states"])) for task in spec.get("task_runs", [])],
    )
