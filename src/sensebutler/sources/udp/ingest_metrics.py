"""Periodic reports of the UDP inputs: event counts, rejected QIX events, queue metrics.

Each report carries the deltas since the previous one (Butler SOS resets its counters after every
write; we keep running totals and subtract, so a sink failure never loses a count). Event counts and
rejected counts are independent of each other (Butler SOS ties them together by mistake).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
from collections import Counter
from collections.abc import Sequence

from sensebutler.events.ingest import EventCount, RejectedEventCount, UdpQueueMetrics
from sensebutler.runtime import Component, Runtime
from sensebutler.sources.udp.inputs import LogEventsHandler, UdpInput

QUEUE_TYPES = {"log events": "log_events", "user events": "user_events", "task events": "task_events"}


class IngestMetrics:
    """Starts before the UDP inputs and stops after them, so its last report counts what their stop
    drained or gave up (``shutdown``)."""

    name = "udp ingest metrics"

    def __init__(self, runtime: Runtime, inputs: Sequence[UdpInput], interval_s: float) -> None:
        self.runtime = runtime
        self.inputs = list(inputs)
        self.interval_s = interval_s
        self.host = socket.gethostname()
        self._previous: dict[str, tuple[int, int, int, int, Counter[str], Counter[str], int]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self.inputs:  # built before the inputs: they are in the runtime by now
            self.inputs = [c for c in self.runtime.components if isinstance(c, UdpInput)]
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.report()  # the last interval's counts are written, not lost

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.report()

    def report(self) -> None:
        publish = self.runtime.router.publish
        for udp_input in self.inputs:
            handler = udp_input.handler
            counts, handler.event_counts = handler.event_counts, Counter()
            for (event_type, source, host, subsystem), counter in counts.items():
                publish(
                    EventCount(
                        event_type=event_type, source=source, host=host, subsystem=subsystem, counter=counter
                    )
                )
            if isinstance(handler, LogEventsHandler) and handler.rejected:
                rejected, handler.rejected = handler.rejected, {}
                for (app_id, app_name, method, object_type), (count, process_time) in rejected.items():
                    publish(
                        RejectedEventCount(
                            source="qseow-qix-perf",
                            app_id=app_id,
                            app_name=app_name,
                            method=method,
                            object_type=object_type,
                            counter=int(count),
                            process_time=process_time,
                        )
                    )
            publish(self._queue_metrics(udp_input))

    def _queue_metrics(self, udp_input: UdpInput) -> UdpQueueMetrics:
        stats = udp_input.stats
        listener = udp_input.listener
        kernel = listener.read_kernel_drops() or 0
        queue_bytes = listener.queue_bytes()
        capacity = listener.queue_capacity_bytes
        prev = self._previous.get(udp_input.name, (0, 0, 0, 0, Counter(), Counter(), 0))
        now = (
            stats.received,
            stats.processed,
            stats.failed,
            stats.published,
            Counter(stats.dropped),
            Counter(stats.malformed),
            kernel,
        )
        self._previous[udp_input.name] = now
        timings = [ns / 1e6 for ns in stats.processing_ns]
        stats.processing_ns.clear()
        dropped = now[4] - prev[4]
        received = now[0] - prev[0]
        return UdpQueueMetrics(
            queue_type=QUEUE_TYPES.get(udp_input.handler.name, udp_input.handler.name),
            host=self.host,
            # the socket's receive buffer is the queue (bytes, as the kernel accounts them)
            queue_size=queue_bytes,
            queue_max_size=capacity,
            messages_received=received,
            messages_queued=received
            - dropped.get("source_not_allowed", 0)
            - dropped.get("too_large", 0)
            - dropped.get("rate_limited", 0)
            - dropped.get("queue_full", 0),
            messages_processed=now[1] - prev[1],
            messages_failed=now[2] - prev[2],
            dropped=dict(dropped),
            malformed=dict(now[5] - prev[5]),
            kernel_drops=max(0, now[6] - prev[6]),
            processing_time_avg_ms=statistics.fmean(timings) if timings else 0.0,
            processing_time_p95_ms=_p95(timings),
            processing_time_max_ms=max(timings, default=0.0),
            rate_limit_current=int(received * 60 / self.interval_s),
            backpressure_active=queue_bytes >= 0.8 * capacity,
        )


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def build(runtime: Runtime) -> list[Component]:
    """The reporter of the UDP inputs; it comes before them in the registry (see :class:`IngestMetrics`)."""
    udp = runtime.config.udp
    if not udp.metrics.enable or not any(
        s.enable for s in (udp.log_events, udp.user_events, udp.task_events)
    ):
        return []
    return [IngestMetrics(runtime, [], udp.metrics.interval_s)]
