"""Events about the UDP ingest itself: event counts, rejected QIX events, queue metrics.

They are written periodically (deltas since the previous write), with Butler SOS's measurement
names so existing dashboards keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import msgspec

from sensebutler.events import Event


class EventCount(Event, frozen=True, kw_only=True):
    """How many events of one (type, source, host, subsystem) arrived since the last count."""

    kind: ClassVar[str] = "event_count"
    event_type: str  # "log" | "user"
    source: str
    host: str
    subsystem: str
    counter: int


class RejectedEventCount(Event, frozen=True, kw_only=True):
    """QIX performance events the filters rejected, grouped as Butler SOS groups them."""

    kind: ClassVar[str] = "rejected_event_count"
    source: str
    app_id: str
    app_name: str
    method: str
    object_type: str
    counter: int
    process_time: float


class UdpQueueMetrics(Event, frozen=True, kw_only=True):
    """One UDP input's queue and drop counters since the last report (Butler SOS field names)."""

    kind: ClassVar[str] = "udp_queue"
    queue_type: str  # "log_events" | "user_events" | "task_events"
    host: str
    queue_size: int
    queue_max_size: int
    messages_received: int
    messages_queued: int
    messages_processed: int
    messages_failed: int
    dropped: Mapping[str, int] = msgspec.field(default_factory=dict)
    malformed: Mapping[str, int] = msgspec.field(default_factory=dict)
    kernel_drops: int = 0
    processing_time_avg_ms: float = 0.0
    processing_time_p95_ms: float = 0.0
    processing_time_max_ms: float = 0.0
    rate_limit_current: int = 0
    backpressure_active: bool = False

    @property
    def queue_utilization_pct(self) -> float:
        return 100.0 * self.queue_size / self.queue_max_size if self.queue_max_size else 0.0

    @property
    def messages_dropped_total(self) -> int:
        return sum(self.dropped.values())
