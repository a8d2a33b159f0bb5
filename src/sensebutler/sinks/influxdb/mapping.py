"""Canonical events → InfluxDB points, with Butler SOS's measurement, tag and field names.

:meth:`InfluxMapping.points` builds points with canonical names and values; :meth:`render` writes
one as line protocol for the configured InfluxDB version (names and types from ``schema.py``).
Choices, documented for users in ``docs/influxdb.md``:

* Ids with unbounded cardinality (log rows, session ids, object ids) are fields, not tags. Points
  that lost their unique tag would overwrite each other when two share series and timestamp, so
  their timestamps get a sub-microsecond offset: the session's position for
  ``user_session_details``, a rolling 0–999 ns sequence for ``log_event`` and ``user_events``.
* Negative (or beyond-int64) counters from Sense (Butler SOS issue #933: ``cache.bytes_added``
  overflowing) are clamped and counted in :attr:`InfluxMapping.clamped`.
* Empty tag values are left out: line protocol cannot carry them.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import methodcaller
from typing import Any, NamedTuple

from sensebutler.alerts.context import ContextOptions
from sensebutler.events import Event
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.ingest import EventCount, RejectedEventCount, UdpQueueMetrics
from sensebutler.events.monitors import (
    LicenseReleased,
    LicenseUsage,
    LogDbEntry,
    Restarted,
    SenseVersion,
    ServerLicense,
    ServiceState,
    Uptime,
)
from sensebutler.events.polled import HealthSample, PollFailed, ProxySessions, SelfMetrics, ServerRef
from sensebutler.events.udp import LogEvent, QixPerfEvent, UserEvent
from sensebutler.hotpath import LineRenderer
from sensebutler.logs import RateLimitedLog
from sensebutler.sinks.influxdb import monitor_points
from sensebutler.sinks.influxdb.config import TaskPointsSection
from sensebutler.sinks.influxdb.line_protocol import (
    FieldValue,
)
from sensebutler.sinks.influxdb.schema import PROFILES, Version
from sensebutler.sinks.influxdb.task_points import TaskPointMaker

log = logging.getLogger(__name__)

INT64_MAX = 2**63 - 1
_TAG_CACHE_LIMIT = 100_000
_NO_WRITERS: dict[str, tuple[str, Callable[[FieldValue], str | None]]] = {}
_MIB = 1024 * 1024
DOC_LISTS = ("active_docs", "loaded_docs", "in_memory_docs")
SESSION_APP_PREFIX = "SessionApp"

#: the event kinds this mapping writes
SUPPORTED_KINDS = frozenset(
    {
        HealthSample.kind,
        ProxySessions.kind,
        SelfMetrics.kind,
        PollFailed.kind,
        LogEvent.kind,
        QixPerfEvent.kind,
        UserEvent.kind,
        EventCount.kind,
        RejectedEventCount.kind,
        UdpQueueMetrics.kind,
        ReloadAlert.kind,
        ServiceState.kind,
        Restarted.kind,
        LicenseUsage.kind,
        LicenseReleased.kind,
        ServerLicense.kind,
        SenseVersion.kind,
        Uptime.kind,
        LogDbEntry.kind,
    }
)


class Point(NamedTuple):
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time_ns: int


@dataclass(frozen=True)
class MappingOptions:
    version: Version = 1
    #: which of active/loaded/in-memory docs get their id and name lists written (``include_fields``)
    include_docs: frozenset[str] = frozenset()
    #: app names are polled from QRS (else the name lists stay empty, as in Butler SOS)
    app_names: bool = True
    #: ``butler_sos_instance`` / ``instance`` tag of the self-metrics measurements
    instance: str = ""
    log_event_tags: Mapping[str, str] = field(default_factory=dict)
    user_event_tags: Mapping[str, str] = field(default_factory=dict)
    #: static tags of ``event_count``, ``rejected_event_count`` and the queue measurements (by queue type)
    event_count_tags: Mapping[str, str] = field(default_factory=dict)
    rejected_event_tags: Mapping[str, str] = field(default_factory=dict)
    queue_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: write ``raw_event`` (the whole parsed event as JSON) with every log event
    raw_event: bool = False
    #: this sink's own name: its ``sensebutler_sink`` row also reports ``values_clamped``
    sink_name: str = "influxdb"
    #: which task outcomes become points, with their tags (``influxdb.tasks``)
    tasks: TaskPointsSection = field(default_factory=TaskPointsSection)
    #: time zone and URLs of the task points' time objects (``alerts:``)
    alert_context: ContextOptions = field(default_factory=ContextOptions)


# -- engine uptime -------------------------------------------------------------------------------------

_STARTED = re.compile(
    r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?"
)


def parse_started(started: str) -> datetime | None:
    """The engine's ``started`` (``20240110T030001.000+0100``) as an aware datetime; no offset = UTC."""
    match = _STARTED.fullmatch(started.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None


def engine_uptime(started: str, at_ns: int) -> str:
    """``"5 days, 6h 42m 11s"`` from ``started`` (its UTC offset honoured) to ``at_ns``; "" if unparsable."""
    start = parse_started(started)
    if start is None:
        return ""
    seconds = max(0, at_ns // 1_000_000_000 - int(start.timestamp()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"{days} days, {hours}h {minutes:02d}m {secs:02d}s"


# -- helpers ---------------------------------------------------------------------------------------------


def tag_text(value: str | int | float | bool) -> str:
    """A config tag value as text (booleans as ``true``/``false``, as Butler SOS's YAML gave them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def server_tags(server: ServerRef) -> dict[str, str]:
    tags = {"host": server.host, "server_name": server.name, "server_description": server.description}
    for key, value in server.tags:
        tags.setdefault(key, tag_text(value))
    return tags


_USER_EVENT_TAGS = (
    ("userDirectory", "user_directory"),
    ("userId", "user_id"),
    ("origin", "origin"),
    ("appId", "app_id"),
    ("appName", "app_name"),
    ("uaBrowserName", "ua_browser_name"),
    ("uaBrowserMajorVersion", "ua_browser_major"),
    ("uaOsName", "ua_os_name"),
    ("uaOsVersion", "ua_os_version"),
)


#: UDP input drop reasons → Butler SOS's queue-metric field names (others: messages_dropped_<reason>)
_DROP_FIELDS = {
    "rate_limited": "messages_dropped_rate_limit",
    "queue_full": "messages_dropped_queue_full",
    "too_large": "messages_dropped_size",
}

_ERROR_TYPES = {"health": "HEALTH_API", "sessions": "PROXY_API", "app_names": "APP_NAMES_EXTRACT"}
_ERROR_MODULES = {"health": "HEALTH_METRICS", "sessions": "PROXY_SESSIONS", "app_names": "APP_NAMES"}
_ERROR_CATEGORIES = {"tls_error": "certificate_error", "dns_error": "host_not_found"}
_CODE_CATEGORIES = {"ECONNRESET": "connection_reset", "ECONNREFUSED": "connection_refused"}
_STATUS_CATEGORIES = {401: "auth_error", 403: "auth_error", 404: "not_found", 429: "rate_limited"}


def error_category(event: PollFailed) -> str:
    """Butler SOS's ``error_category`` for a failed poll: by status, then socket error code, then ours."""
    if event.http_status in _STATUS_CATEGORIES:
        return _STATUS_CATEGORIES[event.http_status]
    if event.error_code in _CODE_CATEGORIES:
        return _CODE_CATEGORIES[event.error_code]
    return _ERROR_CATEGORIES.get(event.category, event.category)


#: a line's bytes; "replace": a lone surrogate (not UTF-8) becomes "?" instead of costing the event
_utf8: Callable[[str], bytes] = methodcaller("encode", "utf-8", "replace")


class InfluxMapping:
    """Maps events to points and renders them for one InfluxDB version."""

    def __init__(self, options: MappingOptions) -> None:
        self.options = options
        self.profile = PROFILES[options.version]
        #: ``measurement.field`` → how many values were out of range and clamped
        self.clamped: Counter[str] = Counter()
        self._renderer = LineRenderer(options.version, options.log_event_tags, options.raw_event)
        self._renderer.general = self._encode_points
        #: event → its line protocol records. The compiled renderer's ``encode`` writes a log or QIX
        #: event itself (one line, no Point, no Python frame on the way) and hands anything else to
        #: ``_encode_points``
        self.encode: Callable[[Event], list[bytes]] = self._renderer.encode
        self._server_tags: dict[ServerRef, dict[str, str]] = {}
        self._clamp_log = RateLimitedLog(log, 300.0)
        self._mappers: dict[type[Event], Callable[[Any], list[Point]]] = {
            HealthSample: self._health,
            ProxySessions: self._sessions,
            SelfMetrics: self._self,
            PollFailed: self._poll_failed,
            LogEvent: self._log_event,
            QixPerfEvent: self._qix_perf,
            UserEvent: self._user_event,
            EventCount: self._event_count,
            RejectedEventCount: self._rejected_event_count,
            UdpQueueMetrics: self._udp_queue,
            ReloadAlert: self._task_outcome,
            ServiceState: lambda e: monitor_points.service_state(e, Point),
            Restarted: lambda e: monitor_points.restarted(e, Point, self._tags_of),
            LicenseUsage: lambda e: monitor_points.license_usage(e, Point),
            LicenseReleased: lambda e: monitor_points.license_released(e, Point),
            ServerLicense: lambda e: monitor_points.server_license(e, Point),
            SenseVersion: lambda e: monitor_points.sense_version(e, Point),
            Uptime: lambda e: monitor_points.uptime(e, Point, self.options.instance),
            LogDbEntry: lambda e: monitor_points.log_db_entry(e, Point, self._tags_of),
        }
        self._task_points = TaskPointMaker(options.tasks, options.alert_context)

    # -- public ------------------------------------------------------------------------------------
    def points(self, event: Event) -> list[Point]:
        mapper = self._mappers.get(type(event))
        return mapper(event) if mapper is not None else []

    def render(self, point: Point) -> str:
        """One line of line protocol; ``""`` when the point has no field that can be written."""
        return self._renderer.line(point.measurement, point.tags, point.fields, point.time_ns)

    def _encode_points(self, event: Event) -> list[bytes]:
        """``encode`` of every event but log and QIX events: points, then their lines."""
        lines = (self.render(point) for point in self.points(event))
        # "replace": a lone surrogate (not UTF-8) becomes "?" instead of costing the whole event
        return [line.encode("utf-8", "replace") for line in lines if line]

    def encode_udp(
        self, events: list[LogEvent] | list[QixPerfEvent], records: list[bytes]
    ) -> tuple[int, Exception | None]:
        """Append the records of a list of log and QIX performance events to ``records``, as
        :meth:`encode` of each would, up to the first event that cannot be encoded: how many
        events were encoded, and the error of the next one (None: all were)."""
        lines: list[str] = []
        error: Exception | None = None
        try:
            lines.extend(map(self._renderer.udp_line, events))
        except Exception as exc:  # the lines before it are kept
            error = exc
        records.extend(map(_utf8, filter(None, lines)))
        return len(lines), error

    @property
    def values_clamped(self) -> int:
        return sum(self.clamped.values())

    # -- polled ------------------------------------------------------------------------------------
    def _tags_of(self, server: ServerRef) -> dict[str, str]:
        tags = self._server_tags.get(server)
        if tags is None:
            if len(self._server_tags) > 10_000:
                self._server_tags.clear()
            tags = self._server_tags[server] = server_tags(server)
        return tags

    def _counter(self, measurement: str, name: str, value: int) -> int:
        """``value`` if it fits 0..int64, else clamped (and counted)."""
        if 0 <= value <= INT64_MAX:
            return value
        clamped = 0 if value < 0 else INT64_MAX
        self._note_clamped(measurement, name, value, clamped)
        return clamped

    def _note_clamped(self, measurement: str, name: str, value: float, clamped: float) -> None:
        self.clamped[f"{measurement}.{name}"] += 1
        self._clamp_log.log(
            logging.WARNING,
            f"{measurement}.{name}",
            "influxdb: %s.%s = %s is out of range; written as %s (see Butler SOS issue #933)",
            measurement,
            name,
            value,
            clamped,
        )

    def _health(self, sample: HealthSample) -> list[Point]:
        tags = self._tags_of(sample.server)
        t = sample.time_ns
        c = self._counter
        cpu = sample.cpu_total
        if cpu < 0:
            self._note_clamped("cpu", "total", cpu, 0)
            cpu = 0.0
        return [
            Point(
                "sense_server",
                tags,
                {
                    "version": sample.version,
                    "started": sample.started,
                    "uptime": engine_uptime(sample.started, t),
                },
                t,
            ),
            Point(
                "mem",
                tags,
                {
                    "comitted": sample.mem_committed,
                    "allocated": sample.mem_allocated,
                    "free": sample.mem_free,
                },
                t,
            ),
            Point("apps", tags, self._apps_fields(sample), t),
            Point("cpu", tags, {"total": cpu}, t),
            Point(
                "session",
                tags,
                {
                    "active": c("session", "active", sample.session_active),
                    "total": c("session", "total", sample.session_total),
                },
                t,
            ),
            Point(
                "users",
                tags,
                {
                    "active": c("users", "active", sample.users_active),
                    "total": c("users", "total", sample.users_total),
                },
                t,
            ),
            Point(
                "cache",
                tags,
                {
                    "hits": c("cache", "hits", sample.cache_hits),
                    "lookups": c("cache", "lookups", sample.cache_lookups),
                    "added": c("cache", "added", sample.cache_added),
                    "replaced": c("cache", "replaced", sample.cache_replaced),
                    "bytes_added": c("cache", "bytes_added", sample.cache_bytes_added),
                },
                t,
            ),
            Point("saturated", tags, {"saturated": sample.saturated}, t),
        ]

    def _apps_fields(self, sample: HealthSample) -> dict[str, FieldValue]:
        fields: dict[str, FieldValue] = {}
        lists = {"active_docs": sample.active_docs, "loaded_docs": sample.loaded_docs}
        lists["in_memory_docs"] = sample.in_memory_docs
        for name, ids in lists.items():
            fields[f"{name}_count"] = len(ids)
        with_names = self.options.app_names
        for name, ids in lists.items():
            included = name in self.options.include_docs
            fields[name] = ",".join(ids) if included else ""
            names, session_apps = "", ""
            if included and with_names:
                apps = sorted(
                    sample.app_names.get(app_id, app_id)
                    for app_id in ids
                    if not app_id.startswith(SESSION_APP_PREFIX)
                )
                names = self._name_list(apps)
                session_apps = self._name_list(sorted(i for i in ids if i.startswith(SESSION_APP_PREFIX)))
            fields[f"{name}_names"] = names
            fields[f"{name.removesuffix('_docs')}_session_docs_names"] = session_apps
        fields["calls"] = self._counter("apps", "calls", sample.calls)
        fields["selections"] = self._counter("apps", "selections", sample.selections)
        return fields

    def _name_list(self, names: Iterable[str]) -> str:
        if self.profile.quote_app_names:
            return ",".join(f'"{name}"' for name in names)
        return ",".join(names)

    def _sessions(self, event: ProxySessions) -> list[Point]:
        tags = {
            **self._tags_of(event.server),
            "user_session_virtual_proxy": event.virtual_proxy,
            "user_session_host": event.proxy_host,
        }
        t = event.time_ns
        summary: dict[str, FieldValue] = {
            "session_count": len(event.sessions),
            "session_user_id_list": ",".join(event.unique_users),
        }
        points = [
            Point("user_session_summary", tags, summary, t),
            Point("user_session_list", tags, dict(summary), t),
        ]
        shown = (s for s in event.sessions if not s.excluded)
        for index, session in enumerate(shown):
            detail_tags = {
                **tags,
                "user_session_user_directory": session.user_directory,
                "user_session_user_id": session.user_id,
            }
            fields: dict[str, FieldValue] = {
                "session_id": session.session_id,
                "user_directory": session.user_directory,
                "user_id": session.user_id,
            }
            points.append(Point("user_session_details", detail_tags, fields, t + index))
        return points

    def _poll_failed(self, event: PollFailed) -> list[Point]:
        tags = {
            **self._tags_of(event.server),
            "error_type": _ERROR_TYPES.get(event.target, f"{event.target.upper()}_API"),
            "module": _ERROR_MODULES.get(event.target, event.target.upper()),
            "virtual_proxy": event.virtual_proxy,
        }
        if event.address and event.target != "app_names":
            tags["host"] = event.address  # Butler SOS: the polled host:port (the QRS host alone)
        fields: dict[str, FieldValue] = {
            "error_category": error_category(event),
            "error_message": event.message,
            "error_count": 1,
            "duration_ms": event.duration_ms,
        }
        if event.error_code:
            fields["error_code"] = event.error_code
        if event.url:
            fields["request_url"] = event.url
        if event.http_status is not None:
            fields["http_status"] = event.http_status
        if event.timeout_ms is not None:
            fields["request_timeout_ms"] = event.timeout_ms
        return [Point("butler_sos_errors", tags, fields, event.time_ns)]

    def _self(self, event: SelfMetrics) -> list[Point]:
        t = event.time_ns
        instance = self.options.instance or event.instance
        rss_mb = round(event.rss_bytes / _MIB, 2)
        points = [
            Point(
                "butlersos_memory_usage",
                {"butler_sos_instance": instance, "version": event.version},
                {
                    "heap_used": rss_mb,
                    "heap_total": rss_mb,
                    "process_memory": rss_mb,
                    "uptime_s": float(event.uptime_s),
                    "cpu_pct": float(event.cpu_pct),
                },
                t,
            )
        ]
        for name, counters in event.sinks.items():
            fields: dict[str, FieldValue] = {
                "delivered": counters.delivered,
                "retried": counters.retried,
                "spooled": counters.spooled,
                "queued": counters.queued,
                "spool_records": counters.spool_records,
                "spool_bytes": counters.spool_bytes,
                "dropped": sum(counters.dropped.values()),
            }
            for reason, count in counters.dropped.items():
                fields[f"dropped_{reason}"] = count
            if name == self.options.sink_name:
                fields["values_clamped"] = self.values_clamped
            points.append(Point("sensebutler_sink", {"instance": instance, "sink": name}, fields, t))
        for name, processor in event.processors.items():
            fields = {
                "received": processor.received,
                "processed": processor.processed,
                "emitted": processor.emitted,
                "failed": processor.failed,
                "queued": processor.queued,
                "restarts": processor.restarts,
                "dropped": sum(processor.dropped.values()),
            }
            for reason, count in processor.dropped.items():
                fields[f"dropped_{reason}"] = count
            points.append(
                Point("sensebutler_processor", {"instance": instance, "processor": name}, fields, t)
            )
        for target, poll in event.polls.items():
            points.append(
                Point(
                    "sensebutler_poll",
                    {"instance": instance, "target": target},
                    {
                        "polls": poll.polls,
                        "failures": poll.failures,
                        "skipped_overlap": poll.skipped_overlap,
                        "last_ms": float(poll.last_ms),
                        "max_ms": float(poll.max_ms),
                    },
                    t,
                )
            )
        return points

    # -- UDP ingest reports -------------------------------------------------------------------------
    def _event_count(self, event: EventCount) -> list[Point]:
        tags = dict(self.options.event_count_tags)
        tags["event_type"] = event.event_type
        tags["source"] = event.source
        tags["host"] = event.host or "Unknown"  # Butler SOS's word for a missing value
        tags["subsystem"] = event.subsystem or "Unknown"
        return [Point("event_count", tags, {"counter": event.counter}, event.time_ns)]

    def _rejected_event_count(self, event: RejectedEventCount) -> list[Point]:
        tags = dict(self.options.rejected_event_tags)
        tags["source"] = event.source
        tags["app_id"] = event.app_id
        tags["method"] = event.method
        tags["object_type"] = event.object_type
        tags["app_name"] = event.app_name
        tags["app_name_set"] = "true" if event.app_name else "false"
        fields: dict[str, FieldValue] = {"counter": event.counter, "process_time": event.process_time}
        return [Point("rejected_event_count", tags, fields, event.time_ns)]

    def _udp_queue(self, event: UdpQueueMetrics) -> list[Point]:
        fields: dict[str, FieldValue] = {
            "queue_size": event.queue_size,
            "queue_max_size": event.queue_max_size,
            "queue_utilization_pct": event.queue_utilization_pct,
            "messages_received": event.messages_received,
            "messages_queued": event.messages_queued,
            "messages_processed": event.messages_processed,
            "messages_failed": event.messages_failed,
            "messages_dropped_total": event.messages_dropped_total,
        }
        for field_name in _DROP_FIELDS.values():
            fields[field_name] = 0
        for reason, count in event.dropped.items():
            fields[_DROP_FIELDS.get(reason, f"messages_dropped_{reason}")] = count
        fields["messages_malformed"] = sum(event.malformed.values())
        fields["kernel_drops"] = event.kernel_drops
        fields["processing_time_avg_ms"] = event.processing_time_avg_ms
        fields["processing_time_p95_ms"] = event.processing_time_p95_ms
        fields["processing_time_max_ms"] = event.processing_time_max_ms
        fields["rate_limit_current"] = event.rate_limit_current
        fields["backpressure_active"] = int(event.backpressure_active)
        tags = dict(self.options.queue_tags.get(event.queue_type, {}))
        tags["queue_type"] = event.queue_type
        tags["host"] = event.host
        return [Point(f"{event.queue_type}_queue", tags, fields, event.time_ns)]

    # -- task outcomes -------------------------------------------------------------------------------
    def _task_outcome(self, alert: ReloadAlert) -> list[Point]:
        made = self._task_points.point(alert)
        if made is None:
            return []
        measurement, tags, fields = made
        return [Point(measurement, tags, fields, alert.time_ns)]

    # -- UDP events ----------------------------------------------------------------------------------
    def _log_event(self, event: LogEvent) -> list[Point]:
        renderer = self._renderer
        fields = renderer.log_fields(event)
        return [Point("log_event", renderer.log_tags(event), fields, event.time_ns + renderer.next_offset())]

    def _qix_perf(self, event: QixPerfEvent) -> list[Point]:
        renderer = self._renderer
        fields = renderer.qix_fields(event)
        return [Point("log_event", renderer.qix_tags(event), fields, event.time_ns + renderer.next_offset())]

    def _user_event(self, event: UserEvent) -> list[Point]:
        tags: dict[str, str] = dict(self.options.user_event_tags)
        tags["host"] = event.host
        tags["event_action"] = event.command
        tags["userFull"] = event.user_full
        for tag, name in _USER_EVENT_TAGS:
            value = getattr(event, name)
            if value:
                tags[tag] = value
        fields: dict[str, FieldValue] = {"userFull": event.user_full, "userId": event.user_id}
        if event.app_id:
            fields["appId"] = event.app_id
        if event.app_name:
            fields["appName"] = event.app_name
        return [Point("user_events", tags, fields, event.time_ns + self._renderer.next_offset())]


__all__ = [
    "SUPPORTED_KINDS",
    "InfluxMapping",
    "MappingOptions",
    "Point",
    "engine_uptime",
    "parse_started",
    "server_tags",
    "tag_text",
]
