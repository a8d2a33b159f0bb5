"""Events → store records: numeric samples of low-cardinality series, and searchable entries.

Polled and ingest events reuse the canonical InfluxDB point mapping (``sinks/influxdb/mapping.py``):
its numeric fields become samples, keeping only tags of bounded cardinality (node, proxy, sink ...),
so the number of series stays small whatever the users do. UDP events become one *entry* each (the
text the Logs and Reloads pages list and search) plus a count sample by level, service and node.

A record is a small JSON array (bytes, so the delivery spool can hold it):

* ``["s", measurement, field, tags, time_ns, value]`` — ``tags`` is canonical JSON text (sorted keys)
* ``["e", kind, time_ns, host, level, source, name, detail, value, extra]``
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from sensebutler.events import Event
from sensebutler.events.alerts import AlertReceived, ReloadAlert
from sensebutler.events.ingest import EventCount, UdpQueueMetrics
from sensebutler.events.monitors import (
    LicenseUsage,
    Restarted,
    ServerLicense,
    ServiceState,
    ServiceStateChanged,
)
from sensebutler.events.polled import HealthSample, PollFailed, ProxySessions, SelfMetrics
from sensebutler.events.udp import EngineReloadFailedEvent, LogEvent, QixPerfEvent, TaskEvent, UserEvent
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions, error_category

#: the event kinds the store keeps
SUPPORTED_KINDS = frozenset(
    {
        HealthSample.kind,
        ProxySessions.kind,
        SelfMetrics.kind,
        PollFailed.kind,
        EventCount.kind,
        UdpQueueMetrics.kind,
        LogEvent.kind,
        QixPerfEvent.kind,
        UserEvent.kind,
        TaskEvent.kind,
        EngineReloadFailedEvent.kind,
        ReloadAlert.kind,
        AlertReceived.kind,
        ServiceState.kind,
        ServiceStateChanged.kind,
        Restarted.kind,
        LicenseUsage.kind,
        ServerLicense.kind,
    }
)
#: canonical measurements whose numeric fields are kept (the others carry ids or text only)
SAMPLED_MEASUREMENTS = frozenset(
    {
        "mem",
        "apps",
        "cpu",
        "session",
        "users",
        "cache",
        "saturated",
        "user_session_summary",
        "butlersos_memory_usage",
        "sensebutler_sink",
        "sensebutler_processor",
        "sensebutler_poll",
        "event_count",
        "log_events_queue",
        "user_events_queue",
        "task_events_queue",
        "qlik_sense_license",
        "qlik_sense_server_license",
    }
)
#: tags of bounded cardinality; every other tag is left out of the series key
KEPT_TAGS = frozenset(
    {
        "server_name",
        "host",
        "user_session_virtual_proxy",
        "sink",
        "processor",
        "target",
        "queue_type",
        "event_type",
        "source",
        "level",
        "category",
        "event_action",
        "browser",
        "os",
        "outcome",
        "license_type",
    }
)
#: the last characters of a reload's script log kept with its entry
SCRIPT_LOG_TAIL = 4000


def sample(measurement: str, field: str, tags: Mapping[str, str], time_ns: int, value: float) -> bytes:
    key = orjson.dumps({k: v for k, v in tags.items() if v}, option=orjson.OPT_SORT_KEYS).decode()
    return orjson.dumps(["s", measurement, field, key, time_ns, value])


def entry(
    kind: str,
    time_ns: int,
    *,
    host: str = "",
    level: str = "",
    source: str = "",
    name: str = "",
    detail: str = "",
    value: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    return orjson.dumps(["e", kind, time_ns, host, level, source, name, detail, value, extra or {}])


class StoreMapping:
    """Maps one event to its store records (total: unknown kinds give none)."""

    def __init__(self) -> None:
        self._points = InfluxMapping(MappingOptions(sink_name="store"))

    def encode(self, event: Event) -> list[bytes]:
        if isinstance(event, LogEvent):
            return self._log(event)
        if isinstance(event, QixPerfEvent):
            return self._qix(event)
        if isinstance(event, UserEvent):
            return self._user(event)
        if isinstance(event, TaskEvent):
            return self._task(event)
        if isinstance(event, ReloadAlert):
            return self._alert(event)
        if isinstance(event, ServiceState | ServiceStateChanged | Restarted):
            return _monitored(event)
        if isinstance(event, AlertReceived):
            return [
                entry(
                    "alert",
                    event.time_ns,
                    level=event.channel,
                    source=event.to,
                    name=event.subject,
                    detail=event.body[-SCRIPT_LOG_TAIL:],
                )
            ]
        if isinstance(event, EngineReloadFailedEvent):
            return [
                entry(
                    "task",
                    event.time_ns,
                    host=event.host,
                    level="failed",
                    name=event.app_name,
                    detail=event.message,
                    extra={"app_id": event.app_id, "execution_id": event.execution_id},
                )
            ]
        records = self._samples(event)
        if isinstance(event, PollFailed):
            records.append(
                entry(
                    "poll_failed",
                    event.time_ns,
                    host=event.server.name,
                    level=error_category(event),
                    source=event.target,
                    detail=event.message,
                    value=event.duration_ms,
                )
            )
        return records

    def _samples(self, event: Event) -> list[bytes]:
        records = []
        for point in self._points.points(event):
            if point.measurement not in SAMPLED_MEASUREMENTS:
                continue
            tags = {k: v for k, v in point.tags.items() if k in KEPT_TAGS}
            for name, value in point.fields.items():
                if isinstance(value, bool):
                    value = int(value)
                if isinstance(value, int | float):
                    records.append(sample(point.measurement, name, tags, point.time_ns, float(value)))
        return records

    def _log(self, event: LogEvent) -> list[bytes]:
        category = ",".join(value for _, value in event.categories)
        tags = {"level": event.level, "source": event.source, "host": event.host, "category": category}
        return [
            sample("log", "count", tags, event.time_ns, 1.0),
            entry(
                "log",
                event.time_ns,
                host=event.host,
                level=event.level,
                source=event.source,
                name=event.subsystem,
                detail=event.message or event.exception_message,
                extra={"category": category, "task_name": event.task_name, "app_name": event.app_name},
            ),
        ]

    def _qix(self, event: QixPerfEvent) -> list[bytes]:
        name = f"{event.object_type or '-'} / {event.method or '-'}"
        return [
            entry(
                "qix",
                event.time_ns,
                host=event.host,
                source=event.app_name or event.app_id,
                name=name,
                detail=event.object_id,
                value=float(event.process_time),
            )
        ]

    def _user(self, event: UserEvent) -> list[bytes]:
        tags = {
            "host": event.host,
            "event_action": event.command,
            "browser": event.ua_browser_name,
            "os": event.ua_os_name,
        }
        return [
            sample("user_events", "count", tags, event.time_ns, 1.0),
            entry(
                "user",
                event.time_ns,
                host=event.host,
                level=event.command,
                source=event.origin,
                name=event.app_name or event.app_id,
                detail=event.user_full,
                extra={"browser": event.ua_browser_name, "os": event.ua_os_name},
            ),
        ]

    def _task(self, event: TaskEvent) -> list[bytes]:
        extra = {"task_id": event.task_id, "app_name": event.app_name, "execution_id": event.execution_id}
        return [
            sample("task", "count", {"outcome": event.event_type, "host": event.host}, event.time_ns, 1.0),
            entry(
                "task",
                event.time_ns,
                host=event.host,
                level=event.event_type,
                name=event.task_name,
                detail=event.message,
                extra=extra,
            ),
        ]

    def _alert(self, event: ReloadAlert) -> list[bytes]:
        source = event.source
        duration = None
        extra: dict[str, Any] = {"missing": list(event.missing), "task_id": source.task_id}
        if event.execution is not None:
            extra["execution"] = _plain(event.execution)
            duration_ms = getattr(event.execution, "duration_ms", None)
            if isinstance(duration_ms, int | float):
                duration = float(duration_ms) / 1000
        records = [
            entry(
                "reload",
                event.time_ns,
                host=source.host,
                level=str(event.outcome),
                source=str(event.task_type),
                name=source.task_name,
                detail=(event.script_log or "")[-SCRIPT_LOG_TAIL:],
                value=duration,
                extra=extra,
            )
        ]
        if duration is not None and event.outcome == "success":
            tags = {"outcome": str(event.outcome), "source": source.task_name[:200]}
            records.append(sample("reload", "duration_s", tags, event.time_ns, duration))
        return records


def _monitored(event: ServiceState | ServiceStateChanged | Restarted) -> list[bytes]:
    """A service's state as a running (1) / not running (0) sample per ``node / service``; its
    changes and node or engine restarts as entries."""
    if isinstance(event, ServiceState):
        service = f"{event.node_name or event.host} / {event.friendly_name or event.service_name}"
        running = 1.0 if event.state == "RUNNING" else 0.0
        return [sample("service", "running", {"service": service}, event.time_ns, running)]
    if isinstance(event, ServiceStateChanged):
        state = event.current
        return [
            entry(
                "service",
                event.time_ns,
                host=state.node_name or state.host,
                level=state.state,
                source=event.previous,
                name=state.friendly_name or state.service_name,
            )
        ]
    return [
        entry(
            "restart",
            event.time_ns,
            host=event.host,
            level=event.scope,
            detail=f"down for up to {event.downtime_s:.0f} s",
            value=event.downtime_s,
        )
    ]


def _plain(value: object) -> Any:
    """A dataclass tree as JSON-able values (for an entry's ``extra``)."""
    try:
        return orjson.loads(orjson.dumps(value, default=str))
    except TypeError:
        return str(value)
