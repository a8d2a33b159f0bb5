"""The ``butlersos_*`` gauges, rendered at scrape time from the latest sample of each server.

Keeping only the latest sample (instead of setting gauges in a registry) is what lets a server's
series disappear: when it leaves ``qlik.servers``, or when nothing arrived from it for the staleness
timeout, its entries are dropped and the next scrape no longer shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric

from sensebutler.config import Config
from sensebutler.events.polled import HealthSample, ProxySessions
from sensebutler.sinks.prometheus.labels import ENGINE_LABELS, SESSION_LABELS, TagLabels

MB = 1024 * 1024

#: (metric name, help, value of a sample); names and units as Butler SOS exposes them
HEALTH_GAUGES: tuple[tuple[str, str, Callable[[HealthSample], float]], ...] = (
    ("butlersos_apps_calls", "Engine requests since the engine started", lambda s: s.calls),
    ("butlersos_apps_selections", "Selections since the engine started", lambda s: s.selections),
    ("butlersos_apps_activedocs_total", "Apps with active users", lambda s: len(s.active_docs)),
    ("butlersos_apps_loadeddocs_total", "Apps loaded with sessions", lambda s: len(s.loaded_docs)),
    ("butlersos_apps_inmemorydocs_total", "Apps held in memory", lambda s: len(s.in_memory_docs)),
    ("butlersos_cache_added", "Objects added to the engine cache", lambda s: s.cache_added),
    ("butlersos_cache_bytes_added", "Bytes added to the engine cache", lambda s: s.cache_bytes_added),
    ("butlersos_cache_hits", "Engine cache hits", lambda s: s.cache_hits),
    ("butlersos_cache_lookups", "Engine cache lookups", lambda s: s.cache_lookups),
    ("butlersos_cache_replaced", "Objects replaced in the engine cache", lambda s: s.cache_replaced),
    ("butlersos_cache_saturated", "1 when the engine reports itself saturated", lambda s: int(s.saturated)),
    ("butlersos_cpu_total", "Engine CPU use, percent (30 s average)", lambda s: s.cpu_total),
    ("butlersos_mem_committed", "Engine committed memory, bytes", lambda s: s.mem_committed * MB),
    ("butlersos_mem_allocated", "Engine allocated memory, bytes", lambda s: s.mem_allocated * MB),
    ("butlersos_mem_free", "Free memory as seen by the engine, bytes", lambda s: s.mem_free * MB),
    ("butlersos_session_active", "Active engine sessions", lambda s: s.session_active),
    ("butlersos_session_total", "Engine sessions", lambda s: s.session_total),
    ("butlersos_users_active", "Distinct active users", lambda s: s.users_active),
    ("butlersos_users_total", "Distinct users with sessions", lambda s: s.users_total),
)


@dataclass(slots=True)
class _Seen:
    event: HealthSample | ProxySessions
    at: float  # clock() when it arrived


class QlikMetrics:
    """A prometheus-client collector over the latest health and session samples per server."""

    def __init__(
        self, config: Callable[[], Config], stale_after_s: float, clock: Callable[[], float]
    ) -> None:
        self._config = config
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._health: dict[str, _Seen] = {}
        self._sessions: dict[tuple[str, str], _Seen] = {}

    def add(self, event: HealthSample | ProxySessions) -> None:
        seen = _Seen(event, self._clock())
        if isinstance(event, HealthSample):
            self._health[event.server.name] = seen
        else:
            self._sessions[(event.server.name, event.virtual_proxy)] = seen

    def collect(self) -> Iterator[Metric]:
        config = self._config()
        self._forget_gone(config)
        labels = TagLabels(config.qlik.server_tags)
        health = [seen.event for seen in self._health.values() if isinstance(seen.event, HealthSample)]
        for name, help_text, value_of in HEALTH_GAUGES:
            family = GaugeMetricFamily(name, help_text, labels=labels.names)
            for sample in health:
                family.add_metric(labels.values(sample.server), float(value_of(sample)))
            yield family
        metadata = GaugeMetricFamily(
            "butlersos_engine_metadata",
            "Always 1; the labels carry the engine's start time and version",
            labels=[*labels.names, *ENGINE_LABELS],
        )
        for sample in health:
            metadata.add_metric([*labels.values(sample.server), sample.started, sample.version], 1.0)
        yield metadata
        sessions = GaugeMetricFamily(
            "butlersos_user_session_total",
            "Proxy sessions of one virtual proxy",
            labels=[*labels.names, *SESSION_LABELS],
        )
        for seen in self._sessions.values():
            event = seen.event
            if isinstance(event, ProxySessions):
                values = [*labels.values(event.server), event.virtual_proxy, event.proxy_host]
                sessions.add_metric(values, float(len(event.sessions)))
        yield sessions

    def _forget_gone(self, config: Config) -> None:
        now = self._clock()
        servers = {server.name: server for server in config.qlik.servers}
        health_limit = self._stale_after_s or 3 * config.polling.health.interval_s
        for name, seen in list(self._health.items()):
            if name not in servers or now - seen.at > health_limit:
                del self._health[name]
        sessions_limit = self._stale_after_s or 3 * config.polling.sessions.interval_s
        for key, seen in list(self._sessions.items()):
            name, virtual_proxy = key
            server = servers.get(name)
            configured = server is not None and server.sessions and virtual_proxy in server.virtual_proxies
            if not configured or now - seen.at > sessions_limit:
                del self._sessions[key]
