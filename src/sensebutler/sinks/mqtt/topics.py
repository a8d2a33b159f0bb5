"""Butler SOS's MQTT topics and payloads for each event (butler-sos.md §4.11)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import orjson
from msgspec.structs import asdict

from sensebutler.events import Event
from sensebutler.events.alerts import TASK_TYPES, ReloadAlert
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
from sensebutler.events.udp import SOURCE_FIELDS, LogEvent, QixPerfEvent, UserEvent
from sensebutler.sinks.mqtt.config import MqttSection, MqttTopic
from sensebutler.sinks.mqtt.records import Message, topic_level

_COMMON = ("log_row", "ts_iso", "ts_local", "level", "host", "subsystem", "windows_user")
_USER = ("user_directory", "user_id", "user_full")
#: Butler SOS's ``source`` value and the other fields of its parsed log event objects, per source
LOG_FIELDS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    source: (f"qseow-{source}", fields) for source, fields in SOURCE_FIELDS.items()
}
QIX_PERF_FIELDS = (
    *_COMMON,
    "proxy_session_id",
    *_USER,
    "engine_ts",
    "session_id",
    "app_id",
    "app_name",
    "request_id",
    "method",
    "process_time",
    "work_time",
    "lock_time",
    "validate_time",
    "traverse_time",
    "handle",
    "object_id",
    "net_ram",
    "peak_ram",
    "object_type",
    "event_activity_source",
)


def _on(topic: MqttTopic) -> MqttTopic | None:
    return topic if topic.enable else None


_TASK_TYPE_NUMBERS = {name: number for number, name in TASK_TYPES.items()}


def task_document(alert: ReloadAlert) -> dict[str, object]:
    """The ``_full`` topic's JSON: Butler's keys (butler.md §8.4), plus ``missing``.

    ``qs_taskMetadata`` has the ``task/full`` fields the enricher keeps, under QRS's names.
    """
    source, task, app = alert.source, alert.task, alert.app
    metadata: dict[str, object] = {"id": source.task_id, "name": source.task_name}
    if task is not None:
        metadata.update(
            {
                "taskType": _TASK_TYPE_NUMBERS[task.task_type],
                "isManuallyTriggered": task.is_manually_triggered,
                "isPartialReload": task.is_partial_reload,
                "maxRetries": task.max_retries,
                "modifiedByUserName": task.modified_by_username,
                "modifiedDate": task.modified_date,
                "taskSessionTimeout": task.session_timeout,
                "tags": [{"name": tag} for tag in task.tags],
                "customProperties": [
                    {"definition": {"name": item.name}, "value": item.value}
                    for item in task.custom_properties
                ],
                "operational": {"nextExecution": task.next_execution},
            }
        )
    return {
        "hostName": source.host,
        "user": source.user.replace("\\\\", "\\"),
        "taskName": source.task_name,
        "taskId": source.task_id,
        "appName": source.app_name,
        "appId": source.app_id,
        "logTimeStamp": source.log_timestamp,
        "logLevel": source.level,
        "executionId": source.execution_id,
        "logMessage": source.message,
        "qs_appTags": list(app.tags) if app is not None else [],
        "qs_appCustomProperties": [
            {"name": item.name, "value": item.value} for item in (app.custom_properties if app else ())
        ],
        "qs_taskTags": list(task.tags) if task is not None else [],
        "qs_taskCustomProperties": [
            {"name": item.name, "value": item.value} for item in (task.custom_properties if task else ())
        ],
        "qs_taskMetadata": metadata,
        "missing": list(alert.missing),
    }


def js_number(value: float) -> str:
    """A number as JavaScript prints it (``12`` not ``12.0``), as Butler SOS's topics carry it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class TopicMap:
    """Turns events into messages; everything it needs from config is copied at construction."""

    def __init__(
        self, section: MqttSection, log_tags: Mapping[str, str], user_tags: Mapping[str, str]
    ) -> None:
        self.base_topic = section.base_topic
        self.qos = section.qos
        self.retain = section.retain
        self.log_events = section.log_events.model_copy()
        topics = section.user_events
        self.user_everything: MqttTopic | None = topics.everything if topics.everything.enable else None
        self.user_by_command: dict[str, MqttTopic] = {
            command: topic
            for command, topic in (
                ("Start session", topics.session_start),
                ("Stop session", topics.session_stop),
                ("Open connection", topics.connection_open),
                ("Close connection", topics.connection_close),
            )
            if topic.enable
        }
        self.self_metrics_topic = section.self_metrics_topic
        tasks = section.task_topics
        #: reload outcome → (task name topic, JSON topic), each None when off
        self.task_topics: dict[str, tuple[MqttTopic | None, MqttTopic | None]] = {
            "failed": (_on(tasks.failure), _on(tasks.failure_full)),
            "aborted": (_on(tasks.aborted), _on(tasks.aborted_full)),
        }
        self.monitor_topics = section.monitors.model_copy()
        self.log_tags = dict(log_tags)
        self.user_tags = dict(user_tags)

    def messages(self, event: Event) -> Iterator[Message]:
        if isinstance(event, HealthSample):
            yield from self._health(event)
        elif isinstance(event, ProxySessions):
            yield self._sessions(event)
        elif isinstance(event, LogEvent | QixPerfEvent):
            yield from self._log(event)
        elif isinstance(event, UserEvent):
            yield from self._user(event)
        elif isinstance(event, ReloadAlert):
            yield from self._task(event)
        elif isinstance(event, SelfMetrics):
            yield self._message(
                f"{self.self_metrics_topic}/{topic_level(event.instance)}", orjson.dumps(asdict(event))
            )
        else:
            yield from self._monitor(event)

    def _monitor(self, event: Event) -> Iterator[Message]:
        topics = self.monitor_topics
        if isinstance(event, ServiceState):
            yield self._service(topics.service_status, event, None)
        elif isinstance(event, ServiceStateChanged):
            state = event.current.state
            if state in ("RUNNING", "STOPPED"):
                topic = topics.service_running if state == "RUNNING" else topics.service_stopped
                yield self._service(topic, event.current, event.previous)
        elif isinstance(event, ServerLicense):
            yield self._message(topics.server_license, orjson.dumps(event.butler_json()))
        elif isinstance(event, ServerLicenseAlert):
            yield self._message(topics.server_license_expire, event.message.encode())
        elif isinstance(event, ActiveUsers):
            yield self._message(topics.active_user_count, str(event.count).encode())
            yield self._message(topics.active_users, orjson.dumps(list(event.users)))
            for host, users in event.per_host.items():
                topic = f"{topics.active_users_per_server}/{topic_level(host)}/count"
                yield self._message(topic, str(len(users)).encode())
        elif isinstance(event, Restarted):
            document = {
                "scope": event.scope,
                "host": event.host,
                "serverName": event.server.name if event.server is not None else "",
                "downtimeSeconds": round(event.downtime_s, 3),
                "started": event.started,
                "previousStarted": event.previous_started,
            }
            topic = f"{topics.restarted}/{event.scope}/{topic_level(event.host)}"
            yield self._message(topic, orjson.dumps(document))
        elif isinstance(event, SenseVersionChanged):
            document = {"host": event.host, "previous": event.previous, "version": event.current.version}
            yield self._message(f"{topics.version_changed}/{topic_level(event.host)}", orjson.dumps(document))
        elif isinstance(event, LogDbEntry):
            topic = f"{self.base_topic}{topic_level(event.host)}/{topic_level(event.process)}/{event.level}"
            document = {
                "id": event.id,
                "host": event.host,
                "process": event.process,
                "level": event.level,
                "message": event.message,
            }
            yield self._message(topic, orjson.dumps(document))

    def _service(self, topic: str, state: ServiceState, previous: str | None) -> Message:
        document: dict[str, object] = {
            "serviceHost": state.host,
            "serviceName": state.service_name,
            "serviceDisplayName": state.display_name,
            "serviceFriendlyName": state.friendly_name,
            "serviceDependencies": list(state.dependencies),
            "serviceStartType": state.start_type,
            "serviceExePath": state.exe_path,
            "serviceStatus": state.state,
        }
        if previous is not None:
            document["servicePrevStatus"] = previous
            document["serviceStatusChanged"] = True
        full = f"{topic}/{topic_level(state.host)}/{topic_level(state.service_name)}"
        return self._message(full, orjson.dumps(document))

    def _task(self, alert: ReloadAlert) -> Iterator[Message]:
        """Butler publishes failed and aborted reload tasks only."""
        if alert.task_type != "reload":
            return
        basic, full = self.task_topics.get(alert.outcome, (None, None))
        if basic is not None:
            yield self._message(basic.topic, alert.source.task_name.encode())
        if full is not None:
            yield self._message(full.topic, orjson.dumps(task_document(alert)))

    def _message(self, topic: str, payload: bytes) -> Message:
        return Message(topic, payload, self.qos, self.retain)

    def _health(self, s: HealthSample) -> Iterator[Message]:
        values: list[tuple[str, str]] = [
            ("version", s.version),
            ("started", s.started),
            ("mem/comitted", js_number(s.mem_committed)),  # sic: Butler SOS's spelling
            ("mem/allocated", js_number(s.mem_allocated)),
            ("mem/free", js_number(s.mem_free)),
            ("cpu/total", js_number(s.cpu_total)),
            ("session/active", str(s.session_active)),
            ("session/total", str(s.session_total)),
            ("apps/active_docs", ",".join(s.active_docs)),
            ("apps/loaded_docs", ",".join(s.loaded_docs)),
            ("apps/in_memory_docs", ",".join(s.in_memory_docs)),
            ("apps/calls", str(s.calls)),
            ("apps/selections", str(s.selections)),
            ("users/active", str(s.users_active)),
            ("users/total", str(s.users_total)),
            ("cache/hits", str(s.cache_hits)),
            ("cache/lookups", str(s.cache_lookups)),
            ("cache/added", str(s.cache_added)),
            ("cache/replaced", str(s.cache_replaced)),
            ("cache/bytes_added", str(s.cache_bytes_added)),
            ("saturated", "true" if s.saturated else "false"),
        ]
        if s.cache_lookups > 0:
            values.append(("cache/hit_ratio", str(math.floor(s.cache_hits / s.cache_lookups * 100))))
        prefix = f"{self.base_topic}{topic_level(s.server.host)}/"
        for path, value in values:
            yield self._message(prefix + path, value.encode())

    def _sessions(self, e: ProxySessions) -> Message:
        virtual_proxy = "/".join(topic_level(part) for part in e.virtual_proxy.split("/"))
        topic = f"{self.base_topic}{topic_level(e.server.host)}/usersession{virtual_proxy}"
        sessions = [
            {"UserDirectory": s.user_directory, "UserId": s.user_id, "SessionId": s.session_id}
            for s in e.sessions
        ]
        return self._message(topic, orjson.dumps(sessions, option=orjson.OPT_INDENT_2))

    def _log(self, e: LogEvent | QixPerfEvent) -> Iterator[Message]:
        if isinstance(e, LogEvent):
            source, fields = LOG_FIELDS[e.source]
        else:
            source, fields = "qseow-qix-perf", QIX_PERF_FIELDS
        categories = [{"name": name, "value": value} for name, value in e.categories]
        document: dict[str, object] = {"source": source}
        document.update((name, getattr(e, name)) for name in fields)
        document["category"] = categories
        document["tags"] = self.log_tags
        payload = orjson.dumps(document)
        topic = self.log_events.topic
        if self.log_events.publish_to_topic:
            yield self._message(topic, payload)
        if self.log_events.publish_to_subsystem_topics and e.subsystem:
            path = "/".join(topic_level(part.lower()) for part in e.subsystem.split("."))
            yield self._message(f"{topic}/{path}", payload)

    def _user(self, e: UserEvent) -> Iterator[Message]:
        document: dict[str, object] = {
            "messageType": e.message_type,
            "host": e.host,
            "command": e.command,
            "userDir": e.user_directory,
            "userId": e.user_id,
            "origin": e.origin,
            "context": e.context,
            "message": e.message,
            "tags": self.user_tags,
        }
        optional = (
            ("appId", e.app_id),
            ("appName", e.app_name),
            ("uaBrowserName", e.ua_browser_name),
            ("uaBrowserMajorVersion", e.ua_browser_major),
            ("uaOsName", e.ua_os_name),
            ("uaOsVersion", e.ua_os_version),
        )
        document.update((key, value) for key, value in optional if value)
        payload = orjson.dumps(document)
        if self.user_everything is not None:
            yield self._message(self.user_everything.topic, payload)
        by_command = self.user_by_command.get(e.command)
        if by_command is not None:
            yield self._message(by_command.topic, payload)
