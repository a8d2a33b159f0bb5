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
from sensebutler.config.sinks import PrometheusSink
from sensebutler.events import Event
from sensebutler.events.ingest import EventCount, RejectedEventCount, UdpQueueMetrics
from sensebutler.events.polled import HealthSample, PollFailed, ProxySessions, SelfMetrics
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import Sink, kinds_for
from sensebutler.sinks.prometheus.labels import TagLabels
from sensebutler.sinks.prometheus.own_metrics import OwnMetrics
from sensebutler.sinks.prometheus.qlik_metrics import QlikMetrics
from sensebutler.sinks.prometheus.server import EmbeddedHttpServer, only_path
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
        self, runtime: Runtime, section: PrometheusSink, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = "prometheus"
        self.kinds = kinds_for("prometheus", section.events, SUPPORTED_KINDS)
        self.runtime = runtime

        def config() -> Config:  # read on every scrape: a replaced config takes effect at once
            return self.runtime.config

        self.qlik = QlikMetrics(config, section.stale_after_s, clock)
        self.own = OwnMetrics(config, runtime.router)
        self.udp = UdpMetrics()
        self.registry = CollectorRegistry(auto_describe=False)
        for collector in (self.qlik, self.own, self.udp):
            self.registry.register(collector)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.server = EmbeddedHttpServer(
            only_path("/metrics", make_asgi_app(self.registry)), section.host, section.port, "prometheus"
        )

    @property
    def port(self) -> int | None:
        """The bound port once started (useful with ``port: 0``)."""
        return self.server.port

    def submit(self, event: Event) -> None:
        if isinstance(event, HealthSample | ProxySessions):
            self.qlik.add(event)
            self.own.add(event)
        elif isinstance(event, PollFailed | SelfMetrics):
            self.own.add(event)
        elif isinstance(event, UdpQueueMetrics | EventCount | RejectedEventCount):
            self.udp.add(event)

    async def start(self) -> None:
        await self.server.start()
        log.info("prometheus: metrics at http://%s:%s/metrics", self.server.host, self.server.port)

    async def stop(self) -> None:
        await self.server.stop()


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
