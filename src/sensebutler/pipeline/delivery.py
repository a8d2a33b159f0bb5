"""The one delivery mechanism every sink uses.

    enqueue → bounded memory queue → batch → send (retry with exponential backoff)
            → spool on disk while the destination is down → replay in order when it is back

Up to ``max_in_flight`` batches are sent at the same time (``delivery.max_in_flight``, else the
destination's own default), one per worker task. Workers take batches one after the other; while the
spool holds anything, one worker replays it and the others wait.

With one batch in flight order is kept: while anything waits in the spool, new records go behind it,
and the spool is replayed from its head. With more, batches may land out of order (a later batch can
succeed while an earlier one is retried or spooled); destinations whose readers depend on order use
one. Delivery is at least once: a batch whose send timed out may have arrived and is sent again.
Every record ends in exactly one counter: ``delivered``, ``dropped[reason]``, or is still waiting
(``queued`` in memory, ``spool_records`` on disk); a batch being sent is in none until its send
ends, and at shutdown every such batch is delivered or spooled. A spooled record that a full
``drop_oldest`` spool gives up while its batch is being replayed counts as dropped only, even though
that send may still deliver it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sensebutler.config.delivery import DeliveryConfig
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.spool import Spool

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send failed. ``transient`` failures are retried and spooled; the others are dropped."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class Destination(Protocol):
    """Where a sink's encoded records go (an HTTP API, a broker...)."""

    name: str
    #: batches sent at the same time unless ``delivery.max_in_flight`` says otherwise
    max_in_flight: int

    async def open(self) -> None: ...

    async def send(self, batch: list[bytes]) -> None:
        """Deliver ``batch`` or raise :class:`DeliveryError`."""

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
        self._spool_mode = bool(self._spool and self._spool.count)
        self.max_in_flight = max(1, config.max_in_flight or destination.max_in_flight)
        #: worker → the batch it is sending, in the order the batches were taken
        self._inflight: dict[int, list[bytes]] = {}
        #: one worker at a time waits for and takes the next batch (the others wait here, idle)
        self._taking = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        #: removal of a replayed batch from the spool together with its counting; not cancelled
        self._replay_ack: asyncio.Task[None] | None = None
        self._errors = RateLimitedLog(log, 30.0)
        self._update_gauges()

    # -- producer side -------------------------------------------------------------------------
    def enqueue(self, records: list[bytes]) -> None:
        """Accept records for delivery. Never blocks; overflow goes to the spool (or is counted)."""
        self.stats.received += len(records)
        was_empty = not self._buffer
        if self._spool_mode or len(self._buffer) + len(records) > self.config.queue_size:
            if self._spool is not None:
                self._spool_mode = True
                self._buffer.extend(records)
                if len(self._buffer) >= self.config.batch_size or self._stopping:
                    self._buffer_to_spool()
            else:
                room = max(0, self.config.queue_size - len(self._buffer))
                self._buffer.extend(records[:room])
                self._drop("queue_full", len(records) - room)
        else:
            self._buffer.extend(records)
        if was_empty or len(self._buffer) >= self.config.batch_size:
            self._wakeup.set()  # an idle worker starts its flush interval; a full batch goes now
        self.stats.queued = len(self._buffer)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._spool_mode:
            log.info(
                "%s: %d record(s) waiting in the spool from an earlier run; replaying",
                self.name,
                self.stats.spool_records,
            )
        self._workers = [
            asyncio.create_task(self._run(worker), name=f"delivery:{self.name}:{worker}")
            for worker in range(self.max_in_flight)
        ]

    async def stop(self) -> None:
        """Flush what is queued within ``shutdown_timeout_s``; spool whatever could not be sent."""
        self._stopping = True
        self._stop_requested.set()
        self._wakeup.set()
        if self._workers:
            done, pending = await asyncio.wait(self._workers, timeout=self.config.shutdown_timeout_s)
            for task in pending:
                task.cancel()  # its batch stays in _inflight and is spooled below
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:  # a worker must not take shutdown down with it
                if not task.cancelled() and task.exception() is not None:
                    log.error("%s: delivery worker failed", self.name, exc_info=task.exception())
        if self._replay_ack is not None:
            try:
                await self._replay_ack
            except Exception:
                log.exception("%s: removing a replayed batch from the spool failed", self.name)
        self._save_leftovers()
        if self._spool is not None:
            self._spool.close()
        self._update_gauges()

    def _save_leftovers(self) -> None:
        leftovers = [record for batch in self._inflight.values() for record in batch]
        leftovers.extend(self._buffer)
        self._inflight.clear()
        self._buffer.clear()
        if not leftovers:
            return
        if self._spool is not None:
            self._to_spool(leftovers)
            log.info("%s: %d record(s) kept in the spool for the next start", self.name, len(leftovers))
        else:
            self._drop("shutdown", len(leftovers))

    # -- worker ------------------------------------------------------------------------------------
    async def _run(self, worker: int) -> None:
        backoff = self.config.retry.initial_s
        while True:
            if self._spool_mode:
                if self._stopping:
                    self._buffer_to_spool()
                    return
                if worker:  # worker 0 replays the spool, in order; the others wait until it is empty
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                sent = await self._replay_step()
                if sent:
                    backoff = self.config.retry.initial_s
                elif self._spool_mode:
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, self.config.retry.max_s)
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
        count = min(len(self._buffer), self.config.batch_size)
        batch = [self._buffer.popleft() for _ in range(count)]
        self.stats.queued = len(self._buffer)
        return batch

    async def _deliver(self, worker: int, batch: list[bytes]) -> None:
        # Registered before the first await, and taken out in the same step as it is counted: a
        # batch is in exactly one of _inflight or a counter, so a cancelled worker's batch is spooled.
        self._inflight[worker] = batch
        delay = self.config.retry.initial_s
        attempts = 1 if self._stopping else self.config.retry.attempts_before_spool
        for attempt in range(1, attempts + 1):
            error = await self._send(batch)
            if error is None:
                del self._inflight[worker]
                self.stats.delivered += len(batch)
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
        if self._spool is None:
            self._drop("destination_down", len(batch))
            return
        # destination down: this batch, then everything queued behind it, waits on disk in order
        # (a batch of another worker that fails later is appended behind them)
        self._spool_mode = True
        self._to_spool(batch + list(self._buffer))
        self._buffer.clear()
        self._wakeup.set()  # a worker waiting for the next batch stops waiting; worker 0 replays
        log.warning("%s: destination unavailable (%s); spooling to disk", self.name, self.stats.last_error)

    async def _replay_step(self) -> bool:
        """Send the spool's oldest batch; True when it was delivered (or rejected and removed)."""
        assert self._spool is not None
        self._buffer_to_spool()
        rows = await asyncio.to_thread(self._spool.peek, self.config.batch_size)
        if not rows:
            self._spool_mode = False
            self._wakeup.set()  # the waiting workers deliver again
            log.info("%s: spool replayed; delivering directly again", self.name)
            return True
        batch = [data for _, data in rows]
        error = await self._send(batch)
        if error is not None and error.transient:
            self.stats.retried += 1
            return False
        # shielded: if shutdown cancels this worker now, the rows still leave the spool exactly when
        # they are counted (stop() waits for it)
        self._replay_ack = asyncio.create_task(self._remove_replayed(rows[-1][0], error))
        await asyncio.shield(self._replay_ack)
        return True

    async def _remove_replayed(self, last_id: int, error: DeliveryError | None) -> None:
        assert self._spool is not None
        # Only the rows still in the spool are counted. While the batch was being sent, a full
        # drop_oldest spool may have given up some of its rows to make room (Spool.append), and
        # those are already counted as dropped (spool_full); they reached the destination all the
        # same (at least once), but each record goes into exactly one counter.
        count = await asyncio.to_thread(self._spool.remove_through, last_id)
        if error is None:
            self.stats.delivered += count
        else:
            self._drop("rejected", count)
        self._update_gauges()

    async def _send(self, batch: list[bytes]) -> DeliveryError | None:
        try:
            await asyncio.wait_for(self.destination.send(batch), self.config.send_timeout_s)
            return None
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

    # -- helpers -----------------------------------------------------------------------------------
    def _buffer_to_spool(self) -> None:
        if self._buffer:
            records = list(self._buffer)
            self._buffer.clear()
            self._to_spool(records)

    def _to_spool(self, records: list[bytes]) -> None:
        assert self._spool is not None
        stored, dropped = self._spool.append(records)
        self.stats.spooled += stored
        if dropped:
            self._drop("spool_full", dropped)
        self._update_gauges()

    def _drop(self, reason: str, count: int) -> None:
        if count <= 0:
            return
        self.stats.dropped[reason] += count
        self._errors.log(
            logging.WARNING, f"drop:{reason}", "%s: dropped %d record(s): %s", self.name, count, reason
        )

    def _update_gauges(self) -> None:
        self.stats.queued = len(self._buffer)
        if self._spool is not None:
            self.stats.spool_records = self._spool.count
            self.stats.spool_bytes = self._spool.bytes

    async def _sleep(self, seconds: float) -> None:
        """Back off (with ±20 % jitter) unless shutdown wakes us."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds * random.uniform(0.8, 1.2))
