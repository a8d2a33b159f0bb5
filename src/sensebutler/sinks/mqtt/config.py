"""``mqtt:`` — Butler SOS's topics and payloads on an MQTT broker."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sensebutler.config.base import Section
from sensebutler.config.sinks import SinkSection, TlsClient


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


class MqttTaskTopics(Section):
    """Butler's reload task topics (``mqttConfig.taskFailureTopic`` ...): the task name as text, and
    the whole alert as JSON on the ``_full`` topic (Butler ``taskFailureSendFull``)."""

    failure: MqttTopic = MqttTopic(topic="qliksense/task_failure")
    failure_full: MqttTopic = MqttTopic(topic="qliksense/task_failure_full")
    aborted: MqttTopic = MqttTopic(topic="qliksense/task_aborted")
    aborted_full: MqttTopic = MqttTopic(topic="qliksense/task_aborted_full")


class MqttMonitorTopics(Section):
    """Butler's topics for the monitors (``mqttConfig``); defaults are Butler's."""

    #: ``<topic>/<host>/<service name>``: JSON on a change to RUNNING / to STOPPED, and at every check
    service_running: str = Field(default="qliksense/service_running", min_length=1)
    service_stopped: str = Field(default="qliksense/service_stopped", min_length=1)
    service_status: str = Field(default="qliksense/service_status", min_length=1)
    #: JSON ``{licenseExpired, expiryDateStr, daysUntilExpiry}`` at every check
    server_license: str = Field(default="qliksense/qliksense_server_license", min_length=1)
    #: text, when the licence expired or expires within the threshold
    server_license_expire: str = Field(default="qliksense/qliksense_server_license_expire", min_length=1)
    #: the number of users with a session (text), their user ids (JSON array), and per proxy
    #: ``<active_users_per_server>/<host>/count``; on every change
    active_user_count: str = Field(default="qliksense/users/active/count", min_length=1)
    active_users: str = Field(default="qliksense/users/active/usernames", min_length=1)
    active_users_per_server: str = Field(default="qliksense/users/activeperserver", min_length=1)
    #: ``<topic>/<scope>/<host>``: JSON when an engine restarted or a node came back *(own)*
    restarted: str = Field(default="qliksense/restarted", min_length=1)
    #: ``<topic>/<host>``: JSON when the Sense version of a host changed *(own)*
    version_changed: str = Field(default="qliksense/version_changed", min_length=1)


class MqttSection(SinkSection):
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
    #: failed and aborted reload tasks (``reload_alert`` events; ``alerts.enable`` must be on)
    task_topics: MqttTaskTopics = MqttTaskTopics()
    #: Butler's service, licence and active-user topics; the log database uses ``base_topic``
    monitors: MqttMonitorTopics = MqttMonitorTopics()
