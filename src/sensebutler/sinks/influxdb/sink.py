"""The InfluxDB sink (v1, v2, v3): Butler SOS's measurements, batched, spooled while InfluxDB is down.

``build(runtime)`` gives one :class:`InfluxSink` named ``influxdb`` when ``influxdb.enable`` is on.
The schema (every measurement, tag, field and type, and what differs from Butler SOS) is in
``docs/influxdb.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from sensebutler.alerts.context import ContextOptions
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.events import Event
from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import DeliverySink, Sink, kinds_for
from sensebutler.sinks.influxdb.config import InfluxDbSection
from sensebutler.sinks.influxdb.destination import InfluxDestination
from sensebutler.sinks.influxdb.mapping import SUPPORTED_KINDS, InfluxMapping, MappingOptions
from sensebutler.tls import CertificateError

SINK_NAME = "influxdb"
#: the events of the UDP hot path, which the mapping encodes a list at a time
_UDP_TYPES = frozenset({LogEvent, QixPerfEvent})


class InfluxSink(DeliverySink):
    def __init__(
        self,
        kinds: Iterable[str],
        destination: InfluxDestination,
        mapping: InfluxMapping,
        delivery: DeliveryConfig,
        spool_dir: Path | None,
    ) -> None:
        super().__init__(SINK_NAME, kinds, destination, delivery, spool_dir)
        self.mapping = mapping

    def encode(self, event: Event) -> list[bytes]:
        return self.mapping.encode(event)

    def submit_many(self, events: list[Event]) -> None:
        """A batch of log and QIX performance events (the UDP input's) is encoded in one pass."""
        if not events or not _UDP_TYPES.issuperset(map(type, events)):
            super().submit_many(events)
            return
        records: list[bytes] = []
        encode_udp = self.mapping.encode_udp
        done, total = 0, len(events)
        while done < total:
            encoded, error = encode_udp(events[done:] if done else events, records)  # type: ignore[arg-type]
            done += encoded
            if error is not None:  # nothing of it is in records; go on after it
                self._encode_failed(events[done], error)
                done += 1
        if records:
            self.delivery.enqueue(records)

    @property
    def clamped(self) -> Counter[str]:
        """``measurement.field`` → values out of range that were clamped (negative counters)."""
        return self.mapping.clamped

    @property
    def values_clamped(self) -> int:
        return self.mapping.values_clamped


def mapping_options(runtime: Runtime) -> MappingOptions:
    config = runtime.config
    section = config.influxdb
    include = section.include_fields
    return MappingOptions(
        version=section.version,
        include_docs=frozenset(
            name for name in ("active_docs", "loaded_docs", "in_memory_docs") if getattr(include, name)
        ),
        app_names=config.polling.app_names.enable,
        instance=section.instance_tag,
        log_event_tags=dict(config.udp.log_events.tags),
        user_event_tags=dict(config.udp.user_events.tags),
        event_count_tags=dict(config.udp.metrics.event_count_tags),
        rejected_event_tags={
            tag.name: tag.value
            for tag in config.udp.log_events.engine_performance_monitor.track_rejected_events.tags
        },
        queue_tags={
            "log_events": dict(config.udp.log_events.queue_tags),
            "user_events": dict(config.udp.user_events.queue_tags),
            "task_events": dict(config.udp.task_events.queue_tags),
        },
        raw_event=section.raw_event,
        sink_name=SINK_NAME,
        tasks=section.tasks,
        alert_context=ContextOptions.from_config(config.alerts),
    )


def make_sink(
    section: InfluxDbSection, options: MappingOptions, delivery: DeliveryConfig, state_dir: Path
) -> InfluxSink:
    try:
        kinds = kinds_for(SINK_NAME, section.events, SUPPORTED_KINDS)
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    try:
        ssl_context = section.tls.context("influxdb.tls") if section.url.startswith("https://") else None
    except CertificateError as exc:
        raise StartupError(str(exc)) from exc
    destination = InfluxDestination(section, ssl_context)
    return InfluxSink(kinds, destination, InfluxMapping(options), delivery, state_dir / "spool")


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.influxdb
    if not section.enable:
        return []
    delivery = section.delivery or runtime.config.delivery
    return [make_sink(section, mapping_options(runtime), delivery, runtime.state_dir)]


__all__ = ["SINK_NAME", "SUPPORTED_KINDS", "InfluxSink", "build", "make_sink", "mapping_options"]
