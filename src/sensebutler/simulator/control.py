"""What tests, the control API and ``sensebutler simulator trigger`` can make happen on the site.

:class:`SiteControl` is mixed into :class:`~sensebutler.simulator.Simulator`; every operation keeps
the model, the listeners and the datagrams consistent (stopping a proxy ends its sessions and logs
it, stopping an engine closes its connections and refuses new ones, starting it again is a restart).
Node names are matched case-insensitively against the name, host name or short host name; extra
engines by their name (``engine001``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sensebutler.simulator.activity import Activity
from sensebutler.simulator.engine import Engine
from sensebutler.simulator.faults import SERVICES, Faults
from sensebutler.simulator.listeners import ListenerGroup
from sensebutler.simulator.log_events import LogEventWriter
from sensebutler.simulator.model import (
    REPOSITORY_USER,
    SCHEDULER_USER,
    ExecutionResult,
    ExecutionSession,
    NodeService,
    ProxySession,
    ServerNode,
    Site,
    User,
)
from sensebutler.simulator.qix import QixEngine
from sensebutler.simulator.runs import TaskRunner
from sensebutler.simulator.sessions import Sessions
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.udp import SiteLogs, UdpEmitter

#: kinds accepted by :meth:`SiteControl.emit_events` besides the log-event kinds of LogEventWriter
SESSION_KINDS = ("session", "connection")
#: Windows services whose stop takes a listener down: service key -> fault/listener service name
_LISTENING = {"engine": "engine", "proxy": "proxy", "repository": "qrs", "dispatcher": "about"}
_SC_STATE = {True: "4  RUNNING", False: "1  STOPPED"}


class ControlError(LookupError):
    """An unknown node, service, task, user, virtual proxy or session."""


class ControlUsageError(ValueError):
    """A request that does not fit the site (bad value, wrong node for a service, stopped service)."""


class SiteControl:
    model: Site
    rng: random.Random
    sessions: Sessions
    runner: TaskRunner
    events: LogEventWriter
    faults: Faults
    logs: SiteLogs
    udp: UdpEmitter
    activity: Activity | None
    qix: dict[str, QixEngine]
    _listeners: ListenerGroup | None
    _dispatch_requests: Counter[str]
    _dispatch_errors: Counter[str]

    # -- lookups -----------------------------------------------------------------------------------

    def _node(self, name: str) -> ServerNode:
        try:
            return self.model.node(name)
        except KeyError:
            raise ControlError(f"unknown node {name!r}") from None

    def _engine_named(self, name: str) -> tuple[str, Engine]:
        try:
            node = self.model.node(name)
            return node.name, node.engine
        except KeyError:
            for extra in self.model.extra_engines:
                if extra.name.lower() == name.lower():
                    return extra.name, extra.engine
        raise ControlError(f"unknown node {name!r}")

    def _service(self, node: ServerNode, name: str) -> NodeService:
        for service in node.services.values():
            if name.lower() in (service.key, service.windows_name.lower()):
                return service
        known = ", ".join(service.key for service in node.services.values())
        raise ControlError(f"node {node.name} has no service {name!r} (it has {known})")

    def _user(self, user: str | None) -> User:
        if user is None:
            people = [u for u in self.model.users.values() if u.directory != "INTERNAL" and not u.inactive]
            return self.rng.choice(people)
        directory, _, user_id = user.rpartition("\\")
        found = self.model.user_by_key(directory or self.model.scenario.user_directory, user_id)
        if found is None:
            raise ControlError(f"unknown user {user!r}")
        return found

    def _listener_key(self, node_name: str, service: str) -> str:
        """The listener of a fault service (``engine``, ``proxy``, ``qrs``, ``about``) on a node."""
        if service not in SERVICES:
            raise ControlUsageError(f"unknown service {service!r}: expected one of {', '.join(SERVICES)}")
        canonical, _ = self._engine_named(node_name)
        if service in ("qrs", "about") and canonical != self.model.central.name:
            raise ControlUsageError(f"{service} runs on the central node ({self.model.central.name}) only")
        if service == "proxy" and canonical not in {node.name for node in self.model.nodes}:
            raise ControlUsageError(f"{canonical} is an engine-only node")
        return f"{canonical}/{service}"

    # -- sessions -----------------------------------------------------------------------------------

    async def add_session(
        self, node: str, *, user: str | None = None, virtual_proxy: str = "", apps: int = 1
    ) -> ProxySession:
        """Start a proxy session on ``node`` for ``user`` (``DIR\\id``, or random) with ``apps`` open apps."""
        target = self._node(node)
        if not target.services["proxy"].running:
            raise ControlUsageError(f"the proxy on {target.name} is stopped")
        if virtual_proxy not in target.virtual_proxies:
            raise ControlError(f"node {target.name} has no virtual proxy {virtual_proxy!r}")
        session = self.sessions.start(target, self._user(user), virtual_proxy=virtual_proxy)
        if target.services["engine"].running:
            for app in self.rng.sample(list(self.model.apps.values()), min(apps, len(self.model.apps))):
                self.sessions.open_connection(session, app)
        return session

    async def remove_session(self, session_id: str) -> bool:
        """End a proxy session (its connections close first); False when it does not exist."""
        session = self.model.proxy_sessions.get(session_id.lower())
        if session is None:
            return False
        self.sessions.stop(session)
        return True

    # -- tasks --------------------------------------------------------------------------------------

    async def trigger_reload(
        self,
        task: str,
        *,
        outcome: str | Sequence[str] = "success",
        duration: float | None = None,
        user: str = SCHEDULER_USER,
    ) -> ExecutionSession:
        """Run a task (GUID or name) now and make it end as ``success``, ``failed`` or ``aborted``.

        A task with ``maxRetries`` retries a failed attempt; ``outcome`` may list one outcome per
        attempt (``["failed", "success"]``: the first retry succeeds; the last entry repeats).

        Raises :class:`ControlError` for an unknown task and :class:`~sensebutler.simulator.runs.TaskBusy`
        when it is already running. ``await sim.wait_for_task(session.id)`` returns the result.
        """
        try:
            found = self.model.task(task)
        except KeyError:
            raise ControlError(f"unknown task {task!r}") from None
        return self.runner.start(
            found, user=user, outcome=outcome, duration=duration, manual=user != SCHEDULER_USER
        )

    async def wait_for_task(self, session_id: str, timeout: float | None = 30.0) -> ExecutionResult:
        """The execution result of a started task once it has finished (and its datagrams are sent)."""
        return await self.runner.wait(session_id, timeout)

    def set_app_reload_failing(self, app: str, failing: bool = True) -> None:
        """Make reloads of ``app`` (GUID or name) through the engine API fail, or succeed again."""
        found = self.model.apps.get(app.lower())
        if found is None:
            found = next((candidate for candidate in self.model.apps.values() if candidate.name == app), None)
        if found is None:
            raise ControlError(f"unknown app {app!r}")
        found.reload_fails = failing

    # -- services and engines ----------------------------------------------------------------------------

    def _log_unreachable(self, node: ServerNode, service: NodeService) -> None:
        central = self.model.central
        self.logs(central.short_name, "repository").write(
            "WARN",
            "System.Repository",
            f"Failed to request service alive response from {node.host_name} ({service.display_name}). "
            "Unable to connect to the remote server",
            properties={
                "Command": "Check service",
                "Result": "503",
                "Origin": "",
                "Context": "/qrs",
                "UserDirectory": "",
                "UserId": "",
            },
        )

    async def stop_service(self, node: str, service: str) -> None:
        """Stop a Windows service: its port refuses connections and servicestatus shows it down."""
        target = self._node(node)
        found = self._service(target, service)
        if not found.running:
            return
        if found.key == "proxy":
            for session in [s for s in self.model.proxy_sessions.values() if s.node is target]:
                self.sessions.stop(session)
        if found.key == "engine":
            self.sessions.drop_engine_connections(target)
        found.running = False
        found.touch(REPOSITORY_USER)
        if found.key in _LISTENING and self._listeners is not None:
            key = f"{target.name}/{_LISTENING[found.key]}"
            if key in self._listeners:
                await self._listeners.stop(key)
        if found.key != "repository" or not target.central:
            self._log_unreachable(target, found)

    async def start_service(self, node: str, service: str) -> None:
        """Start a Windows service again (an engine comes back with a new ``started`` and fresh counters)."""
        target = self._node(node)
        found = self._service(target, service)
        if found.running:
            return
        if found.key == "engine":
            target.engine.restart(utcnow())
        found.running = True
        found.touch(REPOSITORY_USER)
        if found.key in _LISTENING and self._listeners is not None:
            key = f"{target.name}/{_LISTENING[found.key]}"
            if key in self._listeners:
                await self._listeners.start(key)

    async def restart_engine(self, node: str) -> None:
        """Restart an engine: its connections drop, counters reset, ``started`` becomes now."""
        canonical, engine = self._engine_named(node)
        if canonical in {n.name for n in self.model.nodes}:
            self.sessions.drop_engine_connections(self.model.node(canonical))
        qix = self.qix.get(canonical)
        if qix is not None:
            await qix.drop_sessions()
        engine.restart(utcnow())

    def set_engine_load(self, node: str, *, cpu: float | None = None, ram: float | None = None) -> None:
        """Pin an engine's CPU and/or RAM use (percent); None returns it to simulated values."""
        _, engine = self._engine_named(node)
        engine.cpu_override = cpu
        engine.ram_override = ram

    def services(self) -> list[dict[str, Any]]:
        """The Windows services of every node and whether they run."""
        return [
            {
                "node": node.name,
                "host_name": node.host_name,
                "service": service.key,
                "name": service.windows_name,
                "display_name": service.display_name,
                "state": "RUNNING" if service.running else "STOPPED",
            }
            for node in self.model.nodes
            for service in node.services.values()
        ]

    def sc_query(self, node: str) -> str:
        """What ``sc.exe \\\\<host> query state= all`` prints for the Qlik services (CRLF lines)."""
        target = self._node(node)
        lines: list[str] = []
        for service in target.services.values():
            lines += [
                "",
                f"SERVICE_NAME: {service.windows_name}",
                f"DISPLAY_NAME: {service.display_name}",
                "        TYPE               : 10  WIN32_OWN_PROCESS  ",
                f"        STATE              : {_SC_STATE[service.running]} ",
                "                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)"
                if service.running
                else "                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)",
                "        WIN32_EXIT_CODE    : 0  (0x0)",
                "        SERVICE_EXIT_CODE  : 0  (0x0)",
                "        CHECKPOINT         : 0x0",
                "        WAIT_HINT          : 0x0",
            ]
        return "\r\n".join(lines) + "\r\n"

    # -- faults ---------------------------------------------------------------------------------------

    def set_slow(self, node: str, service: str, seconds: float, path: str = "") -> None:
        """Delay every answer of ``service`` (engine, proxy, qrs, about) on ``node``; 0 ends it."""
        key = self._listener_key(node, service)
        try:
            self.faults.set_slow(key.split("/")[0], service, seconds, path)
        except ValueError as exc:
            raise ControlUsageError(str(exc)) from None

    async def set_failing(
        self, node: str, service: str, mode: int | str | None = 500, path: str = ""
    ) -> None:
        """Answer with an HTTP error status (``500``...), refuse TLS (``"tls"``), or recover (``None``)."""
        key = self._listener_key(node, service)
        canonical = key.split("/")[0]
        if mode == "tls":
            if path:
                raise ControlUsageError("TLS refusal applies to the whole port; leave the path empty")
            assert self._listeners is not None
            await self._listeners.refuse_tls(key, True)
            return
        if mode is None and self._listeners is not None:
            await self._listeners.refuse_tls(key, False)
        try:
            self.faults.set_failing(canonical, service, None if mode is None else int(mode), path)
        except ValueError as exc:
            raise ControlUsageError(str(exc)) from None

    def active_faults(self) -> list[dict[str, Any]]:
        """Slow and failing endpoints, and listeners refusing TLS."""
        refusing = self._listeners.refusing() if self._listeners is not None else []
        return self.faults.active() + [
            {"node": key.split("/")[0], "service": key.split("/")[1], "path_prefix": "", "mode": "tls"}
            for key in refusing
        ]

    async def clear_faults(self) -> None:
        """End every slow, failing and TLS-refusing endpoint."""
        self.faults.clear()
        if self._listeners is not None:
            for key in self._listeners.refusing():
                await self._listeners.refuse_tls(key, False)

    # -- licence ---------------------------------------------------------------------------------------

    def set_license_expiry(self, days: int) -> None:
        """Make the server licence valid for ``days`` more days (negative: expired that long ago)."""
        lic = self.model.license
        if lic is None:
            raise ControlUsageError("the scenario has no server licence")
        lic.valid_to = (utcnow() + timedelta(days=days)).date()
        lic.force_expired = False
        lic.touch(REPOSITORY_USER)

    async def expire_license(self) -> None:
        """The server licence expired yesterday."""
        self.set_license_expiry(-1)
        assert self.model.license is not None
        self.model.license.force_expired = True

    # -- events and activity -----------------------------------------------------------------------------

    async def emit_events(self, kind: str, count: int = 1, rate: float = 0.0) -> int:
        """Log ``count`` events of ``kind`` (``engine``, ``proxy``, ``repository``, ``scheduler``,
        ``qix-perf``, ``session``, ``connection``), ``rate`` per second (0 = at once); returns the count."""
        if count < 0 or rate < 0:
            raise ControlUsageError("count and rate must not be negative")
        writer = self.events.kinds.get(kind)
        if writer is None and kind not in SESSION_KINDS:
            raise ControlUsageError(
                f"unknown event kind {kind!r}: use {', '.join([*self.events.kinds, *SESSION_KINDS])}"
            )
        started = time.monotonic()
        pending: ProxySession | None = None
        for index in range(count):
            if rate > 0:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if writer is not None:
                writer()
            elif kind == "session":
                if pending is None:
                    pending = await self.add_session(self.rng.choice(self.model.nodes).name, apps=0)
                else:
                    self.sessions.stop(pending)
                    pending = None
            else:
                self._connection_event()
        return count

    def _connection_event(self) -> None:
        """Open a connection on some session, or close one that is open."""
        open_ones = [(s, c) for s in self.model.proxy_sessions.values() for c in s.connections.values()]
        if open_ones and self.rng.random() < 0.5:
            session, connection = self.rng.choice(open_ones)
            self.sessions.close_connection(session, connection)
            return
        sessions = [s for s in self.model.proxy_sessions.values() if s.node.services["engine"].running]
        if not sessions:
            node = self.rng.choice([n for n in self.model.nodes if n.services["proxy"].running])
            sessions = [self.sessions.start(node, self._user(None))]
        self.sessions.open_connection(
            self.rng.choice(sessions), self.rng.choice(list(self.model.apps.values()))
        )

    def pause_activity(self) -> None:
        """Hold background activity (running reloads still finish)."""
        if self.activity is not None:
            self.activity.pause()

    def resume_activity(self) -> None:
        if self.activity is not None:
            self.activity.resume()

    def status(self) -> dict[str, Any]:
        """Counters and state for the control API's ``/status``."""
        activity = "off" if self.activity is None else ("paused" if self.activity.paused else "running")
        return {
            "requests": dict(self._dispatch_requests),
            "request_errors": dict(self._dispatch_errors),
            "udp": {
                "sent": dict(self.udp.stats.sent),
                "unsent": dict(self.udp.stats.unsent),
                "errors": self.udp.stats.errors,
            },
            "proxy_sessions": len(self.model.proxy_sessions),
            "engine_connections": sum(len(s.connections) for s in self.model.proxy_sessions.values()),
            "running_tasks": [
                {"task": s.task.name, "task_id": s.task.id, "execution_session_id": s.id, "node": s.node.name}
                for s in self.model.execution_sessions.values()
            ],
            "faults": self.active_faults(),
            "activity": activity,
            "services": [s for s in self.services() if s["state"] != "RUNNING"],
        }
