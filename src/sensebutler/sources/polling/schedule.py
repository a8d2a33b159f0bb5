"""Runs every poll target on its own schedule, concurrently, with a timeout per poll.

Each target has a fixed random phase in ``0..jitter_s`` (so hundreds of targets do not poll in
lockstep) and then polls every ``interval_s`` at fixed-rate deadlines. The first poll happens at
startup, right after the phase. A poll runs as its own task, so a slow target delays nothing but
itself; a tick that finds the target's previous poll still running is skipped and counted. Missed
ticks (an overloaded event loop) are not made up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sensebutler.events import Event
from sensebutler.events.polled import PollCounters, PollFailed, ServerRef
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.router import Router
from sensebutler.qlik.errors import QlikError

log = logging.getLogger(__name__)

#: PollFailed category of an unexpected exception inside a poll (a bug, logged with its traceback)
INTERNAL_ERROR = "internal_error"


class PollJob(ABC):
    """One thing polled on a timer: a server's healthcheck, a virtual proxy's sessions, the app list."""

    #: PollFailed.target: "health" | "sessions" | "app_names"
    kind: str
    #: unique name of this target, the key of its counters
    target: str
    server: ServerRef
    address: str  # host:port
    path: str
    virtual_proxy: str = ""
    interval_s: float
    timeout_s: float
    jitter_s: float

    @abstractmethod
    async def poll(self) -> Sequence[Event]:
        """Ask Sense once; return the events to publish. Raises :class:`QlikError` on failure."""

    def failed(self, error: QlikError | None, message: str, category: str, duration_ms: float) -> PollFailed:
        return PollFailed(
            server=self.server,
            target=self.kind,
            category=category,
            message=message,
            url=f"https://{self.address}{self.path}",
            virtual_proxy=self.virtual_proxy,
            http_status=error.status if error is not None else None,
            duration_ms=duration_ms,
            address=self.address,
            error_code=error.code if error is not None else "",
            timeout_ms=round(self.timeout_s * 1000),
        )


@dataclass
class PollStats:
    polls: int = 0
    failures: int = 0
    skipped_overlap: int = 0
    last_ms: float = 0.0
    max_ms: float = 0.0
    failing: bool = False

    def snapshot(self) -> PollCounters:
        return PollCounters(self.polls, self.failures, self.skipped_overlap, self.last_ms, self.max_ms)


class PollScheduler:
    """The component that owns the poll targets and their counters (the Qlik client is a runtime service)."""

    name = "polling"

    def __init__(self, jobs: Sequence[PollJob], router: Router, *, rng: random.Random | None = None) -> None:
        self.jobs = list(jobs)
        self.router = router
        self.stats: dict[str, PollStats] = {job.target: PollStats() for job in self.jobs}
        self._rng = rng or random.Random()
        self._loops: list[asyncio.Task[None]] = []
        self._polls: set[asyncio.Task[None]] = set()
        self._problems = RateLimitedLog(log, 300.0)
        self._traced: set[str] = set()  # targets whose unexpected error was logged with a traceback

    def counters(self) -> dict[str, PollCounters]:
        return {target: stats.snapshot() for target, stats in self.stats.items()}

    async def start(self) -> None:
        for job in self.jobs:
            self._loops.append(asyncio.create_task(self._run(job), name=f"poll:{job.target}"))
        log.info("polling %d target(s)", len(self.jobs))

    async def stop(self) -> None:
        tasks = [*self._loops, *self._polls]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops.clear()
        self._polls.clear()

    async def _run(self, job: PollJob) -> None:
        loop = asyncio.get_running_loop()
        stats = self.stats[job.target]
        due = loop.time() + self._rng.uniform(0.0, min(job.jitter_s, job.interval_s))
        running: asyncio.Task[None] | None = None
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if running is not None and not running.done():
                stats.skipped_overlap += 1
                self._problems.log(
                    logging.WARNING,
                    f"overlap:{job.target}",
                    "%s: previous poll still running after %.1f s; this one is skipped",
                    job.target,
                    job.interval_s,
                )
            else:
                running = asyncio.create_task(self._poll(job, stats))
                self._polls.add(running)
                running.add_done_callback(self._polls.discard)
            due += job.interval_s
            behind = loop.time() - due
            if behind > 0:
                due += math.ceil(behind / job.interval_s) * job.interval_s

    async def _poll(self, job: PollJob, stats: PollStats) -> None:
        stats.polls += 1
        started = time.perf_counter()
        error: QlikError | None = None
        message = category = ""
        events: Sequence[Event] = ()
        try:
            async with asyncio.timeout(job.timeout_s):
                events = await job.poll()
        except TimeoutError:
            error = QlikError(
                "timeout", job.address, f"GET {job.path}", f"no answer within {job.timeout_s:g} s"
            )
        except QlikError as exc:
            error = exc
        except Exception as exc:
            if job.target not in self._traced:
                self._traced.add(job.target)
                log.exception("%s: unexpected error while polling", job.target)
            message, category = f"unexpected error: {exc!r}", INTERNAL_ERROR
        if error is not None:
            message, category = str(error), error.category
        duration_ms = (time.perf_counter() - started) * 1000.0
        stats.last_ms = duration_ms
        stats.max_ms = max(stats.max_ms, duration_ms)
        if category:
            stats.failures += 1
            stats.failing = True
            self._problems.log(
                logging.WARNING, f"{job.target}:{category}", "%s poll failed: %s", job.target, message
            )
            self.router.publish(job.failed(error, message, category, duration_ms))
            return
        if stats.failing:
            stats.failing = False
            log.info("%s answers again", job.target)
        for event in events:
            self.router.publish(event)
