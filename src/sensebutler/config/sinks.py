"""``influxdb:``, ``prometheus:``, ``mqtt:``, ``new_relic:`` — where metrics and events go.

Each sink has ``events:``: the event kinds it receives (empty = every kind it knows), and an
optional ``delivery:`` block replacing the global one for that sink.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

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
    """Written to (``rp=``) and, with ``create_database``, created as the database's default.
    ``name`` empty = write to whatever the database's default retention policy is."""

    name: str = "10d"
    #: InfluxQL duration: ``10d``, ``4w``, ``1h30m``, ``INF`` (keep forever)
    duration: str = Field(default="10d", pattern=r"^(INF|inf|([0-9]+(ns|u|µ|ms|s|m|h|d|w))+)$")


class InfluxV1(Section):
    database: str = "senseops"
    #: basic authentication when set
    username: str = ""
    password: SecretStr | None = None
    retention_policy: RetentionPolicy = RetentionPolicy()
    #: create the database and retention policy at startup when missing
    create_database: bool = True


class InfluxV2(Section):
    org: str = ""
    bucket: str = ""
    token: SecretStr | None = None


class InfluxV3(Section):
    database: str = ""
    #: empty for a server started without authentication
    token: SecretStr | None = None


class IncludeDocFields(Section):
    """Also write the app id/name lists of the ``apps`` measurement (Butler SOS: includeFields)."""

    active_docs: bool = False
    loaded_docs: bool = False
    in_memory_docs: bool = False


class InfluxDbSink(SinkSection):
    """InfluxDB 1.x, 2.x or 3.x, with Butler SOS's measurement names (see ``docs/influxdb.md``)."""

    version: Literal[1, 2, 3] = 1
    url: str = "http://127.0.0.1:8086"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: used for ``https://`` URLs: ``ca`` to trust, optional client certificate, ``verify``
    tls: TlsClient = TlsClient()
    v1: InfluxV1 = InfluxV1()
    v2: InfluxV2 = InfluxV2()
    v3: InfluxV3 = InfluxV3()
    include_fields: IncludeDocFields = IncludeDocFields()
    #: also write ``raw_event`` (the whole parsed log event as JSON) as Butler SOS does; off by default:
    #: it repeats the other fields, roughly doubles log-event storage and encoding time
    raw_event: bool = False
    #: ``butler_sos_instance`` tag of the self-metrics measurements
    instance_tag: str = "sensebutler"

    @model_validator(mode="after")
    def _version_settings_present(self) -> InfluxDbSink:
        if not self.enable:
            return self
        needed: dict[str, object] = {"v1.database": self.v1.database}
        if self.version == 2:
            needed = {"v2.org": self.v2.org, "v2.bucket": self.v2.bucket, "v2.token": self.v2.token}
        elif self.version == 3:
            needed = {"v3.database": self.v3.database}
        missing = [key for key, value in needed.items() if not value]
        if missing:
            raise ValueError(f"version {self.version} needs {', '.join(missing)}")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {self.url!r})")
        if self.tls.enable and not self.url.startswith("https://"):
            raise ValueError("tls.enable is true but url is not https://")
        return self


class PrometheusSink(FeatureSection):
    """``GET /metrics`` for Prometheus to scrape (pull: no delivery queue, no spool)."""

    host: str = "127.0.0.1"
    #: 0 = any free port (the bound port is logged)
    port: int = Field(default=9842, ge=0, le=65535)
    events: list[str] = []
    #: a server's series disappear when no sample came for this long; 0 = 3 × its polling interval
    stale_after_s: float = Field(default=0, ge=0)


class MqttTopic(Section):
    enable: bool = True
    topic: str = Field(min_length=1)


class MqttUserEventTopics(Section):
    """Butler SOS ``userEvents.sendToMQTT.postTo``: every event, and one topic per command."""

    everything: MqttTopic = MqttTopic(topic="qliksense/userevent")
    session_start: MqttTopic = MqttTopic(topic="qliksense/userevent/session/start")
    session_stop: MqttTopic = MqttTopic(topic="qliksense/userevent/session/stop")
    connection_open: MqttTopic = MqttTopic(topic="qliksense/userevent/connection/open")
    connection_close: MqttTopic = MqttTopic(topic="qliksense/userevent/connection/close")


class MqttLogEventTopics(Section):
    """Butler SOS ``logEvents.sendToMQTT``: ``topic`` itself and/or ``topic/<subsystem path>``."""

    topic: str = Field(default="qliksense/logevent", min_length=1)
    publish_to_topic: bool = True
    #: ``System.Scheduler.Slave`` → ``<topic>/system/scheduler/slave``
    publish_to_subsystem_topics: bool = True


class MqttSink(SinkSection):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: TlsClient = TlsClient()
    username: str = ""
    password: SecretStr | None = None
    #: empty = ``sensebutler-<hostname>-<pid>``
    client_id: str = ""
    keepalive_s: int = Field(default=60, ge=5, le=65535)
    qos: Literal[0, 1, 2] = 1
    retain: bool = False
    #: Butler SOS ``mqttConfig.baseTopic``: health and session topics are ``<base_topic><host>/...``
    base_topic: str = "butler-sos/"
    log_events: MqttLogEventTopics = MqttLogEventTopics()
    user_events: MqttUserEventTopics = MqttUserEventTopics()
    #: sensebutler's own metrics, as one JSON document on ``<self_metrics_topic>/<instance>``
    self_metrics_topic: str = Field(default="sensebutler/self", min_length=1)


class NewRelicAccount(Section):
    name: str = Field(min_length=1, pattern=r"^[^\r\n]+$")
    account_id: str = Field(pattern=r"^[0-9]+$")
    insert_api_key: SecretStr

    @field_validator("account_id", mode="before")
    @classmethod
    def _number_is_fine(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class NewRelicRouting(Section):
    """Which accounts (by name) receive each kind of data."""

    health: list[str] = []
    sessions: list[str] = []
    self_metrics: list[str] = []
    log_events: list[str] = []
    user_events: list[str] = []


class NewRelicMetricGroups(Section):
    """Which health metrics are sent (Butler SOS ``newRelic.metric.dynamic.*.enable``)."""

    memory: bool = True
    cpu: bool = True
    calls: bool = True
    selections: bool = True
    sessions: bool = True
    users: bool = True
    saturated: bool = True
    doc_count: bool = True
    cache: bool = True


class NewRelicLogEvents(Section):
    """Which log events become ``qs_logEvent`` (Butler SOS ``logEvents.sendToNewRelic.source``)."""

    sources: list[Literal["engine", "proxy", "repository", "scheduler"]] = [
        "engine",
        "proxy",
        "repository",
        "scheduler",
    ]
    levels: list[Literal["warn", "error", "fatal"]] = ["warn", "error", "fatal"]


class NewRelicSink(SinkSection):
    accounts: list[NewRelicAccount] = []
    metric_url: str = "https://metric-api.eu.newrelic.com/metric/v1"
    event_url: str = "https://insights-collector.eu01.nr-data.net"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    headers: dict[str, str] = {}
    static_attributes: dict[str, str] = {}
    routing: NewRelicRouting = NewRelicRouting()
    metric_groups: NewRelicMetricGroups = NewRelicMetricGroups()
    log_events: NewRelicLogEvents = NewRelicLogEvents()
    #: hash user names in user events (Butler SOS: sendToNewRelic.scramble)
    scramble_users: bool = True
    required_when_enabled = ("accounts",)

    @model_validator(mode="after")
    def _routes_name_known_accounts(self) -> NewRelicSink:
        names = [account.name for account in self.accounts]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"account names must be unique; repeated: {', '.join(repeated)}")
        if not self.enable:
            return self
        unknown = [
            f"routing.{kind}: {name!r}"
            for kind, targets in self.routing.model_dump().items()
            for name in targets
            if name not in names
        ]
        if unknown:
            known = ", ".join(names) or "none"
            raise ValueError(f"unknown New Relic account(s) {', '.join(unknown)}; accounts are: {known}")
        return self
