"""Service monitor: the state of every Qlik Sense service on every node, at each check.

With ``probe: qrs`` (any OS) one ``GET /qrs/servicestatus/full`` tells which services each node runs
and their state, so a node without a scheduler is never reported for one, and a node that cannot be
reached shows as NoCommunication without holding up the others. ``hosts`` narrows what is watched
per host. With ``probe: sc_exe`` (Windows) each listed service is asked with ``sc.exe``, every host
concurrently; a host that cannot be reached gives UNKNOWN for its services (logged), not an error
for the others.

Every check publishes a :class:`ServiceState` per service; a change a
:class:`ServiceStateChanged` (see ``service_states.py``); a node coming back a :class:`Restarted`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field, TypeAdapter

from sensebutler.events import Event
from sensebutler.events.monitors import Restarted, ServiceState, ServiceStateChanged, ServiceStateName
from sensebutler.logs import RateLimitedLog
from sensebutler.monitors import sc_exe
from sensebutler.monitors.config import ServiceMonitorConfig, WatchedHost
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.schedule import Check
from sensebutler.monitors.service_states import ServiceStates
from sensebutler.qlik.answers import Answer
from sensebutler.qlik.qrs import QrsClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QlikService:
    short: str
    windows_name: str
    display_name: str


#: QRS ``ServiceStatus.serviceType`` → the Windows service (names as sc.exe shows them)
SERVICE_TYPES: dict[int, QlikService] = {
    0: QlikService("repository", "QlikSenseRepositoryService", "Qlik Sense Repository Service"),
    1: QlikService("proxy", "QlikSenseProxyService", "Qlik Sense Proxy Service"),
    2: QlikService("scheduler", "QlikSenseSchedulerService", "Qlik Sense Scheduler Service"),
    3: QlikService("engine", "QlikSenseEngineService", "Qlik Sense Engine Service"),
    # the name of the app migration service is not documented; this is our assumption
    4: QlikService("app_migration", "QlikSenseAppMigrationService", "Qlik Sense App Migration Service"),
    5: QlikService("printing", "QlikSensePrintingService", "Qlik Sense Printing Service"),
}
#: QRS ``serviceState`` → sc.exe's words: 2 Running; 3 NoCommunication, 4 Disabled and
#: 1 CertificatesNotInstalled do not serve; 0 Initializing is starting; 5 Unknown
QRS_STATES: dict[int, ServiceStateName] = {
    0: "START_PENDING",
    1: "STOPPED",
    2: "RUNNING",
    3: "STOPPED",
    4: "STOPPED",
}


class _Node(Answer):
    name: str = ""
    host_name: str = Field(default="", alias="hostName")


class _Row(Answer):
    node: _Node = Field(alias="serverNodeConfiguration")
    service_type: int | None = Field(default=None, alias="serviceType")
    service_state: int = Field(alias="serviceState")


_ROWS = TypeAdapter(list[_Row])


def _matches(service: QlikService, name: str) -> bool:
    wanted = name.casefold()
    return wanted in (service.short, service.windows_name.casefold())


class ServiceMonitor(Check):
    name = "services"

    def __init__(self, config: ServiceMonitorConfig, qrs: QrsClient | None, *, restarts: bool) -> None:
        self.config = config
        self.qrs = qrs
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s
        self.restarts = restarts
        self.states = ServiceStates()
        #: host (casefolded) → watched name → friendly name
        self.narrowed: dict[str, dict[str, str]] = {
            host.host.casefold(): {s.name.casefold(): s.friendly_name for s in host.services}
            for host in config.hosts
            if host.services
        }
        self._warned: set[tuple[str, str]] = set()
        self._problems = RateLimitedLog(log, 300.0)

    async def check(self) -> Sequence[Event]:
        if self.config.probe == "sc_exe":
            states = await self._sc_exe()
        else:
            states = await self._qrs()
        return self._events(states)

    # -- probes ---------------------------------------------------------------------------------

    async def _qrs(self) -> list[ServiceState]:
        assert self.qrs is not None
        rows = await self.qrs.get("servicestatus/full", _ROWS)
        found: list[ServiceState] = []
        runs: dict[str, set[str]] = {}
        for row in rows:
            service = SERVICE_TYPES.get(row.service_type) if row.service_type is not None else None
            if service is None:
                continue
            host = row.node.host_name or row.node.name
            runs.setdefault(host.casefold(), set()).add(service.short)
            friendly = self._watched(host, service)
            if friendly is None:
                continue
            found.append(
                ServiceState(
                    host=host,
                    service_name=service.windows_name,
                    display_name=service.display_name,
                    friendly_name=friendly or service.display_name,
                    state=QRS_STATES.get(row.service_state, "UNKNOWN"),
                    source="qrs",
                    node_name=row.node.name,
                )
            )
        self._warn_not_run(runs)
        return found

    def _watched(self, host: str, service: QlikService) -> str | None:
        """The friendly name ("" = none) when ``service`` on ``host`` is watched, else None."""
        narrowed = self.narrowed.get(host.casefold())
        if narrowed is None:
            return ""
        for name, friendly in narrowed.items():
            if _matches(service, name):
                return friendly
        return None

    def _warn_not_run(self, runs: dict[str, set[str]]) -> None:
        for host, names in self.narrowed.items():
            if host not in runs:
                continue
            for name in names:
                known = any(_matches(s, name) for s in SERVICE_TYPES.values() if s.short in runs[host])
                if not known and (host, name) not in self._warned:
                    self._warned.add((host, name))
                    log.warning(
                        "service monitor: QRS says node %s does not run %r (it runs %s); not watched",
                        host,
                        name,
                        ", ".join(sorted(runs[host])),
                    )

    async def _sc_exe(self) -> list[ServiceState]:
        results = await asyncio.gather(
            *(self._sc_host(host) for host in self.config.hosts),
            return_exceptions=True,
        )
        found: list[ServiceState] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            found.extend(result)
        return found

    async def _sc_host(self, watched_host: WatchedHost) -> list[ServiceState]:
        host = watched_host.host
        found = []
        for watched in watched_host.services:
            try:
                state, details = await sc_exe.query(host, watched.name, timeout_s=self.timeout_s)
            except (sc_exe.ScExeError, OSError) as exc:
                self._problems.log(logging.WARNING, f"{host}|{watched.name}", "service monitor: %s", exc)
                state, details = "UNKNOWN", sc_exe.ServiceConfig()
            found.append(
                ServiceState(
                    host=host,
                    service_name=watched.name,
                    display_name=details.display_name or watched.name,
                    friendly_name=watched.friendly_name or details.display_name or watched.name,
                    state=state if state in _STATE_NAMES else "UNKNOWN",  # type: ignore[arg-type]
                    start_type=details.start_type,
                    exe_path=details.exe_path,
                    dependencies=details.dependencies,
                    source="sc_exe",
                )
            )
        return found

    # -- state changes --------------------------------------------------------------------------

    def _events(self, states: list[ServiceState]) -> list[Event]:
        events: list[Event] = list(states)
        by_host: dict[str, list[str]] = {}
        for state in states:
            by_host.setdefault(state.host, []).append(state.state)
            change = self.states.update(state.host, state.service_name, state.state)
            if change is None:
                continue
            level = logging.WARNING if state.state == "STOPPED" else logging.INFO
            log.log(
                level,
                'service "%s" on %s is %s (was %s)',
                state.display_name,
                state.host,
                state.state,
                change.previous,
            )
            events.append(
                ServiceStateChanged(
                    time_ns=state.time_ns,
                    current=state,
                    previous=change.previous,  # type: ignore[arg-type]
                    first_check=change.first_check,
                )
            )
        if self.restarts:
            now = time.time()
            for host, host_states in by_host.items():
                downtime = self.states.node_back(host, host_states, now)
                if downtime is not None:
                    log.warning("node %s is back after %.0f s down", host, downtime)
                    events.append(Restarted(scope="node", host=host, downtime_s=downtime))
        return events


_STATE_NAMES = frozenset(
    ("STOPPED", "START_PENDING", "STOP_PENDING", "RUNNING", "CONTINUE_PENDING", "PAUSE_PENDING", "PAUSED")
)
