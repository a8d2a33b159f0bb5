"""A reader thread for event loops that cannot watch sockets (Windows' Proactor loop has no
``add_reader``).

The thread blocks in ``recvfrom`` (with a timeout, so a stop is noticed), waits ``gather_s`` once a
datagram arrived so a batch gathers, as the loop path does, and hands batches of at most
``slice_size`` datagrams to the event loop with ``call_soon_threadsafe``; the loop applies the
admission checks and the handler, so the order of checks and the counters are the same on both
paths. The hand-off is bounded in bytes (each datagram costs its length plus ``OVERHEAD_BYTES``):
a batch that does not fit is dropped and its size reported to the loop (``lost``; the listener
counts the datagrams as received and ``dropped["queue_full"]``), so memory stays bounded when the
loop cannot keep up and nothing is lost silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sensebutler.logs import RateLimitedLog

log = logging.getLogger(__name__)

#: how long one blocking read waits, i.e. how soon the thread notices a stop
POLL_S = 0.2
#: a datagram's cost in the hand-off beyond its payload (the Python objects that hold it)
OVERHEAD_BYTES = 256
Datagram = tuple[bytes, Any]
#: (datagrams, arrival time in ns, their cost in bytes); the callee calls ``handled(cost)`` after them
Deliver = Callable[[list[Datagram], int, int], None]


class ReceiveThread:
    def __init__(
        self,
        name: str,
        sock: socket.socket,
        *,
        bufsize: int,
        capacity_bytes: int,
        slice_size: int,
        gather_s: float,
        loop: asyncio.AbstractEventLoop,
        deliver: Deliver,
        lost: Callable[[int], None],
    ) -> None:
        self.name = name
        self.capacity_bytes = capacity_bytes
        self._sock = sock
        self._bufsize = bufsize
        self._slice = slice_size
        self._gather_s = gather_s
        self._loop = loop
        self._deliver = deliver
        self._on_lost = lost
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0  # bytes handed to the loop and not yet handled
        self._lost = 0  # datagrams dropped and not yet reported to the loop
        self._lost_reported = False  # a report is scheduled on the loop
        self._finished: asyncio.Future[None] = loop.create_future()
        self._errors = RateLimitedLog(log, 60.0)
        self._thread = threading.Thread(target=self._run, name=f"{name} receive", daemon=True)

    @property
    def in_flight_bytes(self) -> int:
        return self._in_flight

    @property
    def lost_unreported(self) -> int:
        """Datagrams dropped that the loop has not counted yet (it will, at its next turn)."""
        return self._lost

    def start(self) -> None:
        self._sock.settimeout(POLL_S)
        self._thread.start()

    def handled(self, cost: int) -> None:
        """The loop finished a batch of ``cost`` bytes: room for the next ones."""
        with self._lock:
            self._in_flight -= cost

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop reading; on return every batch handed over has been delivered to the loop."""
        self._stopping.set()
        if self._thread.is_alive():
            try:  # resolved by the thread's last call_soon_threadsafe, so after every batch it handed over
                await asyncio.wait_for(asyncio.shield(self._finished), timeout_s)
            except TimeoutError:
                log.error("%s: the reader thread did not stop within %.0f s", self.name, timeout_s)
        self._report_lost()

    def _report_lost(self) -> None:
        """On the loop: pass on the count of dropped datagrams."""
        with self._lock:
            lost, self._lost, self._lost_reported = self._lost, 0, False
        if lost:
            self._on_lost(lost)

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    first = self._sock.recvfrom(self._bufsize)
                except TimeoutError:
                    continue
                except OSError as exc:  # e.g. ICMP errors surfacing on the socket (Windows: WSAECONNRESET)
                    if self._stopping.is_set():
                        break
                    self._errors.log(logging.WARNING, "socket-error", "%s: socket error: %s", self.name, exc)
                    self._stopping.wait(0.05)  # never spin on a persistent error
                    continue
                self._stopping.wait(self._gather_s)  # let a batch gather
                batch = [first]
                while True:
                    full = self._read_waiting(batch)
                    if batch:
                        self._hand_over(batch, time.time_ns())
                    if not full or self._stopping.is_set():
                        break
                    batch = []
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                self._loop.call_soon_threadsafe(_resolve, self._finished)

    def _read_waiting(self, batch: list[Datagram]) -> bool:
        """Add what is waiting (without blocking) up to a slice; True when the slice is full."""
        sock = self._sock
        sock.settimeout(0.0)
        try:
            while len(batch) < self._slice:
                batch.append(sock.recvfrom(self._bufsize))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if not self._stopping.is_set():
                self._errors.log(logging.WARNING, "socket-error", "%s: socket error: %s", self.name, exc)
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(POLL_S)
        return True

    def _hand_over(self, batch: list[Datagram], received_ns: int) -> None:
        cost = sum(len(data) for data, _ in batch) + OVERHEAD_BYTES * len(batch)
        with self._lock:
            fits = self._in_flight + cost <= self.capacity_bytes or self._in_flight == 0
            if fits:
                self._in_flight += cost
            else:
                self._lost += len(batch)
                report = not self._lost_reported  # one report pending at a time, however far behind
                self._lost_reported = True
        try:
            if fits:
                self._loop.call_soon_threadsafe(self._deliver, batch, received_ns, cost)
                return
            if report:
                self._loop.call_soon_threadsafe(self._report_lost)
        except RuntimeError:  # the loop is closed
            self._stopping.set()
        self._errors.log(
            logging.WARNING,
            "queue-full",
            "%s: the event loop is behind; datagrams are dropped (counted as queue_full)",
            self.name,
        )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
