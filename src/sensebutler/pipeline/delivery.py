"""The one delivery mechanism every sink uses.

    enqueue → bounded memory queue → batch → send
            → a transient failure: the batch goes to the spool on disk (spool mode)
            → replay in order from the spool, retrying with exponential backoff, until it is empty

Up to ``max_in_flight`` batches are sent at the same time (``delivery.max_in_flight``, else the
destination's own default), one per worker task. Workers take batches one after the other; while the
spool holds anything, one worker replays it and the others wait.

**What a kill -9 can lose.** A batch whose send fails transiently goes to the spool at once, with
everything queued behind it, and is retried from there. While the destination is known to be down
(spool mode) new records go to the spool too: they wait in memory at most half a flush interval
(``flush_interval_s``), or until a batch is full, before the spool's writer gets them, so every
record accepted more than one flush interval ago (half of it in memory, half for the commit) is on
disk. Outside spool mode records live in memory until they are delivered: up to a flush interval
in the queue (longer while the destination is slower than the input) and then for their send,
which ends at the latest after ``send_timeout_s``. Without a spool a failing batch is retried in
memory (``retry.attempts_before_spool`` attempts in all) and then dropped.

With one batch in flight order is kept: while anything waits in the spool, new records go behind it,
and the spool is replayed from its head. With more, batches may land out of order (a later batch can
succeed while an earlier one is retried or spooled); destinations whose readers depend on order use
one. Delivery is at least once: a batch whose send timed out may have arrived and is sent again.

A destination that takes a batch but refuses some of its records for good (records it cannot read)
returns :class:`Refused`: those count as dropped with its reason, the rest as delivered.

Every record ends in exactly one counter: ``delivered``, ``dropped[reason]``, or is still waiting
(``queued`` in memory, which includes records handed to the spool's writer and not yet written;
``spool_records`` on disk); a batch being sent is in none until its send ends, and at shutdown every
such batch is delivered or spooled. A spooled record that a full ``drop_oldest`` spool gives up
while its batch is being replayed counts as dropped only, even though that send may still deliver
it.

The event loop never waits for SQLite: the spool's file is used only by its writer thread
(:mod:`sensebutler.pipeline.spool`), which runs the calls in the order they were made. The loop
applies their results in the order the writer finished them, so the counters above stay exact
without locks. Workers are supervised: one that fails is logged with its traceback at once, its
batch goes back to the head of the queue, and it is restarted (``worker_restarts``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from sensebutler.config.delivery import DeliveryConfig
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.spool import Appended, Removed, Spool, SpoolState
from sensebutler.pipeline.supervised import run_supervised

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class DeliveryError(Exception):
    """A send failed. ``transient`` failures are retried and spooled; the others are dropped."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Refused:
    """What :meth:`Destination.send` returns when it took the batch but refused ``count`` of its
    records for good (``reason`` becomes the ``dropped`` label); the others were delivered."""

    count: int
    reason: str


SendOutcome = DeliveryError | Refused | None


class Destination(Protocol):
    """Where a sink's encoded records go (an HTTP API, a broker...)."""

    name: str
    #: batches sent at the same time unless ``delivery.max_in_flight`` says otherwise
    max_in_flight: int

    async def open(self) -> None: ...

    async def send(self, batch: list[bytes]) -> Refused | None:
        """Deliver ``batch`` (saying which records it refused, if any) or raise :class:`DeliveryError`."""

    async def close(self) -> None: ...


@dataclass
class DeliveryStats:
    received: int = 0
    delivered: int = 0
    retried: int = 0
    spooled: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    queued: int = 0
    spool_records: int = 0
    spool_bytes: int = 0
    #: delivery workers restarted after they failed (a bug; the log has the traceback)
    worker_restarts: int = 0
    last_error: str = ""


class Delivery:
    def __init__(self, destination: Destination, config: DeliveryConfig, spool_path: Path | None) -> None:
        self.destination = destination
        self.config = config
        self.name = destination.name
        self.stats = DeliveryStats()
        self._buffer: deque[bytes] = deque()
        self._spool: Spool | None = None
        if config.spool.enable and spool_path is not None:
            self._spool = Spool(spool_path, int(config.spool.max_mb * 1024 * 1024), config.spool.when_full)
        #: the spool as of the last spool call whose result was applied (the loop's mirror of it)
        self._on_disk = SpoolState(0, 0)
        #: records handed to the spool's writer and not yet written (counted in ``queued``)
        self._spooling = 0
        #: appends handed over so far: a replay that finds the spool empty ends spool mode only
        #: when no append was handed over after its peek
        self._appends = 0
        self._spool_closed = False
        #: hands the buffer to the spool in spool mode at the latest half a flush interval after
        #: its first record arrived
        self._spool_timer: asyncio.TimerHandle | None = None
        self._spool_mode = False  # known at start(): records from an earlier run
        self._replay_backoff = config.retry.initial_s
        self.max_in_flight = max(1, config.max_in_flight or destination.max_in_flight)
        #: worker → the batch it is sending, in the order the batches were taken
        self._inflight: dict[int, list[bytes]] = {}
        #: one worker at a time waits for and takes the next batch (the others wait here, idle)
        self._taking = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._errors = RateLimitedLog(log, 30.0)

    # -- producer side -------------------------------------------------------------------------
    def enqueue(self, records: list[bytes]) -> None:
        """Accept records for delivery. Never blocks; overflow goes to the spool (or is counted)."""
        self.stats.received += len(records)
        was_empty = not self._buffer
        if self._spool_mode:
            self._buffer.extend(records)
            self._spool_buffer_soon()
        elif len(self._buffer) + len(records) > self.config.queue_size:
            if self._spool is not None:
                self._buffer.extend(records)
                self._enter_spool_mode()
            else:
                room = max(0, self.config.queue_size - len(self._buffer))
                self._buffer.extend(records[:room])
                self._drop("queue_full", len(records) - room)
        else:
            self._buffer.extend(records)
            if was_empty or len(self._buffer) >= self.config.batch_size:
                self._wakeup.set()  # an idle worker starts its flush interval; a full batch goes now
        self._update_gauges()

    async def spool_settled(self) -> None:
        """Until every spool write handed over so far is done and counted."""
        if self._spool is not None and not self._spool_closed:
            await self._on_loop(self._spool.append([]), self._appended_nothing)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._spool is not None:
            try:
                self._on_disk = await asyncio.wrap_future(self._spool.opened)
            except Exception as exc:
                raise RuntimeError(f"cannot open the spool {self._spool.path}: {exc}") from exc
            if self._on_disk.count:
                log.info(
                    "%s: %d record(s) waiting in the spool from an earlier run; replaying",
                    self.name,
                    self._on_disk.count,
                )
                self._spool_mode = True
                self._buffer_to_spool()  # what arrived before start goes behind them
            self._update_gauges()
        self._workers = [
            asyncio.create_task(self._supervised(worker), name=f"delivery:{self.name}:{worker}")
            for worker in range(self.max_in_flight)
        ]

    async def stop(self) -> None:
        """Flush what is queued within ``shutdown_timeout_s``; spool whatever could not be sent."""
        self._stopping = True
        self._stop_requested.set()
        self._wakeup.set()
        self._cancel_spool_timer()
        if self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=self.config.shutdown_timeout_s)
            for task in pending:
                task.cancel()  # its batch stays in _inflight and is spooled below
            await asyncio.gather(*pending, return_exceptions=True)
        self._save_leftovers()
        if self._spool is not None and not self._spool_closed:
            self._spool_closed = True
            try:  # the writer closes the file after every call before: then everything is counted
                await self._on_loop(self._spool.close(), Future.result)
            except Exception:
                log.exception("%s: closing the spool failed", self.name)
        self._update_gauges()

    def _save_leftovers(self) -> None:
        leftovers = [record for batch in self._inflight.values() for record in batch]
        leftovers.extend(self._buffer)
        self._inflight.clear()
        self._buffer.clear()
        if not leftovers:
            return
        if self._spool is not None and not self._spool_closed:
            self._to_spool(leftovers)
            log.info("%s: %d record(s) kept in the spool for the next start", self.name, len(leftovers))
        else:
            self._drop("shutdown", len(leftovers))

    # -- workers -----------------------------------------------------------------------------------
    async def _supervised(self, worker: int) -> None:
        await run_supervised(
            f"{self.name}: delivery worker {worker}",
            functools.partial(self._run, worker),
            on_failure=functools.partial(self._worker_failed, worker),
            pause=self._sleep,
            initial_delay_s=self.config.retry.initial_s,
            max_delay_s=self.config.retry.max_s,
            restart=lambda: not self._stopping,
        )

    def _worker_failed(self, worker: int, exc: Exception) -> None:
        self.stats.worker_restarts += 1
        self.stats.last_error = f"delivery worker failed: {type(exc).__name__}: {exc}"
        batch = self._inflight.pop(worker, None)
        if batch:  # it was taken from the head of the queue: back there, in its order
            self._buffer.extendleft(reversed(batch))
            if self._spool_mode:
                self._spool_buffer_soon()
            self._update_gauges()

    async def _run(self, worker: int) -> None:
        while True:
            if self._spool_mode:
                if self._stopping:
                    self._buffer_to_spool()
                    return
                if worker:  # worker 0 replays the spool, in order; the others wait until it is empty
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                if await self._replay_step():
                    self._replay_backoff = self.config.retry.initial_s
                else:
                    await self._sleep(self._replay_backoff)
                    self._replay_backoff = min(self._replay_backoff * 2, self.config.retry.max_s)
                continue
            async with self._taking:
                batch = await self._next_batch()
            if not batch:
                if self._stopping:
                    return
                continue
            await self._deliver(worker, batch)  # no await between taking and registering it

    async def _next_batch(self) -> list[bytes]:
        while not self._buffer and not self._stopping and not self._spool_mode:
            self._wakeup.clear()
            await self._wakeup.wait()
        deadline = time.monotonic() + self.config.flush_interval_s
        while len(self._buffer) < self.config.batch_size and not self._stopping and not self._spool_mode:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)
        if self._spool_mode:
            return []
        buffer = self._buffer
        if len(buffer) <= self.config.batch_size:  # all of it (the usual case): one copy
            batch = list(buffer)
            buffer.clear()
        else:
            batch = [buffer.popleft() for _ in range(self.config.batch_size)]
        self._update_gauges()
        return batch

    async def _deliver(self, worker: int, batch: list[bytes]) -> None:
        # Registered before the first await, and taken out in the same step as it is counted: a
        # batch is in exactly one of _inflight or a counter, so a cancelled worker's batch is spooled.
        self._inflight[worker] = batch
        # with a spool, the first transient failure sends the batch there (retried from the spool)
        in_memory = self._spool is None and not self._stopping
        attempts = self.config.retry.attempts_before_spool if in_memory else 1
        delay = self.config.retry.initial_s
        for attempt in range(1, attempts + 1):
            error = await self._send(batch)
            if not isinstance(error, DeliveryError):
                del self._inflight[worker]
                self._delivered(len(batch), error)
                return
            if not error.transient:
                del self._inflight[worker]
                self._drop("rejected", len(batch))
                return
            if attempt < attempts:
                self.stats.retried += 1
                await self._sleep(delay)
                delay = min(delay * 2, self.config.retry.max_s)
        del self._inflight[worker]
        if self._spool is None or self._spool_closed:
            self._drop("destination_down", len(batch))
            return
        if not self._stopping:
            self.stats.retried += 1  # it is tried again from the spool
        # destination down: this batch, then everything queued behind it, waits on disk in order
        # (a batch of another worker that fails later is appended behind them)
        self._to_spool(batch + list(self._buffer))
        self._buffer.clear()
        self._enter_spool_mode()
        log.warning("%s: destination unavailable (%s); spooling to disk", self.name, self.stats.last_error)

    async def _replay_step(self) -> bool:
        """Send the spool's oldest batch. False when that failed and should be retried later."""
        assert self._spool is not None
        self._buffer_to_spool()
        appends = self._appends
        rows = await self._on_loop(self._spool.peek(self.config.batch_size), Future.result)
        if not rows:
            if appends == self._appends:  # nothing was handed over since the peek: it is empty
                self._leave_spool_mode()
            return True
        batch = [data for _, data in rows]
        error = await self._send(batch)
        if isinstance(error, DeliveryError) and error.transient:
            self.stats.retried += 1
            return False
        # Handed over in the same step as the send ends: if shutdown cancels this worker now, the
        # rows still leave the spool exactly when they are counted (stop() waits for the writer).
        removal = self._spool.remove_through(rows[-1][0])
        await self._on_loop(removal, functools.partial(self._replayed, error))
        return True

    def _replayed(self, error: SendOutcome, removal: Future[Removed]) -> None:
        # Only the rows still in the spool are counted. While the batch was being sent, a full
        # drop_oldest spool may have given up some of its rows to make room, and those are
        # already counted as dropped (spool_full); they reached the destination all the same (at
        # least once), but each record goes into exactly one counter.
        result = removal.result()
        if isinstance(error, DeliveryError):
            self._drop("rejected", result.removed)
        else:
            self._delivered(result.removed, error)
        self._on_disk = result.state
        self._update_gauges()

    async def _send(self, batch: list[bytes]) -> SendOutcome:
        try:
            return await asyncio.wait_for(self.destination.send(batch), self.config.send_timeout_s)
        except DeliveryError as exc:
            error = exc
        except TimeoutError:
            error = DeliveryError(f"send timed out after {self.config.send_timeout_s:g} s")
        except (OSError, ConnectionError) as exc:
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a destination bug must not kill delivery; keep the data
            log.exception("%s: unexpected error while sending", self.name)
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        self.stats.last_error = str(error)
        level = logging.WARNING if error.transient else logging.ERROR
        self._errors.log(level, "send", "%s: send of %d record(s) failed: %s", self.name, len(batch), error)
        return error

    # -- spool mode --------------------------------------------------------------------------------
    def _enter_spool_mode(self) -> None:
        self._spool_mode = True
        self._spool_buffer_soon()
        self._wakeup.set()  # a worker waiting for the next batch stops waiting; worker 0 replays

    def _leave_spool_mode(self) -> None:
        self._spool_mode = False
        self._cancel_spool_timer()
        self._wakeup.set()  # the waiting workers deliver again (the buffer first)
        log.info("%s: spool replayed; delivering directly again", self.name)

    def _spool_buffer_soon(self) -> None:
        """Hand the buffer to the spool now when a batch is full, else within half a flush interval."""
        if len(self._buffer) >= self.config.batch_size or self._stopping:
            self._buffer_to_spool()
        elif self._buffer and self._spool_timer is None:
            self._spool_timer = asyncio.get_running_loop().call_later(
                self.config.flush_interval_s / 2, self._spool_timer_fired
            )

    def _spool_timer_fired(self) -> None:
        self._spool_timer = None
        if self._spool_mode:
            self._buffer_to_spool()

    def _cancel_spool_timer(self) -> None:
        if self._spool_timer is not None:
            self._spool_timer.cancel()
            self._spool_timer = None

    def _buffer_to_spool(self) -> None:
        self._cancel_spool_timer()
        if self._buffer:
            records = list(self._buffer)
            self._buffer.clear()
            self._to_spool(records)

    def _to_spool(self, records: list[bytes]) -> None:
        """Hand ``records`` to the spool's writer; they count as queued until it wrote them."""
        assert self._spool is not None
        if self._spool_closed:  # only after stop()
            self._drop("shutdown", len(records))
            return
        self._spooling += len(records)
        self._appends += 1
        self._on_loop(self._spool.append(records), functools.partial(self._appended, len(records)))
        self._update_gauges()

    def _appended(self, count: int, append: Future[Appended]) -> None:
        self._spooling -= count
        try:
            result = append.result()
        except Exception as exc:
            self.stats.last_error = f"spool write failed: {type(exc).__name__}: {exc}"
            self._errors.log(
                logging.ERROR,
                "spool",
                "%s: cannot write %d record(s) to the spool %s: %s",
                self.name,
                count,
                self._spool.path if self._spool else "?",
                exc,
            )
            self._drop("spool_error", count)
        else:
            self.stats.spooled += result.stored
            self._drop("spool_full", result.dropped)
            self._on_disk = result.state
        self._update_gauges()

    def _appended_nothing(self, append: Future[Appended]) -> None:
        self._on_disk = append.result().state
        self._update_gauges()

    def _on_loop(self, call: Future[T], apply: Callable[[Future[T]], R]) -> asyncio.Future[R]:
        """Run ``apply`` on the event loop once the spool ``call`` is done; a future of its result.

        Results are applied in the order the writer finished the calls (each goes through the
        loop's FIFO of callbacks), which is the order they were made; ``apply`` runs even when
        nobody awaits the returned future any more, so counting never depends on a live worker.
        """
        loop = asyncio.get_running_loop()
        applied: asyncio.Future[R] = loop.create_future()

        def run() -> None:
            try:
                result = apply(call)
            except Exception as exc:
                if applied.done():  # its awaiter is gone (cancelled): say it here
                    log.error("%s: spool call failed: %s", self.name, exc)
                else:
                    applied.set_exception(exc)
            else:
                if not applied.done():
                    applied.set_result(result)

        call.add_done_callback(lambda _: loop.call_soon_threadsafe(run))
        return applied

    # -- helpers -----------------------------------------------------------------------------------
    def _delivered(self, count: int, refused: Refused | None) -> None:
        bad = min(refused.count, count) if refused is not None else 0
        self.stats.delivered += count - bad
        if refused is not None:
            self._drop(refused.reason, bad)

    def _drop(self, reason: str, count: int) -> None:
        if count <= 0:
            return
        self.stats.dropped[reason] += count
        self._errors.log(
            logging.WARNING, f"drop:{reason}", "%s: dropped %d record(s): %s", self.name, count, reason
        )

    def _update_gauges(self) -> None:
        self.stats.queued = len(self._buffer) + self._spooling
        self.stats.spool_records = self._on_disk.count
        self.stats.spool_bytes = self._on_disk.bytes

    async def _sleep(self, seconds: float) -> None:
        """Back off (with ±20 % jitter) unless shutdown wakes us."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds * random.uniform(0.8, 1.2))
