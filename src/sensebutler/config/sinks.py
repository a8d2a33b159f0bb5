"""``influxdb:``, ``prometheus:``, ``mqtt:``, ``new_relic:`` — where metrics and events go.

Each sink has ``events:``: the event kinds it receives (empty = every kind it knows), and an
optional ``delivery:`` block replacing the global one for that sink.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sensebutler.config.base import FeatureSection, Section
from sensebutler.config.delivery import DeliveryConfig


class TlsClient(Section):
    """TLS towards a destination. ``ca`` empty = the system trust store."""

    enable: bool = False
    ca: str = ""
    client_cert: str = ""
    client_key: str = ""
    verify: bool = True


class SinkSection(FeatureSection):
    events: list[str] = []
    delivery: DeliveryConfig | None = None


class RetentionPolicy(Section):
    name: str = "10d"
    duration: str = "10d"


class InfluxV1(Section):
    database: str = "senseops"
    username: str = ""
    password: SecretStr | None = None
    retention_policy: RetentionPolicy = RetentionPolicy()
    #: create the database and retention policy when missing
    create_database: bool = True


class InfluxV2(Section):
    org: str = ""
    bucket: str = ""
    token: SecretStr | None = None


class InfluxV3(Section):
    database: str = ""
    token: SecretStr | None = None


class IncludeDocFields(Section):
    """Also write the app id/name lists of the ``apps`` measurement (Butler SOS: includeFields)."""

    active_docs: bool = False
    loaded_docs: bool = False
    in_memory_docs: bool = False


class InfluxDbSink(SinkSection):
    version: Literal[1, 2, 3] = 1
    url: str = "http://127.0.0.1:8086"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    tls: TlsClient = TlsClient()
    v1: InfluxV1 = InfluxV1()
    v2: InfluxV2 = InfluxV2()
    v3: InfluxV3 = InfluxV3()
    include_fields: IncludeDocFields = IncludeDocFields()
    #: ``butler_sos_instance`` tag of the self-metrics measurement
    instance_tag: str = "sensebutler"


class PrometheusSink(FeatureSection):
    host: str = "127.0.0.1"
    port: int = Field(default=9842, ge=0, le=65535)


class MqttSink(SinkSection):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: TlsClient = TlsClient()
    username: str = ""
    password: SecretStr | None = None
    client_id: str = ""
    qos: Literal[0, 1, 2] = 1
    retain: bool = False
    #: Butler SOS ``mqttConfig.baseTopic``: health and session topics live below it
    base_topic: str = "butler-sos/"
    log_events_topic: str = "qliksense/logevent"
    log_events_subsystem_topics: bool = True
    user_events_topic: str = "qliksense/userevent"
    user_events_command_topics: bool = True


class NewRelicAccount(Section):
    name: str
    account_id: str
    insert_api_key: SecretStr


class NewRelicRouting(Section):
    """Which accounts (by name) receive each kind of data."""

    health: list[str] = []
    sessions: list[str] = []
    self_metrics: list[str] = []
    log_events: list[str] = []
    user_events: list[str] = []


class NewRelicSink(SinkSection):
    accounts: list[NewRelicAccount] = []
    metric_url: str = "https://metric-api.eu.newrelic.com/metric/v1"
    event_url: str = "https://insights-collector.eu01.nr-data.net"
    headers: dict[str, str] = {}
    static_attributes: dict[str, str] = {}
    routing: NewRelicRouting = NewRelicRouting()
    #: hash user names in user events (Butler SOS: sendToNewRelic.scramble)
    scramble_users: bool = True
    required_when_enabled = ("accounts",)
