"""The ``sensebutler_udp_*`` metrics: the UDP inputs' periodic reports summed into counters.

The inputs report deltas since their previous report (``UdpQueueMetrics``, ``EventCount``,
``RejectedEventCount``); adding them up gives Prometheus the monotonic counters it expects. Gauges
(queue size, processing times, backpressure) show the latest report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sensebutler.events.ingest import EventCount, RejectedEventCount, UdpQueueMetrics

_MESSAGE_COUNTERS = (
    ("received", "messages_received", "Datagrams that arrived"),
    ("queued", "messages_queued", "Datagrams admitted to the parse queue"),
    ("processed", "messages_processed", "Datagrams parsed and handled"),
    ("failed", "messages_failed", "Datagrams whose handling failed"),
    ("kernel_drops", "kernel_drops", "Datagrams the kernel dropped before sensebutler could read them"),
)
_LATEST_GAUGES = (
    ("queue_size", "Bytes waiting in the input's receive queue", lambda m: m.queue_size),
    ("queue_max_size", "Size of the input's receive queue in bytes", lambda m: m.queue_max_size),
    (
        "processing_time_p95_seconds",
        "95th percentile handling time",
        lambda m: m.processing_time_p95_ms / 1000,
    ),
    ("processing_time_max_seconds", "Longest handling time", lambda m: m.processing_time_max_ms / 1000),
    ("backpressure", "1 while the parse queue is at least 80 % full", lambda m: int(m.backpressure_active)),
)


#: the label that stands for every ``host`` beyond ``max_hosts``
OTHER_HOSTS = "_other"


class UdpMetrics:
    """A prometheus-client collector over the UDP inputs' reports.

    ``host`` comes from the datagrams, so anyone who can send them could make a series per forged
    host name: at most ``max_hosts`` hosts get their own series, the rest are summed under
    ``_other`` and counted in ``sensebutler_udp_hosts_over_limit``.
    """

    def __init__(self, max_hosts: int = 1000) -> None:
        self.max_hosts = max_hosts
        self._hosts: set[str] = set()
        self._hosts_over_limit = 0
        self._messages: Counter[tuple[str, str]] = Counter()  # (queue type, counter)
        self._dropped: Counter[tuple[str, str]] = Counter()  # (queue type, reason)
        self._malformed: Counter[tuple[str, str]] = Counter()
        self._latest: dict[str, UdpQueueMetrics] = {}
        self._events: Counter[tuple[str, str, str]] = Counter()  # (event type, source, host)
        self._rejected = 0
        self._rejected_process_ms = 0.0

    def add(self, event: UdpQueueMetrics | EventCount | RejectedEventCount) -> None:
        if isinstance(event, UdpQueueMetrics):
            queue = event.queue_type
            for name, field, _ in _MESSAGE_COUNTERS:
                self._messages[(queue, name)] += max(0, getattr(event, field))
            self._dropped.update({(queue, reason): count for reason, count in event.dropped.items()})
            self._malformed.update({(queue, reason): count for reason, count in event.malformed.items()})
            self._latest[queue] = event
        elif isinstance(event, EventCount):
            host = event.host
            if host not in self._hosts:
                if len(self._hosts) < self.max_hosts:
                    self._hosts.add(host)
                else:
                    self._hosts_over_limit += event.counter
                    host = OTHER_HOSTS
            self._events[(event.event_type, event.source, host)] += event.counter
        else:
            self._rejected += event.counter
            self._rejected_process_ms += event.process_time

    def collect(self) -> Iterator[Metric]:
        for name, _, help_text in _MESSAGE_COUNTERS:
            family = CounterMetricFamily(f"sensebutler_udp_{name}", help_text, labels=["queue_type"])
            for (queue, counter), count in sorted(self._messages.items()):
                if counter == name:
                    family.add_metric([queue], count)
            yield family
        for name, counts, help_text in (
            ("dropped", self._dropped, "Datagrams dropped before parsing, by reason"),
            ("malformed", self._malformed, "Datagrams that could not be parsed, by reason"),
        ):
            family = CounterMetricFamily(
                f"sensebutler_udp_{name}", help_text, labels=["queue_type", "reason"]
            )
            for (queue, reason), count in sorted(counts.items()):
                family.add_metric([queue, reason], count)
            yield family
        for name, help_text, value_of in _LATEST_GAUGES:
            gauge = GaugeMetricFamily(f"sensebutler_udp_{name}", help_text, labels=["queue_type"])
            for queue, report in sorted(self._latest.items()):
                gauge.add_metric([queue], float(value_of(report)))
            yield gauge
        events = CounterMetricFamily(
            "sensebutler_udp_events",
            "Log and user events received, by Sense source and host",
            labels=["event_type", "source", "host"],
        )
        for key, count in sorted(self._events.items()):
            events.add_metric(list(key), count)
        yield events
        yield CounterMetricFamily(
            "sensebutler_udp_hosts_over_limit",
            f"Events counted under host={OTHER_HOSTS} because {self.max_hosts} hosts already had a series",
            value=self._hosts_over_limit,
        )
        yield CounterMetricFamily(
            "sensebutler_qix_perf_rejected",
            "QIX performance events the filters rejected",
            value=self._rejected,
        )
        yield CounterMetricFamily(
            "sensebutler_qix_perf_rejected_process_seconds",
            "Engine processing time of the rejected QIX performance events",
            value=self._rejected_process_ms / 1000,
        )
