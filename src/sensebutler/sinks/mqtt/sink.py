"""MQTT: Butler SOS's topics and payloads, published through the shared delivery (queue, retry, spool).

Topics, payloads and what differs from Butler SOS: docs/outputs.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from sensebutler.events import Event
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import (
    ActiveUsers,
    LogDbEntry,
    Restarted,
    SenseVersionChanged,
    ServerLicense,
    ServerLicenseAlert,
    ServiceState,
    ServiceStateChanged,
)
from sensebutler.events.polled import HealthSample, ProxySessions, SelfMetrics
from sensebutler.events.udp import LogEvent, QixPerfEvent, UserEvent
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import DeliverySink, Sink, kinds_for
from sensebutler.sinks.mqtt.client import MqttDestination
from sensebutler.sinks.mqtt.config import MqttSection
from sensebutler.sinks.mqtt.records import pack
from sensebutler.sinks.mqtt.topics import TopicMap

SUPPORTED_KINDS = (
    HealthSample.kind,
    ProxySessions.kind,
    LogEvent.kind,
    QixPerfEvent.kind,
    UserEvent.kind,
    SelfMetrics.kind,
    ReloadAlert.kind,
    ServiceState.kind,
    ServiceStateChanged.kind,
    ServerLicense.kind,
    ServerLicenseAlert.kind,
    ActiveUsers.kind,
    Restarted.kind,
    SenseVersionChanged.kind,
    LogDbEntry.kind,
)


class MqttSink(DeliverySink):
    def __init__(self, runtime: Runtime, section: MqttSection) -> None:
        udp = runtime.config.udp
        self.topics = TopicMap(section, udp.log_events.tags, udp.user_events.tags)
        super().__init__(
            "mqtt",
            kinds_for("mqtt", section.events, SUPPORTED_KINDS),
            MqttDestination(section),
            section.delivery or runtime.config.delivery,
            runtime.state_dir / "spool",
        )

    def encode(self, event: Event) -> Iterable[bytes]:
        return [pack(message) for message in self.topics.messages(event)]


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.mqtt
    if not section.enable:
        return []
    try:
        return [MqttSink(runtime, section)]
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
