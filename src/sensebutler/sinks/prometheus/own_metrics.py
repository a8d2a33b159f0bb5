"""The ``sensebutler_*`` metrics: pipeline counters per sink, routed events, polls.

Sink and router counters are read at scrape time, so they are always current. Poll results are
counted from the events that reach this sink (a success is a health or session sample, a failure a
``PollFailed``), per server, and forgotten when the server leaves ``qlik.servers``. The pollers' own
counters (including overlapping polls that were skipped) come from the latest ``SelfMetrics``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sensebutler import __version__
from sensebutler.config import Config
from sensebutler.events.polled import HealthSample, PollFailed, ProxySessions, SelfMetrics
from sensebutler.pipeline.router import Router

#: (server name, target, virtual proxy)
PollKey = tuple[str, str, str]
#: targets polled per configured server; their counters go when the server leaves the config
_PER_SERVER_TARGETS = frozenset({"health", "sessions"})


class OwnMetrics:
    """A prometheus-client collector over sensebutler's own counters."""

    def __init__(self, config: Callable[[], Config], router: Router) -> None:
        self._config = config
        self._router = router
        self._results: Counter[tuple[PollKey, str]] = Counter()
        self._last_duration_s: dict[PollKey, float] = {}
        self._self: SelfMetrics | None = None

    def add(self, event: HealthSample | ProxySessions | PollFailed | SelfMetrics) -> None:
        if isinstance(event, SelfMetrics):
            self._self = event
            return
        if isinstance(event, HealthSample):
            key: PollKey = (event.server.name, "health", "")
            result, duration_ms = "ok", event.poll_ms
        elif isinstance(event, ProxySessions):
            key = (event.server.name, "sessions", event.virtual_proxy)
            result, duration_ms = "ok", event.poll_ms
        else:
            key = (event.server.name, event.target, event.virtual_proxy)
            result, duration_ms = event.category, event.duration_ms
        self._results[(key, result)] += 1
        self._last_duration_s[key] = duration_ms / 1000

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("sensebutler_build_info", "Always 1; labels: version", labels=["version"])
        info.add_metric([__version__], 1.0)
        yield info
        yield from self._router_metrics()
        yield from self._sink_metrics()
        yield from self._processor_metrics()
        yield from self._poll_metrics()
        yield from self._poller_metrics()

    def _router_metrics(self) -> Iterator[Metric]:
        for name, help_text, counts in (
            ("sensebutler_events_published", "Events handed to at least one sink", self._router.published),
            ("sensebutler_events_unrouted", "Events no enabled sink takes", self._router.unrouted),
        ):
            family = CounterMetricFamily(name, help_text, labels=["kind"])
            for kind, count in sorted(counts.items()):
                family.add_metric([kind], count)
            yield family

    def _sink_metrics(self) -> Iterator[Metric]:
        stats = [(sink.name, s) for sink in self._router.sinks if (s := sink.stats()) is not None]
        counters = (
            ("received", "Records a sink accepted for delivery"),
            ("delivered", "Records the destination accepted"),
            ("retried", "Send attempts that are repeated after a failure"),
            ("spooled", "Records written to the disk spool while the destination was down"),
            ("worker_restarts", "Delivery workers restarted after an unexpected error"),
        )
        for field, help_text in counters:
            family = CounterMetricFamily(f"sensebutler_sink_{field}", help_text, labels=["sink"])
            for name, s in stats:
                family.add_metric([name], getattr(s, field))
            yield family
        dropped = CounterMetricFamily(
            "sensebutler_sink_dropped", "Records given up, by reason", labels=["sink", "reason"]
        )
        for name, s in stats:
            for reason, count in sorted(s.dropped.items()):
                dropped.add_metric([name, reason], count)
        yield dropped
        gauges = (
            ("queued", "Records waiting in memory"),
            ("spool_records", "Records waiting in the disk spool"),
            ("spool_bytes", "Size of the records in the disk spool, bytes"),
        )
        for field, help_text in gauges:
            gauge = GaugeMetricFamily(f"sensebutler_sink_{field}", help_text, labels=["sink"])
            for name, s in stats:
                gauge.add_metric([name], getattr(s, field))
            yield gauge

    def _processor_metrics(self) -> Iterator[Metric]:
        stats = [(processor.name, processor.stats) for processor in self._router.processors]
        counters = (
            ("received", "Events a processor took from the router"),
            ("processed", "Events a processor handled"),
            ("emitted", "Events a processor published"),
            ("failed", "Events whose processing raised an error"),
            ("restarts", "Processor workers restarted after an unexpected error"),
        )
        for field, help_text in counters:
            family = CounterMetricFamily(f"sensebutler_processor_{field}", help_text, labels=["processor"])
            for name, s in stats:
                family.add_metric([name], getattr(s, field))
            yield family
        dropped = CounterMetricFamily(
            "sensebutler_processor_dropped",
            "Events a processor gave up, by reason",
            labels=["processor", "reason"],
        )
        queued = GaugeMetricFamily("sensebutler_processor_queued", "Events waiting", labels=["processor"])
        for name, s in stats:
            queued.add_metric([name], s.queued)
            for reason, count in sorted(s.dropped.items()):
                dropped.add_metric([name, reason], count)
        yield dropped
        yield queued

    def _poll_metrics(self) -> Iterator[Metric]:
        configured = {server.name for server in self._config().qlik.servers}
        for key, result in list(self._results):
            if key[1] in _PER_SERVER_TARGETS and key[0] not in configured:
                del self._results[(key, result)]
                self._last_duration_s.pop(key, None)
        labels = ["server_name", "target", "virtual_proxy"]
        results = CounterMetricFamily(
            "sensebutler_polls",
            "Polls of a Sense server by result: ok, or why it failed",
            labels=[*labels, "result"],
        )
        for (key, result), count in sorted(self._results.items()):
            results.add_metric([*key, result], count)
        yield results
        duration = GaugeMetricFamily(
            "sensebutler_poll_duration_seconds", "Duration of the latest poll", labels=labels
        )
        for key, seconds in sorted(self._last_duration_s.items()):
            duration.add_metric(list(key), seconds)
        yield duration

    def _poller_metrics(self) -> Iterator[Metric]:
        polls = self._self.polls if self._self is not None else {}
        families = {
            "polls": CounterMetricFamily("sensebutler_poller_polls", "Polls started", labels=["poller"]),
            "failures": CounterMetricFamily(
                "sensebutler_poller_failures", "Polls that failed", labels=["poller"]
            ),
            "skipped_overlap": CounterMetricFamily(
                "sensebutler_poller_skipped_overlap",
                "Polls skipped because the previous one of the same target still ran",
                labels=["poller"],
            ),
        }
        for poller, counters in sorted(polls.items()):
            for field, family in families.items():
                family.add_metric([poller], getattr(counters, field))
        yield from families.values()
