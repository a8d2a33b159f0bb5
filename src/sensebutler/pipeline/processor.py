"""The async stage between sources and sinks (as Vector's transforms): enrich, dedupe, rate-limit.

A processor takes events of its ``kinds`` from the router into a bounded queue, awaits whatever it
needs (QRS calls, a script log, the shared state backend) in its workers, and publishes the events
it makes (``emits``, disjoint from ``kinds``) back on the router, where sinks or further processors
take them. Sources and sinks stay synchronous and never wait for a processor.

Every event taken ends in exactly one counter: ``processed`` (it ran; what it emitted is counted in
``emitted``), ``failed`` (``process`` raised: logged, never fatal), or ``dropped[reason]``
(``queue_full`` when the queue is full, ``shutdown`` when stop could not finish it in time, or the
reason of a :class:`Discard` that ``process`` raised, e.g. ``duplicate``), or it is still
``queued`` or being processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sensebutler.events import Event
from sensebutler.logs import RateLimitedLog

log = logging.getLogger(__name__)


class Discard(Exception):
    """Raised by :meth:`Processor.process` to drop an event on purpose; counted as ``dropped[reason]``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ProcessorStats:
    received: int = 0
    processed: int = 0
    emitted: int = 0
    failed: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    queued: int = 0
    #: workers that died of an unexpected error and were started again
    restarts: int = 0


class Processor(ABC):
    """Subclasses set ``name``, ``kinds`` and ``emits`` and implement :meth:`process`."""

    name: str
    kinds: frozenset[str]
    emits: frozenset[str]

    def __init__(
        self,
        publish: Callable[[Event], None],
        *,
        queue_size: int = 10_000,
        workers: int = 1,
        shutdown_timeout_s: float = 10.0,
    ) -> None:
        overlap = self.kinds & self.emits
        if overlap:
            raise ValueError(
                f"processor {self.name} would take back what it emits: {', '.join(sorted(overlap))}"
            )
        self.stats = ProcessorStats()
        self._publish = publish
        self._queue: asyncio.Queue[Event] = asyncio.Queue(queue_size)
        self._workers = workers
        self._shutdown_timeout_s = shutdown_timeout_s
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._log = RateLimitedLog(log, 60.0)

    @abstractmethod
    async def process(self, event: Event) -> Iterable[Event]:
        """The events made from ``event`` (may be none). May await; an exception is counted as failed."""

    # -- router side ------------------------------------------------------------------------------
    def submit(self, event: Event) -> None:
        """Take an event; never blocks or raises (a full queue drops it, counted)."""
        self.stats.received += 1
        if self._stopping:
            self._drop("shutdown")
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._drop("queue_full")
            return
        self.stats.queued = self._queue.qsize()

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [self._spawn(n) for n in range(self._workers)]

    async def stop(self) -> None:
        """Finish what is queued within the shutdown timeout; count the rest as dropped (shutdown)."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), self._shutdown_timeout_s)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
            self._drop("shutdown")
        self.stats.queued = 0

    # -- workers ---------------------------------------------------------------------------------
    def _spawn(self, worker: int) -> asyncio.Task[None]:
        task = asyncio.create_task(self._work(), name=f"processor:{self.name}:{worker}")
        task.add_done_callback(lambda done: self._supervise(worker, done))
        return task

    def _supervise(self, worker: int, task: asyncio.Task[None]) -> None:
        """A worker that died of a bug is logged at once and replaced, not found at stop()."""
        if task.cancelled() or self._stopping or task.exception() is None:
            return
        log.error("%s: worker %d died; starting it again", self.name, worker, exc_info=task.exception())
        self.stats.restarts += 1
        self._tasks[worker] = self._spawn(worker)

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            self.stats.queued = self._queue.qsize()
            try:
                await self._handle(event)
            finally:
                self._queue.task_done()

    async def _handle(self, event: Event) -> None:
        try:
            made = list(await self.process(event))
        except asyncio.CancelledError:
            self._drop("shutdown")
            raise
        except Discard as discard:
            self.stats.dropped[discard.reason] += 1
            return
        except Exception as exc:
            self.stats.failed += 1
            self._log.log(
                logging.ERROR,
                type(exc).__name__,
                "%s: cannot process %s: %r",
                self.name,
                event.kind,
                exc,
                exc_info=True,
            )
            return
        self.stats.processed += 1
        for new in made:
            self.stats.emitted += 1
            self._publish(new)

    def _drop(self, reason: str) -> None:
        self.stats.dropped[reason] += 1
        self._log.log(logging.WARNING, f"drop:{reason}", "%s: dropped an event: %s", self.name, reason)
