"""``udp:`` — the three log4net UDP inputs (log events, user events, task events)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sensebutler.config.base import FeatureSection, Section
from sensebutler.config.polling import UserRef
from sensebutler.sources.udp.categorise import CategoriseConfig
from sensebutler.sources.udp.qix_filter import EnginePerformanceMonitorConfig


class RateLimitSection(FeatureSection):
    """Token bucket: ``per_second`` sustained, ``burst`` at once."""

    per_second: float = Field(default=10_000, gt=0)
    burst: int = Field(default=20_000, ge=1)


class UdpInputSection(FeatureSection):
    """Settings every UDP input shares."""

    host: str = "0.0.0.0"
    port: int = Field(default=0, ge=0, le=65535)
    #: datagrams larger than this are dropped and counted (65507 = the UDP maximum)
    max_size: int = Field(default=65507, ge=64, le=65507)
    #: the socket's receive buffer is the ingest queue: large buffers absorb bursts; what does not
    #: fit is dropped by the kernel and counted (``kernel_drops``)
    receive_buffer_mb: float = Field(default=16, gt=0, le=2048)
    #: share the port with other sensebutler instances (SO_REUSEPORT, Linux): the kernel spreads
    #: datagrams over them by sender, so several processes ingest what one cannot keep up with
    reuse_port: bool = False
    #: how datagrams are read: ``loop`` = the event loop watches the socket (add_reader); ``thread`` = a
    #: reader thread (for loops that cannot watch sockets, e.g. Windows' Proactor loop); ``auto`` =
    #: ``loop`` where the event loop can, else ``thread``
    receive: Literal["auto", "loop", "thread"] = "auto"
    #: at stop, what is queued is handled for at most this long; what is left is counted as dropped
    #: (``shutdown``) and discarded
    stop_drain_s: float = Field(default=1.0, ge=0, le=60)
    rate_limit: RateLimitSection = RateLimitSection()
    #: source addresses or host names allowed to send; empty = anyone (names re-resolved periodically)
    allowed_sources: list[str] = []
    resolve_interval_s: float = Field(default=300, ge=10)
    #: static tags of this input's events (Butler SOS ``logEvents.tags`` / ``userEvents.tags``)
    tags: dict[str, str] = {}
    #: static tags of this input's queue metrics (Butler SOS ``udpServerConfig.queueMetrics.influxdb.tags``)
    queue_tags: dict[str, str] = {}


class LogSources(Section):
    engine: bool = True
    proxy: bool = True
    repository: bool = True
    scheduler: bool = True
    qix_perf: bool = True


class LogEventsInput(UdpInputSection):
    port: int = Field(default=9996, ge=0, le=65535)
    sources: LogSources = LogSources()
    #: Butler SOS ``logEvents.categorise`` (its camelCase keys are accepted as they are)
    categorise: CategoriseConfig = CategoriseConfig()
    #: Butler SOS ``logEvents.enginePerformanceMonitor``: which QIX performance events to keep
    engine_performance_monitor: EnginePerformanceMonitorConfig = EnginePerformanceMonitorConfig()
    #: receiver processes on this port (Linux): each reads, parses and delivers its share, spread
    #: evenly even from one sender; their counters are merged (docs/scaling.md)
    workers: int = Field(default=1, ge=1, le=64)


class UserEventsInput(UdpInputSection):
    port: int = Field(default=9997, ge=0, le=65535)
    exclude_users: list[UserRef] = []


class DedupeSection(FeatureSection):
    enable: bool = True
    ttl_s: float = Field(default=600, gt=0)


class TaskEventsInput(UdpInputSection):
    port: int = Field(default=9998, ge=0, le=65535)
    dedupe: DedupeSection = DedupeSection()


class IngestMetricsSection(FeatureSection):
    """Periodic event counts, rejected-event counts and queue metrics (Butler SOS field names)."""

    enable: bool = True
    interval_s: float = Field(default=20.0, ge=1, le=3600)
    #: static tags of ``event_count`` (Butler SOS ``qlikSenseEvents.eventCount.influxdb.tags``)
    event_count_tags: dict[str, str] = {}


class UdpConfig(Section):
    metrics: IngestMetricsSection = IngestMetricsSection()
    log_events: LogEventsInput = LogEventsInput()
    user_events: UserEventsInput = UserEventsInput()
    task_events: TaskEventsInput = TaskEventsInput()
