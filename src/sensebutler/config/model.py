"""The whole configuration file: one section per feature.

Sections are switched on with ``enable: true``; a disabled section needs nothing else. See
``config/example.yaml`` for an annotated file.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from sensebutler.alerts.config import AlertsSection
from sensebutler.api.config import ApiSection
from sensebutler.config.base import FeatureSection, Section
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.config.logging import LoggingConfig
from sensebutler.config.polling import PollingConfig
from sensebutler.config.qlik import QlikConfig
from sensebutler.config.state import StateConfig
from sensebutler.config.udp import UdpConfig
from sensebutler.config.web import WebConfig
from sensebutler.monitors.config import MonitorsConfig
from sensebutler.sinks.email.config import EmailSection
from sensebutler.sinks.influxdb.config import InfluxDbSection
from sensebutler.sinks.mqtt.config import MqttSection
from sensebutler.sinks.newrelic.config import NewRelicSection
from sensebutler.sinks.prometheus.config import PrometheusSection
from sensebutler.sinks.script_log_files.config import ScriptLogFilesSection
from sensebutler.sinks.signl4.config import Signl4Section
from sensebutler.sinks.slack.config import SlackSection
from sensebutler.sinks.store.config import StoreSection
from sensebutler.sinks.teams.config import TeamsSection
from sensebutler.sinks.webhook.config import WebhookSection
from sensebutler.web.dashboard.config import DashboardSection


class SelfMetricsSection(FeatureSection):
    """sensebutler's own uptime, memory and pipeline counters, sent to every enabled sink."""

    enable: bool = True
    interval_s: float = Field(default=60.0, ge=1, le=86_400)


class Config(Section):
    logging: LoggingConfig = LoggingConfig()
    state: StateConfig = StateConfig()
    qlik: QlikConfig = QlikConfig()
    polling: PollingConfig = PollingConfig()
    udp: UdpConfig = UdpConfig()
    alerts: AlertsSection = AlertsSection()
    delivery: DeliveryConfig = DeliveryConfig()
    influxdb: InfluxDbSection = InfluxDbSection()
    prometheus: PrometheusSection = PrometheusSection()
    mqtt: MqttSection = MqttSection()
    new_relic: NewRelicSection = NewRelicSection()
    email: EmailSection = EmailSection()
    slack: SlackSection = SlackSection()
    teams: TeamsSection = TeamsSection()
    webhook: WebhookSection = WebhookSection()
    signl4: Signl4Section = Signl4Section()
    script_log_files: ScriptLogFilesSection = ScriptLogFilesSection()
    store: StoreSection = StoreSection()
    dashboard: DashboardSection = DashboardSection()
    self_metrics: SelfMetricsSection = SelfMetricsSection()
    monitors: MonitorsConfig = MonitorsConfig()
    web: WebConfig = WebConfig()
    api: ApiSection = ApiSection()

    @model_validator(mode="after")
    def _listeners_exist(self) -> Config:
        if self.prometheus.enable and self.prometheus.listener not in self.web.listeners:
            known = ", ".join(sorted(self.web.listeners)) or "none"
            raise ValueError(
                f"prometheus.listener is {self.prometheus.listener!r}, which web.listeners does not define "
                f"(defined: {known})"
            )
        if self.api.enable and self.api.listener not in self.web.listeners:
            known = ", ".join(sorted(self.web.listeners)) or "none"
            raise ValueError(
                f"api.listener is {self.api.listener!r}, which web.listeners does not define "
                f"(defined: {known})"
            )
        return self
