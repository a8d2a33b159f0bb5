"""The running simulator: certificates, listeners, model, UDP appenders and control in one object."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from sensebutler.simulator.about_api import AboutApi
from sensebutler.simulator.activity import Activity
from sensebutler.simulator.app_reloads import AppReloader
from sensebutler.simulator.certs import CertificatePaths, ensure_certificates, server_context
from sensebutler.simulator.control import SiteControl
from sensebutler.simulator.control_api import ControlApi
from sensebutler.simulator.engine_api import EngineApi
from sensebutler.simulator.faults import Faults
from sensebutler.simulator.listeners import ListenerGroup
from sensebutler.simulator.log4net import AppenderSpec
from sensebutler.simulator.log_events import LogEventWriter
from sensebutler.simulator.model import (
    ServerNode,
    Site,
    build_site,
)
from sensebutler.simulator.proxy_api import ProxyApi
from sensebutler.simulator.qix import QixEngine
from sensebutler.simulator.qrs_api import QrsApi, reading_collections
from sensebutler.simulator.qrs_licenses import LicenseRoutes, license_collections
from sensebutler.simulator.qrs_tasks import ScriptLogTickets, TaskRoutes, task_collections
from sensebutler.simulator.runs import TaskRunner
from sensebutler.simulator.scenario import Scenario, load_scenario
from sensebutler.simulator.sessions import Sessions
from sensebutler.simulator.udp import SiteLogs, UdpEmitter, UdpTargets, parse_target
from sensebutler.simulator.web import empty_response, error_response

log = logging.getLogger(__name__)

Target = str | tuple[str, int] | None


def _target(value: Target) -> tuple[str, int] | None:
    if value is None or isinstance(value, tuple):
        return value
    return parse_target(value)


@dataclass
class SimulatorOptions:
    """How to run the simulator. Port 0 means "pick a free port"; a fixed port is the first node's,
    the next nodes use the following port numbers (engine 4747, 4748, 4749, ...)."""

    state_dir: Path
    host: str = "127.0.0.1"
    qrs_port: int = 0
    proxy_port: int = 0
    engine_port: int = 0
    about_port: int = 0
    control_port: int = 0
    udp_log_target: Target = None
    udp_user_target: Target = None
    udp_task_target: Target = None
    scenario: Path | Scenario | None = None
    seed: int | None = None
    background: bool = False
    activity_rate: float = 1.0
    extra_engines: int = 0
    appenders: list[AppenderSpec] | None = None
    #: seconds after a reload ended until its script log can be downloaded (404 before)
    script_log_delay: float = 0.45
    #: one server certificate naming every node, localhost and the loopback addresses, instead of
    #: each node's own naming only that node (see :mod:`sensebutler.simulator.certs`)
    lenient_certificates: bool = False


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@dataclass
class NodeInfo:
    name: str
    host_name: str
    central: bool
    engine_port: int
    engine_url: str
    proxy_port: int | None = None
    proxy_url: str | None = None
    qrs_port: int | None = None
    qrs_url: str | None = None
    about_port: int | None = None
    about_url: str | None = None
    virtual_proxies: list[str] = field(default_factory=list)


@dataclass
class SimulatorInfo:
    """Where everything is; the same data as the ready line."""

    pid: int
    state_dir: Path
    host: str
    qrs_url: str
    qrs_port: int
    about_url: str
    about_port: int
    control_url: str | None
    control_port: int | None
    certificates: CertificatePaths
    udp_targets: UdpTargets
    nodes: list[NodeInfo]
    extra_engines: list[NodeInfo]
    lenient_certificates: bool = False

    def node(self, name: str) -> NodeInfo:
        return next(node for node in self.nodes if node.name.lower() == name.lower())

    def server_name(self, port: int) -> str | None:
        """The host name the certificate on ``port`` names (what a client resolving it would ask
        for); None for a port the simulator does not serve."""
        for node in [*self.nodes, *self.extra_engines]:
            if port in (node.engine_port, node.proxy_port, node.qrs_port, node.about_port):
                return node.host_name
        return None

    def client_ssl_context(self, *, encrypted_key: bool = False) -> ssl.SSLContext:
        """A client context with the exported certificate, trusting the simulator's root CA.

        It checks host names: with per-node certificates (the default) a client connecting to an
        address must ask for the node's host name (``server_hostname``, httpx's ``sni_hostname``
        extension; :meth:`server_name` tells which). (Pass it as
        ``httpx.AsyncClient(verify=context)``: httpx 0.28 ignores ``cert=`` when ``verify`` is a path.)
        """
        paths = self.certificates
        context = ssl.create_default_context(cafile=str(paths.root))
        if encrypted_key:
            context.load_cert_chain(paths.client, paths.client_key_encrypted, paths.client_key_passphrase)
        else:
            context.load_cert_chain(paths.client, paths.client_key)
        return context

    def as_json(self) -> dict[str, Any]:
        def node_json(node: NodeInfo) -> dict[str, Any]:
            return {key: value for key, value in node.__dict__.items() if value is not None}

        return {
            "ready": True,
            "pid": self.pid,
            "state_dir": str(self.state_dir),
            "host": self.host,
            "qrs_url": self.qrs_url,
            "qrs_port": self.qrs_port,
            "about_url": self.about_url,
            "about_port": self.about_port,
            "control_url": self.control_url,
            "control_port": self.control_port,
            "certificates": self.certificates.as_json(),
            "udp_targets": self.udp_targets.as_json(),
            "nodes": [node_json(node) for node in self.nodes],
            "extra_engines": [node_json(node) for node in self.extra_engines],
            "lenient_certificates": self.lenient_certificates,
        }


def build_qrs(site: Site, runner: TaskRunner, tickets: ScriptLogTickets) -> QrsApi:
    """The Repository Service API with every collection and action route."""
    qrs = QrsApi(site)
    collections = {**reading_collections(site), **task_collections(site), **license_collections(site)}
    for name, collection in collections.items():
        qrs.add_collection(name, collection)
    TaskRoutes(qrs, runner, tickets)
    LicenseRoutes(qrs)
    return qrs


class _Api(Protocol):
    async def handle(self, request: Request) -> Any: ...


#: websocket close code before the handshake completes: the client sees HTTP 403
_REFUSED = 1008


@dataclass(frozen=True, slots=True)
class _Endpoint:
    node: str
    service: str
    api: _Api


class _Dispatch:
    """The one ASGI app behind every listener: picks the service by the local port."""

    def __init__(self, faults: Faults) -> None:
        self.endpoints: dict[int, _Endpoint] = {}
        self.faults = faults
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        server = scope.get("server")
        endpoint = self.endpoints.get(server[1]) if server else None
        request = Request(scope, receive)
        if endpoint is None:
            await empty_response(404)(scope, receive, send)
            return
        label = f"{endpoint.node}/{endpoint.service}"
        self.requests[label] += 1
        path = request.url.path
        delay = self.faults.delay(endpoint.node, endpoint.service, path)
        if delay > 0:
            await asyncio.sleep(delay)
        status = self.faults.failure(endpoint.node, endpoint.service, path)
        if status is not None:
            response = error_response(
                status, "Internal Server Error" if status == 500 else "Simulated failure"
            )
        else:
            try:
                response = await endpoint.api.handle(request)
            except Exception:
                self.errors[label] += 1
                log.exception("simulator: %s %s on %s failed", request.method, path, label)
                response = error_response(500, "Internal Server Error")
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Websockets go to the API's ``websocket`` method (the engine's QIX); others are refused."""
        websocket = WebSocket(scope, receive, send)
        server = scope.get("server")
        endpoint = self.endpoints.get(server[1]) if server else None
        serve = getattr(endpoint.api, "websocket", None) if endpoint is not None else None
        if endpoint is None or serve is None:
            await websocket.close(code=_REFUSED)
            return
        label = f"{endpoint.node}/{endpoint.service}"
        self.requests[label] += 1
        path = websocket.url.path
        delay = self.faults.delay(endpoint.node, endpoint.service, path)
        if delay > 0:
            await asyncio.sleep(delay)
        if self.faults.failure(endpoint.node, endpoint.service, path) is not None:
            await websocket.close(code=_REFUSED)
            return
        try:
            await serve(websocket)
        except Exception:
            self.errors[label] += 1
            log.exception("simulator: websocket %s on %s failed", path, label)
            if websocket.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close(code=1011)


class _Single:
    """ASGI adapter for one API (the control API's own listener)."""

    def __init__(self, api: _Api) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self.api.handle(request)
        except Exception:
            log.exception("simulator control: %s %s failed", request.method, request.url.path)
            response = error_response(500, "Internal Server Error")
        await response(scope, receive, send)


class Simulator(SiteControl):
    """A fake Qlik Sense Enterprise on Windows site. Use ``async with Simulator(options) as sim``.

    The control operations (sessions, reloads, services, faults, licence, events) come from
    :class:`~sensebutler.simulator.control.SiteControl`.
    """

    def __init__(self, options: SimulatorOptions) -> None:
        self.options = options
        scenario = options.scenario
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.model: Site = build_site(self.scenario, options.seed, options.extra_engines)
        self.rng = random.Random(self.model.rng.getrandbits(64))
        self.targets = UdpTargets(
            log=_target(options.udp_log_target),
            user=_target(options.udp_user_target),
            task=_target(options.udp_task_target),
        )
        self.udp = UdpEmitter(self.targets, options.appenders)
        self.logs = SiteLogs(self.udp, self.scenario.service_account)
        self.sessions = Sessions(self.model, self.logs, self.rng)
        self.runner = TaskRunner(self.model, self.logs, self.rng)
        self.runner.seed_history(
            {task.id: task.history for task in self.model.tasks.values() if task.history != "never"}
        )
        self.tickets = ScriptLogTickets(options.script_log_delay)
        self.app_reloads = AppReloader(self.model, options.state_dir / "Log", self.rng)
        self.qix: dict[str, QixEngine] = {
            node.name: QixEngine(self.model, node, self.app_reloads) for node in self.model.nodes
        }
        self.events = LogEventWriter(self.model, self.logs, self.rng)
        self.activity = (
            Activity(self.model, self.sessions, self.runner, self.events, self.rng, options.activity_rate)
            if options.background
            else None
        )
        self.faults = Faults()
        self._dispatch = _Dispatch(self.faults)
        self._dispatch_requests = self._dispatch.requests
        self._dispatch_errors = self._dispatch.errors
        self._listeners = None
        self._control: ListenerGroup | None = None
        self._info: SimulatorInfo | None = None

    @property
    def info(self) -> SimulatorInfo:
        if self._info is None:
            raise RuntimeError("the simulator is not running")
        return self._info

    @property
    def requests(self) -> Counter[str]:
        """Requests served per ``<node>/<service>``."""
        return self._dispatch.requests

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _listen(
        self,
        key: str,
        port: int,
        node: str,
        service: str,
        api: _Api,
        contexts: tuple[ssl.SSLContext, ssl.SSLContext] | None = None,
    ) -> int:
        """Serve ``api`` on ``port``; ``contexts`` (serving, refusing) present a node's own certificate."""
        assert self._listeners is not None
        context, refusing = contexts if contexts is not None else (None, None)
        bound = await self._listeners.add(key, port, context=context, refusing_context=refusing)
        self._dispatch.endpoints[bound] = _Endpoint(node, service, api)
        return bound

    def _node_contexts(
        self, paths: CertificatePaths
    ) -> Callable[[tuple[Path, Path]], tuple[ssl.SSLContext, ssl.SSLContext] | None]:
        """TLS contexts presenting one certificate (None when lenient: the group's shared one)."""
        if self.options.lenient_certificates:
            return lambda certificate: None

        def contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
            return (
                server_context(paths, certificate=certificate),
                server_context(paths, certificate=certificate, trust=paths.untrusted_root),
            )

        return contexts

    async def start(self) -> SimulatorInfo:
        options = self.options
        state_dir = options.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        host_names = [node.host_name for node in self.model.nodes]
        extra_hosts = [extra.host_name for extra in self.model.extra_engines]
        paths = ensure_certificates(
            state_dir, host_names, options.host, None if options.lenient_certificates else extra_hosts
        )
        self._listeners = ListenerGroup(
            self._dispatch,
            options.host,
            server_context(paths),
            server_context(paths, trust=paths.untrusted_root),
        )
        node_contexts = self._node_contexts(paths)
        contexts = {
            node.name: node_contexts(paths.node_certificate(node.host_name)) for node in self.model.nodes
        }
        extra_contexts = node_contexts(paths.extra_engines_certificate) if extra_hosts else None
        await self.udp.start()
        url_host = _url_host(options.host)

        def url(port: int) -> str:
            return f"https://{url_host}:{port}"

        def offset(base: int, index: int) -> int:
            return base + index if base else 0

        qrs = build_qrs(self.model, self.runner, self.tickets)
        nodes: list[NodeInfo] = []
        central = self.model.central
        qrs_port = await self._listen(
            f"{central.name}/qrs", options.qrs_port, central.name, "qrs", qrs, contexts[central.name]
        )
        about_port = await self._listen(
            f"{central.name}/about",
            options.about_port,
            central.name,
            "about",
            AboutApi(self.model),
            contexts[central.name],
        )
        for index, node in enumerate(self.model.nodes):
            engine_port = await self._listen(
                self._key(node, "engine"),
                offset(options.engine_port, index),
                node.name,
                "engine",
                EngineApi(node.engine, self.qix[node.name]),
                contexts[node.name],
            )
            proxy_port = await self._listen(
                self._key(node, "proxy"),
                offset(options.proxy_port, index),
                node.name,
                "proxy",
                ProxyApi(node, self.sessions),
                contexts[node.name],
            )
            info = NodeInfo(
                name=node.name,
                host_name=node.host_name,
                central=node.central,
                engine_port=engine_port,
                engine_url=url(engine_port),
                proxy_port=proxy_port,
                proxy_url=url(proxy_port),
                virtual_proxies=list(node.virtual_proxies),
            )
            if node.central:
                info.qrs_port, info.qrs_url = qrs_port, url(qrs_port)
                info.about_port, info.about_url = about_port, url(about_port)
            nodes.append(info)
        extras: list[NodeInfo] = []
        first_extra = len(self.model.nodes)
        for index, extra in enumerate(self.model.extra_engines):
            port = await self._listen(
                f"{extra.name}/engine",
                offset(options.engine_port, first_extra + index),
                extra.name,
                "engine",
                EngineApi(extra.engine),
                extra_contexts,
            )
            extras.append(
                NodeInfo(
                    name=extra.name,
                    host_name=extra.host_name,
                    central=False,
                    engine_port=port,
                    engine_url=url(port),
                )
            )
        self._control = ListenerGroup(
            _Single(ControlApi(self)), "127.0.0.1", None, server_header="sensebutler"
        )
        control_port = await self._control.add("control", options.control_port, tls=False)
        self._info = SimulatorInfo(
            pid=os.getpid(),
            state_dir=state_dir,
            host=options.host,
            qrs_url=url(qrs_port),
            qrs_port=qrs_port,
            about_url=url(about_port),
            about_port=about_port,
            control_url=f"http://127.0.0.1:{control_port}",
            control_port=control_port,
            certificates=paths,
            udp_targets=self.targets,
            nodes=nodes,
            extra_engines=extras,
            lenient_certificates=options.lenient_certificates,
        )
        (state_dir / "simulator.json").write_text(json.dumps(self._info.as_json(), indent=2))
        if self.activity is not None:
            self.activity.start()
        log.info(
            "simulator ready: QRS %s, control http://127.0.0.1:%d, %d nodes, %d extra engines%s",
            url(qrs_port),
            control_port,
            len(nodes),
            len(extras),
            ", background activity on" if self.activity is not None else "",
        )
        return self._info

    @staticmethod
    def _key(node: ServerNode, service: str) -> str:
        return f"{node.name}/{service}"

    async def stop(self) -> None:
        if self.activity is not None:
            await self.activity.stop()
        await self.runner.close()
        for group in (self._control, self._listeners):
            if group is not None:
                await group.close()
        self._control = self._listeners = None
        self.udp.close()
        self._info = None
