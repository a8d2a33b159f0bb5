"""The whole configuration file: one section per feature.

Sections are switched on with ``enable: true``; a disabled section needs nothing else. See
``config/example.yaml`` for an annotated file.
"""

from __future__ import annotations

from pydantic import Field

from sensebutler.config.base import FeatureSection, Section
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.config.logging import LoggingConfig
from sensebutler.config.polling import PollingConfig
from sensebutler.config.qlik import QlikConfig
from sensebutler.config.sinks import InfluxDbSink, MqttSink, NewRelicSink, PrometheusSink
from sensebutler.config.state import StateConfig
from sensebutler.config.udp import UdpConfig


class SelfMetrics(FeatureSection):
    """sensebutler's own uptime, memory and pipeline counters, sent to every enabled sink."""

    enable: bool = True
    interval_s: float = Field(default=60.0, ge=1, le=86_400)


class Config(Section):
    logging: LoggingConfig = LoggingConfig()
    state: StateConfig = StateConfig()
    qlik: QlikConfig = QlikConfig()
    polling: PollingConfig = PollingConfig()
    udp: UdpConfig = UdpConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    influxdb: InfluxDbSink = InfluxDbSink()
    prometheus: PrometheusSink = PrometheusSink()
    mqtt: MqttSink = MqttSink()
    new_relic: NewRelicSink = NewRelicSink()
    self_metrics: SelfMetrics = SelfMetrics()
