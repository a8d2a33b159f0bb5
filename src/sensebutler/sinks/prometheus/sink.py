"""Prometheus: ``GET /metrics`` with Butler SOS's ``butlersos_*`` gauges and sensebutler's own metrics.

A pull sink: events only update what the next scrape renders, so there is no queue or spool.
Names, labels and what differs from Butler SOS: docs/outputs.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    make_asgi_app,
)

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.events.ingest import EventCount, RejectedEventCount, UdpQueueMetrics
from sensebutler.events.polled import HealthSample, PollFailed, ProxySessions, SelfMetrics
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import Sink, kinds_for
from sensebutler.sinks.prometheus.active_users import ActiveUserMetrics
from sensebutler.sinks.prometheus.config import PrometheusSection
from sensebutler.sinks.prometheus.labels import TagLabels
from sensebutler.sinks.prometheus.own_metrics import OwnMetrics
from sensebutler.sinks.prometheus.qlik_metrics import QlikMetrics
from sensebutler.sinks.prometheus.udp_metrics import UdpMetrics

log = logging.getLogger(__name__)

SUPPORTED_KINDS = (
    HealthSample.kind,
    ProxySessions.kind,
    PollFailed.kind,
    SelfMetrics.kind,
    UdpQueueMetrics.kind,
    EventCount.kind,
    RejectedEventCount.kind,
)


class PrometheusExporter(Sink):
    def __init__(
        self, runtime: Runtime, section: PrometheusSection, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = "prometheus"
        self.kinds = kinds_for("prometheus", section.events, SUPPORTED_KINDS)
        self.runtime = runtime

        def config() -> Config:  # read on every scrape: a replaced config takes effect at once
            return self.runtime.config

        self.qlik = QlikMetrics(config, section.stale_after_s, clock)
        self.own = OwnMetrics(config, runtime.router)
        self.udp = UdpMetrics(section.max_udp_hosts)
        self.registry = CollectorRegistry(auto_describe=False)
        for collector in (self.qlik, self.own, self.udp):
            self.registry.register(collector)
        if runtime.config.monitors.active_users.enable:
            self.registry.register(ActiveUserMetrics(runtime.active_users))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.listener = section.listener
        runtime.web.mount(
            section.path, make_asgi_app(self.registry), name="prometheus", listener=self.listener
        )

    @property
    def port(self) -> int | None:
        """The port of the web listener serving the metrics, once it started."""
        return self.runtime.web.port(self.listener)

    def submit(self, event: Event) -> None:
        if isinstance(event, HealthSample | ProxySessions):
            self.qlik.add(event)
            self.own.add(event)
        elif isinstance(event, PollFailed | SelfMetrics):
            self.own.add(event)
        elif isinstance(event, UdpQueueMetrics | EventCount | RejectedEventCount):
            self.udp.add(event)


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.prometheus
    if not section.enable:
        return []
    problems = TagLabels(runtime.config.qlik.server_tags).problems
    if problems:
        raise StartupError("prometheus: " + "; ".join(problems))
    try:
        return [PrometheusExporter(runtime, section)]
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
