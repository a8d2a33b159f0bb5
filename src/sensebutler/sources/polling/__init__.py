"""Polling Sense on timers (engine health, proxy sessions, app names) and sensebutler's self metrics.

``build(runtime)`` returns the components the configuration enables:

* a :class:`PollScheduler` running one :class:`HealthPoller` per server, one :class:`SessionPoller`
  per server × virtual proxy, and the :class:`AppNamePoller`, all through the runtime's Qlik client
  (:class:`~sensebutler.qlik.service.QlikService`);
* a :class:`SelfMetricsSource` when ``self_metrics.enable``.

The app-name map is ``runtime.app_names``, shared with other features (UDP events name apps too).
"""

from __future__ import annotations

import logging

from sensebutler.config import Config
from sensebutler.qlik.http import QlikHttp
from sensebutler.qlik.qrs import QrsClient
from sensebutler.runtime import Component, Runtime, StartupError
from sensebutler.services.app_names import AppNames, is_session_app, split_session_apps
from sensebutler.sources.polling.app_names import AppNamePoller
from sensebutler.sources.polling.health import HealthPoller
from sensebutler.sources.polling.schedule import PollJob, PollScheduler
from sensebutler.sources.polling.self_metrics import SelfMetricsSource
from sensebutler.sources.polling.sessions import SessionPoller

log = logging.getLogger(__name__)

__all__ = [
    "AppNamePoller",
    "AppNames",
    "HealthPoller",
    "PollScheduler",
    "SelfMetricsSource",
    "SessionPoller",
    "build",
    "is_session_app",
    "split_session_apps",
]


def _jobs(config: Config, http: QlikHttp, qrs: QrsClient, names: AppNames) -> list[PollJob]:
    polling, qlik = config.polling, config.qlik
    jobs: list[PollJob] = []
    if polling.app_names.enable:
        if not qlik.qrs.host:
            raise StartupError("polling.app_names is enabled but qlik.qrs.host is empty")
        jobs.append(AppNamePoller(qrs, names, qlik, polling.app_names.interval_s))
    if polling.health.enable:
        jobs.extend(HealthPoller(http, server, polling.health, names) for server in qlik.servers)
    if polling.sessions.enable:
        for server in qlik.servers:
            if server.sessions:
                jobs.extend(
                    SessionPoller(http, server, vp, polling.sessions) for vp in server.virtual_proxies
                )
    if (polling.health.enable or polling.sessions.enable) and not qlik.servers:
        log.warning("health or session polling is enabled but qlik.servers lists no server")
    return jobs


def build(runtime: Runtime) -> list[Component]:
    """The polling components; ``StartupError`` for configuration that cannot work."""
    config = runtime.config
    names = runtime.app_names
    components: list[Component] = []
    scheduler: PollScheduler | None = None
    polling = config.polling
    if polling.health.enable or polling.sessions.enable or polling.app_names.enable:
        qlik = runtime.qlik
        jobs = _jobs(config, qlik.http, qlik.qrs, names)
        if jobs:
            scheduler = PollScheduler(jobs, runtime.router)
            components.append(scheduler)
    if config.self_metrics.enable:
        counters = scheduler.counters if scheduler is not None else None
        components.append(SelfMetricsSource(runtime.router, config.self_metrics.interval_s, counters))
    return components
