"""New Relic Metric API and Event API items with Butler SOS's names (butler-sos.md §4.12).

``qs_memCommited`` and ``qs_cacheaAdded`` are misspelt on purpose: existing New Relic dashboards
query those names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from sensebutler import __version__
from sensebutler.events import Event
from sensebutler.events.polled import HealthSample, ProxySessions, SelfMetrics, ServerRef
from sensebutler.events.udp import SOURCE_FIELDS, LogEvent, UserEvent
from sensebutler.sinks.newrelic.config import NewRelicSection

Api = Literal["metric", "event", "log"]
Item = dict[str, Any]
MB = 1024 * 1024

#: metric group (config ``metric_groups``) → (New Relic metric name, value of a sample)
HEALTH_METRICS: Mapping[str, tuple[tuple[str, Callable[[HealthSample], float]], ...]] = {
    "memory": (
        ("qs_memCommited", lambda s: s.mem_committed * MB),  # sic
        ("qs_memAllocated", lambda s: s.mem_allocated * MB),
        ("qs_memFree", lambda s: s.mem_free * MB),
    ),
    "cpu": (("qs_cpuTotal", lambda s: s.cpu_total),),
    "calls": (("qs_engineCalls", lambda s: s.calls),),
    "selections": (("qs_engineSelections", lambda s: s.selections),),
    "sessions": (
        ("qs_engineSessionsActive", lambda s: s.session_active),
        ("qs_engineSessionsTotal", lambda s: s.session_total),
    ),
    "users": (
        ("qs_engineUsersActive", lambda s: s.users_active),
        ("qs_engineUsersTotal", lambda s: s.users_total),
    ),
    "saturated": (("qs_engineSaturated", lambda s: int(s.saturated)),),
    "doc_count": (
        ("qs_docsActiveCount", lambda s: len(s.active_docs)),
        ("qs_docsLoadedCount", lambda s: len(s.loaded_docs)),
        ("qs_docsInMemoryCount", lambda s: len(s.in_memory_docs)),
    ),
    "cache": (
        ("qs_cacheHits", lambda s: s.cache_hits),
        ("qs_cacheLookups", lambda s: s.cache_lookups),
        ("qs_cacheaAdded", lambda s: s.cache_added),  # sic
        ("qs_cacheReplaced", lambda s: s.cache_replaced),
        ("qs_cacheBytesAdded", lambda s: s.cache_bytes_added),
    ),
}
LOG_SOURCE_NAMES = {
    "engine": "qseow-engine",
    "proxy": "qseow-proxy",
    "repository": "qseow-repository",
    "scheduler": "qseow-scheduler",
}
#: qs_logEvent attribute → LogEvent field, in Butler SOS's order
LOG_ATTRIBUTES = (
    ("qs_ts_iso", "ts_iso"),
    ("qs_ts_local", "ts_local"),
    ("qs_log_level", "level"),
    ("qs_host", "host"),
    ("qs_subsystem", "subsystem"),
    ("qs_windows_user", "windows_user"),
    ("qs_message", "message"),
    ("qs_exception_message", "exception_message"),
    ("qs_user_full", "user_full"),
    ("qs_user_directory", "user_directory"),
    ("qs_user_id", "user_id"),
    ("qs_command", "command"),
    ("qs_result_code", "result_code"),
    ("qs_origin", "origin"),
    ("qs_context", "context"),
    ("qs_task_name", "task_name"),
    ("qs_app_name", "app_name"),
    ("qs_task_id", "task_id"),
    ("qs_app_id", "app_id"),
    ("qs_execution_id", "execution_id"),
    ("qs_proxy_session_id", "proxy_session_id"),
    ("qs_engine_ts", "engine_ts"),
    ("qs_process_id", "process_id"),
    ("qs_engine_exe_version", "engine_exe_version"),
    ("qs_server_started", "server_started"),
    ("qs_entry_type", "entry_type"),
    ("qs_session_id", "session_id"),
)


#: per source, only the attributes of fields its datagrams carry (Butler SOS posts no others: an
#: NRQL ``qs_command IS NULL`` must stay true for engine events)
_LOG_ATTRIBUTES_BY_SOURCE = {
    source: tuple((attribute, field) for attribute, field in LOG_ATTRIBUTES if field in fields)
    for source, fields in SOURCE_FIELDS.items()
}


def scramble(text: str) -> str:
    """Butler SOS's user-name scrambling: SHAKE-256, 8 bytes, hex."""
    return hashlib.shake_256(text.encode()).hexdigest(8) if text else text


def _ms(event: Event) -> int:
    return event.time_ns // 1_000_000


def _gauge(name: str, value: float, **attributes: str) -> Item:
    metric: Item = {"name": name, "type": "gauge", "value": value}
    if attributes:
        metric["attributes"] = attributes
    return metric


def _server_attributes(server: ServerRef) -> dict[str, Any]:
    return {
        "host": server.host,
        "server_name": server.name,
        "server_description": server.description,
        **dict(server.tags),
    }


class Payloads:
    """Maps events to New Relic items; everything it needs from config is copied at construction."""

    def __init__(
        self,
        section: NewRelicSection,
        health_interval_s: float,
        sessions_interval_s: float,
        self_interval_s: float,
        log_tags: Mapping[str, str],
        user_tags: Mapping[str, str],
    ) -> None:
        groups = section.metric_groups.model_dump()
        self.health_metrics = [
            metric for group, metrics in HEALTH_METRICS.items() if groups[group] for metric in metrics
        ]
        self.static = {**section.static_attributes, "sensebutlerVersion": __version__}
        self.intervals_ms = {
            HealthSample.kind: int(health_interval_s * 1000),
            ProxySessions.kind: int(sessions_interval_s * 1000),
            SelfMetrics.kind: int(self_interval_s * 1000),
        }
        self.log_sources = frozenset(section.log_events.sources)
        self.log_levels = frozenset(section.log_events.levels)
        self.log_tags = dict(log_tags)
        self.user_tags = dict(user_tags)
        self.scramble_users = section.scramble_users

    def items(self, event: Event) -> Iterator[tuple[Api, Item]]:
        if isinstance(event, HealthSample):
            if self.health_metrics:
                metrics = [_gauge(name, float(value_of(event))) for name, value_of in self.health_metrics]
                yield "metric", self._metric_block(event, _server_attributes(event.server), metrics)
        elif isinstance(event, ProxySessions):
            attributes = {
                **_server_attributes(event.server),
                "user_session_virtual_proxy": event.virtual_proxy,
                "user_session_host": event.proxy_host,
            }
            yield (
                "metric",
                self._metric_block(event, attributes, [_gauge("qs_proxySessions", len(event.sessions))]),
            )
        elif isinstance(event, SelfMetrics):
            yield "metric", self._metric_block(event, {"instance": event.instance}, self._self_metrics(event))
        elif isinstance(event, LogEvent):
            if event.source in self.log_sources and event.level.lower() in self.log_levels:
                yield "event", self._log_event(event)
        elif isinstance(event, UserEvent):
            yield "event", self._user_event(event)

    def _metric_block(self, event: Event, attributes: Mapping[str, Any], metrics: list[Item]) -> Item:
        common = {
            "timestamp": _ms(event),
            "interval.ms": self.intervals_ms[event.kind],
            "attributes": {**attributes, **self.static},
        }
        return {"common": common, "metrics": metrics}

    def _self_metrics(self, e: SelfMetrics) -> list[Item]:
        metrics = [
            _gauge("qs_butlerSosProcessMem", e.rss_bytes),
            _gauge("qs_butlerSosUptimeMillisec", round(e.uptime_s * 1000)),
            _gauge("qs_sensebutlerCpuPct", e.cpu_pct),
        ]
        for sink, counters in e.sinks.items():
            for field in ("delivered", "retried", "spooled", "queued", "spool_records", "spool_bytes"):
                metrics.append(_gauge(f"sensebutler.sink.{field}", getattr(counters, field), sink=sink))
            for reason, count in counters.dropped.items():
                metrics.append(_gauge("sensebutler.sink.dropped", count, sink=sink, reason=reason))
        for poller, polls in e.polls.items():
            for field in ("polls", "failures", "skipped_overlap", "last_ms", "max_ms"):
                metrics.append(_gauge(f"sensebutler.poll.{field}", getattr(polls, field), poller=poller))
        return metrics

    def _log_event(self, e: LogEvent) -> Item:
        item: Item = {
            "eventType": "qs_logEvent",
            "timestamp": _ms(e),
            "qs_log_source": LOG_SOURCE_NAMES[e.source],
        }
        item.update(
            (attribute, getattr(e, field)) for attribute, field in _LOG_ATTRIBUTES_BY_SOURCE[e.source]
        )
        item.update(e.categories)
        item.update(self.log_tags)
        item.update(self.static)
        return item

    def _user_event(self, e: UserEvent) -> Item:
        hide = scramble if self.scramble_users else str
        item: Item = {
            "eventType": "qs_userEvent",
            "timestamp": _ms(e),
            "qs_host": e.host,
            "qs_event_action": e.command,
            "qs_userFull": hide(e.user_full),
            "qs_userDirectory": hide(e.user_directory),
            "qs_userId": hide(e.user_id),
            "qs_origin": e.origin,
        }
        optional = (
            ("qs_appId", e.app_id),
            ("qs_appName", e.app_name),
            ("qs_uaBrowserName", e.ua_browser_name),
            ("qs_uaBrowserMajorVersion", e.ua_browser_major),
            ("qs_uaOsName", e.ua_os_name),
            ("qs_uaOsVersion", e.ua_os_version),
        )
        item.update((key, value) for key, value in optional if value)
        item.update(self.user_tags)
        item.update(self.static)
        return item
