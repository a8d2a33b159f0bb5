"""Uptime monitor: sensebutler's own uptime and memory as Butler's ``butler_memory_usage``.

Python has no separate JavaScript heap: heap used and total are the resident memory, ``external``
is 0, ``process_memory`` the resident memory too (all MB, two decimals).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence
from datetime import timedelta

import psutil

from sensebutler import __version__
from sensebutler.events import Event
from sensebutler.events.monitors import Uptime
from sensebutler.monitors.config import UptimeConfig
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.schedule import Check

log = logging.getLogger(__name__)
_MB = 1024 * 1024


class UptimeMonitor(Check):
    name = "uptime"

    def __init__(self, config: UptimeConfig) -> None:
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s
        self.iteration = 0
        self._process = psutil.Process()
        self._instance = socket.gethostname()

    async def check(self) -> Sequence[Event]:
        self.iteration += 1
        with self._process.oneshot():
            rss_mb = round(self._process.memory_info().rss / _MB, 2)
            uptime_s = time.time() - self._process.create_time()
        log.info(
            "Iteration # %d, Uptime: %s, memory used %.2f MB",
            self.iteration,
            timedelta(seconds=round(uptime_s)),
            rss_mb,
        )
        return [
            Uptime(
                version=__version__,
                instance=self._instance,
                iteration=self.iteration,
                uptime_s=uptime_s,
                heap_used=rss_mb,
                heap_total=rss_mb,
                external=0.0,
                process_memory=rss_mb,
            )
        ]
