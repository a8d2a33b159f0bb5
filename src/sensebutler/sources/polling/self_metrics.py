"""sensebutler's own state as a :class:`SelfMetrics` event every ``self_metrics.interval_s``.

CPU is the share of one core used since the previous event (psutil), so it can exceed 100 % on a
busy multi-core host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Mapping

import psutil

from sensebutler import __version__
from sensebutler.events.polled import PollCounters, ProcessorCounters, SelfMetrics, SinkCounters
from sensebutler.pipeline.router import Router

log = logging.getLogger(__name__)

PollCounterSource = Callable[[], Mapping[str, PollCounters]]


class SelfMetricsSource:
    name = "self_metrics"

    def __init__(
        self, router: Router, interval_s: float, poll_counters: PollCounterSource | None = None
    ) -> None:
        self.router = router
        self.interval_s = interval_s
        self.poll_counters = poll_counters
        self.instance = socket.gethostname()
        self._process = psutil.Process()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._process.cpu_percent(None)  # the first call only sets the baseline
        self._task = asyncio.create_task(self._run(), name="self_metrics")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.router.publish(self.measure())
            except Exception:
                log.exception("could not measure sensebutler's own metrics")

    def sink_counters(self) -> dict[str, SinkCounters]:
        counters: dict[str, SinkCounters] = {}
        for sink in self.router.sinks:
            stats = sink.stats()
            if stats is None:
                continue
            counters[sink.name] = SinkCounters(
                delivered=stats.delivered,
                retried=stats.retried,
                spooled=stats.spooled,
                dropped=dict(stats.dropped),
                queued=stats.queued,
                spool_records=stats.spool_records,
                spool_bytes=stats.spool_bytes,
            )
        return counters

    def processor_counters(self) -> dict[str, ProcessorCounters]:
        return {
            processor.name: ProcessorCounters(
                received=processor.stats.received,
                processed=processor.stats.processed,
                emitted=processor.stats.emitted,
                failed=processor.stats.failed,
                dropped=dict(processor.stats.dropped),
                queued=processor.stats.queued,
                restarts=processor.stats.restarts,
            )
            for processor in self.router.processors
        }

    def measure(self) -> SelfMetrics:
        process = self._process
        with process.oneshot():
            rss = process.memory_info().rss
            cpu = process.cpu_percent(None)
            uptime = time.time() - process.create_time()
        return SelfMetrics(
            version=__version__,
            instance=self.instance,
            uptime_s=uptime,
            rss_bytes=rss,
            cpu_pct=cpu,
            sinks=self.sink_counters(),
            polls=dict(self.poll_counters()) if self.poll_counters is not None else {},
            processors=self.processor_counters(),
        )
