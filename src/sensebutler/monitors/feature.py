"""``build(runtime)``: the monitors ``monitors:`` enables, as one :class:`MonitorRunner` plus the
components that are not periodic checks (restart detection, active users).

Each monitor's module is imported only when its section is on: the log database monitor brings
asyncpg, the heartbeat httpx, and a service without monitors (or its UDP worker processes) should
not carry them (memory, start-up time).
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from sensebutler.runtime import Component, Runtime, StartupError

if TYPE_CHECKING:
    from sensebutler.monitors.schedule import Check

log = logging.getLogger(__name__)


def _checks(runtime: Runtime) -> list[Check]:
    config = runtime.config
    monitors = config.monitors
    checks: list[Check] = []
    if monitors.services.enable:
        section = monitors.services
        if section.probe == "qrs" and not config.qlik.qrs.host:
            raise StartupError("monitors.services uses probe qrs but qlik.qrs.host is empty")
        if section.probe == "sc_exe" and not section.hosts:
            raise StartupError("monitors.services uses probe sc_exe, which needs the hosts to ask (hosts:)")
        if section.probe == "sc_exe":
            from sensebutler.monitors import sc_exe

            try:
                for watched in section.hosts:
                    sc_exe.check_host(watched.host)
                    for service in watched.services:
                        sc_exe.check_service_name(service.name)
            except ValueError as exc:
                raise StartupError(f"monitors.services: {exc}") from exc
            if sys.platform != "win32":
                log.warning(
                    "monitors.services: probe sc_exe works on Windows only; every check will fail here"
                )
        from sensebutler.monitors.services import ServiceMonitor

        qrs = runtime.qlik.qrs if section.probe == "qrs" else None
        checks.append(ServiceMonitor(section, qrs, restarts=monitors.restarts.enable))
    wanted = [
        name
        for name in ("license_usage", "license_release", "server_license")
        if getattr(monitors, name).enable
    ]
    if wanted and not config.qlik.qrs.host:
        raise StartupError(f"monitors.{wanted[0]} is enabled but qlik.qrs.host is empty")
    if monitors.license_usage.enable:
        from sensebutler.monitors.licenses import LicenseUsageMonitor

        checks.append(LicenseUsageMonitor(monitors.license_usage, runtime.qlik.qrs))
    if monitors.license_release.enable:
        from sensebutler.monitors.license_release import LicenseReleaseMonitor

        checks.append(LicenseReleaseMonitor(monitors.license_release, runtime.qlik.qrs))
    if monitors.server_license.enable:
        from sensebutler.monitors.licenses import ServerLicenseMonitor

        checks.append(ServerLicenseMonitor(monitors.server_license, runtime.qlik.qrs))
    if monitors.version.enable:
        from sensebutler.monitors.version import VersionMonitor

        host = monitors.version.host or config.qlik.qrs.host
        if not host:
            raise StartupError("monitors.version is enabled but neither its host nor qlik.qrs.host is set")
        qlik = runtime.qlik
        checks.append(
            VersionMonitor(monitors.version, qlik.http, host, config.qlik.about_port, runtime.state)
        )
    if monitors.heartbeat.enable:
        from sensebutler.monitors.heartbeat import Heartbeat

        checks.append(Heartbeat(monitors.heartbeat))
    if monitors.uptime.enable:
        from sensebutler.monitors.uptime import UptimeMonitor

        checks.append(UptimeMonitor(monitors.uptime))
    if monitors.log_db.enable:
        from sensebutler.monitors.log_db import LogDbMonitor

        checks.append(LogDbMonitor(monitors.log_db, config.qlik.servers, runtime.state_dir))
    return checks


def build(runtime: Runtime) -> list[Component]:
    components: list[Component] = []
    checks = _checks(runtime)
    if checks:
        from sensebutler.monitors.schedule import MonitorRunner

        components.append(MonitorRunner(checks, runtime.router.publish))
    monitors = runtime.config.monitors
    if monitors.active_users.enable:
        from sensebutler.monitors.active_users import ActiveUsersMonitor

        if not runtime.config.udp.user_events.enable:
            log.warning("monitors.active_users counts sessions from udp.user_events, which is off")
        seed = monitors.active_users.seed_from_proxy and bool(runtime.config.qlik.servers)
        components.append(
            ActiveUsersMonitor(
                monitors.active_users,
                runtime.active_users,
                runtime.router.publish,
                runtime.config.qlik.servers,
                runtime.qlik.http if seed else None,
            )
        )
    if monitors.restarts.enable:
        if runtime.config.polling.health.enable:
            from sensebutler.monitors.restarts import EngineRestarts

            components.append(EngineRestarts(runtime.router.publish))
        if not runtime.config.polling.health.enable and not monitors.services.enable:
            log.warning(
                "monitors.restarts is on, but it learns of restarts from polling.health (engines) "
                "and monitors.services (nodes), which are both off"
            )
    return components
