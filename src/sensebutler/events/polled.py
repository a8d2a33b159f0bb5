"""Events produced by polling Sense (engine healthcheck, proxy sessions) and by sensebutler itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import msgspec

from sensebutler.events import Event


@dataclass(frozen=True, slots=True)
class ServerRef:
    """The monitored server an event is about, with the tags config gives it."""

    name: str
    host: str
    description: str = ""
    tags: tuple[tuple[str, str | int | float | bool], ...] = ()


class HealthSample(Event, frozen=True, kw_only=True):
    """One engine ``/engine/healthcheck`` answer (numbers as Sense sent them: memory in MB)."""

    kind: ClassVar[str] = "health"
    server: ServerRef
    version: str
    started: str
    mem_committed: float
    mem_allocated: float
    mem_free: float
    cpu_total: float
    session_active: int
    session_total: int
    active_docs: tuple[str, ...]
    loaded_docs: tuple[str, ...]
    in_memory_docs: tuple[str, ...]
    calls: int
    selections: int
    users_active: int
    users_total: int
    cache_hits: int
    cache_lookups: int
    cache_added: int
    cache_replaced: int
    cache_bytes_added: int
    saturated: bool
    #: app id → name for the docs above, as known when the sample was taken (session apps absent)
    app_names: Mapping[str, str] = msgspec.field(default_factory=dict)
    poll_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class ProxySession:
    user_directory: str
    user_id: str
    session_id: str
    #: user is on ``polling.sessions.exclude_users``: counted, but no detail point is written
    excluded: bool = False

    @property
    def user_full(self) -> str:
        return f"{self.user_directory}\\{self.user_id}"


class ProxySessions(Event, frozen=True, kw_only=True):
    """The sessions of one virtual proxy on one server (``/qps/<vp>/session``)."""

    kind: ClassVar[str] = "sessions"
    server: ServerRef
    virtual_proxy: str  # "/" or "/hdr"
    proxy_host: str  # "host:port", Butler SOS's user_session_host tag
    sessions: tuple[ProxySession, ...]
    poll_ms: float = 0.0

    @property
    def unique_users(self) -> list[str]:
        """Distinct ``DIR\\id`` in first-seen order."""
        return list(dict.fromkeys(s.user_full for s in self.sessions))


class PollFailed(Event, frozen=True, kw_only=True):
    """A poll that did not produce data: unreachable, timed out, refused, bad answer."""

    kind: ClassVar[str] = "poll_failed"
    server: ServerRef
    target: str  # "health" | "sessions" | "app_names"
    category: str  # timeout, connection_refused, tls_error, http_4xx, http_5xx, bad_response, ...
    message: str
    url: str = ""
    virtual_proxy: str = ""
    http_status: int | None = None
    duration_ms: float = 0.0
    #: ``host:port`` polled (Butler SOS's ``host`` tag of ``butler_sos_errors``)
    address: str = ""
    #: the socket layer's error code when there is one (``ECONNREFUSED``, ``ECONNRESET``, ``ETIMEDOUT``)
    error_code: str = ""
    #: the poll's timeout, milliseconds
    timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SinkCounters:
    delivered: int
    retried: int
    spooled: int
    dropped: Mapping[str, int]
    queued: int
    spool_records: int
    spool_bytes: int


@dataclass(frozen=True, slots=True)
class ProcessorCounters:
    received: int
    processed: int
    emitted: int
    failed: int
    dropped: Mapping[str, int]
    queued: int
    restarts: int


@dataclass(frozen=True, slots=True)
class PollCounters:
    polls: int
    failures: int
    skipped_overlap: int
    last_ms: float
    max_ms: float


class SelfMetrics(Event, frozen=True, kw_only=True):
    """sensebutler's own state: uptime, memory, and the counters of every sink, processor and poller."""

    kind: ClassVar[str] = "self"
    version: str
    instance: str
    uptime_s: float
    rss_bytes: int
    cpu_pct: float
    sinks: Mapping[str, SinkCounters] = msgspec.field(default_factory=dict)
    polls: Mapping[str, PollCounters] = msgspec.field(default_factory=dict)
    processors: Mapping[str, ProcessorCounters] = msgspec.field(default_factory=dict)
