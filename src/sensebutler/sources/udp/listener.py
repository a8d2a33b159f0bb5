"""A UDP input: socket, admission checks, and batched reads that hand datagrams on.

The socket's receive buffer is the queue. When it becomes readable the listener waits so a batch
gathers, then reads datagrams in slices of ``READ_SLICE`` (yielding to the event loop between
slices) until the socket is empty, and hands each slice on at once. The wait is long enough for
about ``GATHER`` datagrams to gather at the rate of the last wake-up cycle (and for no more than a
quarter of the receive buffer to fill), between ``min_gather_s`` (``READ_DELAY_S``; busy) and
``max_gather_s`` (``READ_DELAY_MAX_S``; a trickle); task events, few and each awaited as an alert,
are read at once (both 0). One wake-up per batch instead of one per
datagram keeps the cost per datagram low at every rate, and a quiet input wakes the process a few
times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
import struct
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sensebutler.config.udp import UdpInputSection
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.rate_limit import TokenBucket
from sensebutler.runtime import StartupError
from sensebutler.sources.udp.allow_list import AllowList
from sensebutler.sources.udp.kernel_drops import kernel_drops, socket_inode, socket_queue
from sensebutler.sources.udp.receive_buffer import (
    LINUX,
    ReceiveBuffer,
    set_receive_buffer,
    shortfall_warning,
)
from sensebutler.sources.udp.receive_thread import Datagram, ReceiveThread
from sensebutler.sources.udp.reuseport_spread import attach_random_spread

log = logging.getLogger(__name__)

#: wait after the socket becomes readable, so datagrams are read and handled in batches: at least
#: this long, and long enough for about ``GATHER`` datagrams at the recent rate, up to the maximum
READ_DELAY_S = 0.02
READ_DELAY_MAX_S = 1.0
#: datagrams a wake-up waits for (about a delivery batch): a batch costs ~1.7 ms besides its
#: events (waking, cold caches, a send), which at 1,000/s in slices of 200 was a quarter of the CPU
GATHER = 1000
#: at most this share of the receive buffer may fill while waiting (its bytes, as the kernel counts
#: a datagram: its length plus about ``DATAGRAM_OVERHEAD`` bytes of bookkeeping)
GATHER_BUFFER_SHARE = 0.25
DATAGRAM_OVERHEAD = 768
#: while waiting longer than this, the receive queue's size is looked at this often (Linux:
#: ``SO_MEMINFO``, under a µs), and the batch is read once about ``GATHER`` datagrams wait: a burst
#: after a quiet spell is read within this, not after the quiet spell's long wait
PROBE_S = 0.1
#: the longest wait where the queue cannot be looked at (not Linux)
READ_DELAY_BLIND_S = 0.2
SO_MEMINFO = 55  # Linux: struct sk_meminfo, the first of its u32 is the receive queue's bytes
#: datagrams read per callback before yielding to the event loop
READ_SLICE = 200
#: at stop, after ``stop_drain_s``: how long the rest of the queue may take to read and discard
DISCARD_MAX_S = 0.5
#: takes the admitted datagrams of one batch and their arrival time; counts each one itself
Handler = Callable[[list[bytes], int], None]


class OtherQueues(Protocol):
    """The receive queues of the other worker processes on the same port (``workers``)."""

    def queue_bytes(self) -> int: ...

    def queue_capacity_bytes(self) -> int: ...

    def kernel_drops(self) -> int: ...


@dataclass
class IngestStats:
    """Counters of one UDP input since start (the metrics source reports deltas)."""

    received: int = 0
    #: parsed and handed on (published, or deliberately filtered: see ``dropped``)
    processed: int = 0
    published: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    kernel_drops: int | None = None
    processing_ns: deque[int] = field(default_factory=lambda: deque(maxlen=1000))


class UdpListener:
    def __init__(
        self,
        name: str,
        settings: UdpInputSection,
        handler: Handler,
        stats: IngestStats | None = None,
        *,
        spread_over: int = 1,
        min_gather_s: float = READ_DELAY_S,
        max_gather_s: float = READ_DELAY_MAX_S,
    ) -> None:
        self.name = name
        #: the shortest and longest wait for a batch to gather (by the recent rate)
        self.min_gather_s = min_gather_s
        self.max_gather_s = max_gather_s
        #: sockets sharing the port (this one and the workers'): > 1 = SO_REUSEPORT with a random pick
        self.spread_over = spread_over
        #: the other workers' queue figures, merged into what this listener reports (``workers``)
        self.others: OtherQueues | None = None
        self.settings = settings
        self.handler = handler
        self.stats = stats or IngestStats()
        self.allow = AllowList(settings.allowed_sources, settings.resolve_interval_s)
        rate = settings.rate_limit
        self.bucket = TokenBucket(rate.per_second, rate.burst) if rate.enable else None
        self.port = settings.port
        #: the receive buffer as the OS reports it (bytes; the limit the queue fill is measured against)
        self.receive_buffer = 0
        self.buffer: ReceiveBuffer | None = None
        #: the receive path in use, decided at start from ``settings.receive``
        self.receive_path: Literal["loop", "thread"] | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.Handle | None = None
        #: the last wake-up and the datagrams (and bytes) read since: the recent rate, which sets
        #: the next wait
        self._woke_at = 0.0
        self._read_since_wake = 0
        self._bytes_since_wake = 0
        #: the current wait: when it ends, and the queued bytes that end it sooner (probed)
        self._gather_end = 0.0
        self._gather_bytes = 0
        #: the receive queue's size can be read (``SO_MEMINFO``), checked at start
        self._probing = False
        self._thread: ReceiveThread | None = None
        self._stop_deadline: float | None = None  # monotonic time after which nothing more is handled
        self._inode = 0
        self._refused = RateLimitedLog(log, 60.0)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_deadline = None
        self._thread = None
        self._sock = self._bind()
        self._inode = socket_inode(self._sock)
        try:
            await self.allow.start()
            self.receive_path = self._start_receiving(self._loop, self._sock)
        except BaseException:
            await self.allow.stop()
            self._sock.close()
            self._sock = None
            raise
        log.info(
            "%s: listening on udp %s:%d (receive buffer %.1f MB, %s receive path%s)",
            self.name,
            self.settings.host,
            self.port,
            (self.buffer.granted if self.buffer else 0) / 1024 / 1024,
            self.receive_path,
            f", allowed sources {', '.join(sorted(self.allow.allowed))}" if self.allow.enabled else "",
        )
        self._warn_if_exposed()

    async def stop(self) -> None:
        """Stop receiving, handle what is queued for at most ``stop_drain_s``, count the rest, close."""
        await self.allow.stop()
        sock, loop = self._sock, self._loop
        if sock is None or loop is None:
            return
        self._stop_deadline = time.monotonic() + self.settings.stop_drain_s
        if LINUX:  # a tiny buffer: the kernel refuses (and counts) what arrives while the queue drains
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)
        if self._thread is not None:
            await self._thread.stop()  # batches it handed over are handled until the deadline
        else:
            loop.remove_reader(sock.fileno())
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
        try:
            await self._drain(sock, self._stop_deadline)
        finally:
            self.read_kernel_drops()  # the last figure, while the socket still exists
            sock.close()
            self._sock = None

    def _start_receiving(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket
    ) -> Literal["loop", "thread"]:
        mode = self.settings.receive
        if mode != "thread":
            try:
                loop.add_reader(sock.fileno(), self._readable)
                self._probing = LINUX and self._queued_bytes() is not None
                return "loop"
            except NotImplementedError as exc:  # Windows' Proactor loop
                if mode == "loop":
                    raise StartupError(
                        f"{self.name}: receive: loop needs an event loop that watches sockets (add_reader), "
                        f"which {type(loop).__name__} cannot; set receive: auto or thread"
                    ) from exc
        assert self.buffer is not None
        self._thread = ReceiveThread(
            self.name,
            sock,
            bufsize=self.settings.max_size + 1,
            capacity_bytes=max(self.buffer.granted, 1024 * 1024),
            slice_size=READ_SLICE,
            gather_s=self.min_gather_s,
            loop=loop,
            deliver=self._deliver,
            lost=self._count_lost,
        )
        self._thread.start()
        return "thread"

    def _bind(self) -> socket.socket:
        host = self.settings.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        asked = int(self.settings.receive_buffer_mb * 1024 * 1024)
        try:
            if self.settings.reuse_port or self.spread_over > 1:
                reuse_port = getattr(socket, "SO_REUSEPORT", None)
                if reuse_port is None:
                    raise OSError("reuse_port needs SO_REUSEPORT, which this OS does not have")
                sock.setsockopt(socket.SOL_SOCKET, reuse_port, 1)
            if family == socket.AF_INET6 and host in ("::", "::0"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 too
            self.buffer = set_receive_buffer(sock, asked)
            self.receive_buffer = self.buffer.reported
            sock.bind((host, self.settings.port))
            if self.spread_over > 1:
                attach_random_spread(sock, self.spread_over)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            hint = ""
            if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)):
                hint = (
                    " (another process listens there; to share the port between sensebutler instances "
                    "set reuse_port: true in every one of them)"
                )
            raise StartupError(
                f"{self.name}: cannot listen on udp {host}:{self.settings.port}: {_cause(exc)}{hint}"
            ) from exc
        self.port = sock.getsockname()[1]
        warning = shortfall_warning(self.buffer)
        if warning:
            log.warning("%s: %s", self.name, warning)
        return sock

    def _warn_if_exposed(self) -> None:
        """Anyone who reaches a non-loopback port can send events: say so when nothing limits them."""
        if self.allow.enabled or _is_loopback(self.settings.host):
            return
        log.warning(
            "%s: listening on udp %s:%d without allowed_sources%s: anyone who can reach this port can "
            "send events. Set allowed_sources to the Sense nodes%s and firewall the port (docs/security.md)",
            self.name,
            self.settings.host,
            self.port,
            "" if self.bucket else " or a rate limit",
            "" if self.bucket else ", enable rate_limit",
        )

    # -- receive: the event loop watches the socket ----------------------------------------------
    def _readable(self) -> None:
        assert self._loop is not None and self._sock is not None
        self._loop.remove_reader(self._sock.fileno())
        now = time.monotonic()
        wait = self._gather_s(now)
        self._gather_end = now + wait
        if self._probing and wait > PROBE_S:
            self._pending = self._loop.call_later(PROBE_S, self._probe)
        else:
            self._pending = self._loop.call_later(wait, self._read_batch)

    def _gather_s(self, now: float) -> float:
        """How long to wait for a batch: ``GATHER`` datagrams at the rate since the last wake-up,
        within the buffer's share and ``min_gather_s`` … ``max_gather_s``; sets the queued bytes
        that end the wait sooner."""
        elapsed = now - self._woke_at
        count, size = self._read_since_wake, self._bytes_since_wake
        self._woke_at, self._read_since_wake, self._bytes_since_wake = now, 0, 0
        longest = self.max_gather_s if self._probing else min(self.max_gather_s, READ_DELAY_BLIND_S)
        in_kernel = (size / count if count else 512) + DATAGRAM_OVERHEAD  # a datagram's queued bytes
        share = GATHER_BUFFER_SHARE * self.receive_buffer
        self._gather_bytes = int(min(GATHER * in_kernel, share) if share else GATHER * in_kernel)
        if elapsed <= 0 or not count:
            return longest
        rate = count / elapsed  # per second, over the last cycle
        wait = GATHER / rate
        if share:  # no more than the buffer's share fills at that rate
            wait = min(wait, share / (rate * in_kernel))
        return min(longest, max(self.min_gather_s, wait))

    def _probe(self) -> None:
        """During a long wait: read now if about a batch is queued, else look again later."""
        assert self._loop is not None
        remaining = self._gather_end - time.monotonic()
        queued = self._queued_bytes()
        if remaining <= 0.001 or queued is None or queued >= self._gather_bytes:
            self._read_batch()
        else:
            self._pending = self._loop.call_later(min(PROBE_S, remaining), self._probe)

    def _queued_bytes(self) -> int | None:
        """The receive queue's bytes as the kernel counts them (Linux), else None."""
        assert self._sock is not None
        try:
            info = self._sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 36)
        except OSError:
            return None
        queued: int = struct.unpack_from("I", info)[0]
        return queued

    def _read_batch(self) -> None:
        assert self._loop is not None and self._sock is not None
        read = self._read(READ_SLICE)
        self._read_since_wake += read
        if read == READ_SLICE:
            self._pending = self._loop.call_soon(self._read_batch)  # more waiting: next slice
        else:
            self._pending = None
            self._loop.add_reader(self._sock.fileno(), self._readable)

    def _read(self, limit: int) -> int:
        """Read and handle up to ``limit`` datagrams; return how many were read."""
        assert self._sock is not None
        bufsize = self.settings.max_size + 1  # one byte more reveals an oversized datagram
        if self.allow.enabled:  # the sender's address is needed
            batch: list[Datagram] = []
            recvfrom = self._sock.recvfrom
            try:
                while len(batch) < limit:
                    batch.append(recvfrom(bufsize))
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:  # e.g. ICMP errors surfacing on the socket
                self._socket_error(exc)
            if batch:
                self._bytes_since_wake += sum(len(data) for data, _ in batch)
                # one arrival time per batch: datagrams in it arrived within the gather wait of each other
                self._handle(batch, time.time_ns())
            return len(batch)
        # no allow-list: recv, not recvfrom (the address costs about 1 µs a datagram to build)
        plain: list[bytes] = []
        recv = self._sock.recv
        try:
            while len(plain) < limit:
                plain.append(recv(bufsize))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            self._socket_error(exc)
        if plain:
            self._bytes_since_wake += sum(map(len, plain))
            self._handle_plain(plain, time.time_ns())
        return len(plain)

    def _socket_error(self, exc: OSError) -> None:
        self._refused.log(logging.WARNING, "socket-error", "%s: socket error: %s", self.name, exc)

    # -- receive: a reader thread hands batches over ---------------------------------------------
    def _deliver(self, batch: list[Datagram], received_ns: int, cost: int) -> None:
        assert self._thread is not None
        try:
            if self._stop_deadline is not None and time.monotonic() >= self._stop_deadline:
                self.stats.received += len(batch)
                self.stats.dropped["shutdown"] += len(batch)
            else:
                self._handle(batch, received_ns)
        finally:
            self._thread.handled(cost)

    def _count_lost(self, lost: int) -> None:
        """Datagrams the reader thread read but had to drop: the event loop was behind."""
        self.stats.received += lost
        self.stats.dropped["queue_full"] += lost

    # -- admission, in the same order on both paths ----------------------------------------------
    def _handle(self, batch: list[Datagram], received_ns: int) -> None:
        """Allow-list → size → rate limit, each refusal counted by reason; the rest to the handler."""
        stats = self.stats
        dropped = stats.dropped
        allow = self.allow if self.allow.enabled else None
        bucket = self.bucket
        max_size = self.settings.max_size
        if not batch:
            return
        started = time.perf_counter_ns()
        stats.received += len(batch)
        admitted: list[bytes] = []
        for data, addr in batch:
            if allow is not None and addr[0] not in allow:
                dropped["source_not_allowed"] += 1
                self._refused.log(
                    logging.WARNING,
                    str(addr[0]),
                    "%s: datagram from %s refused (not an allowed source)",
                    self.name,
                    addr[0],
                )
                continue
            if len(data) > max_size:
                dropped["too_large"] += 1
                continue
            if bucket is not None and not bucket.take():
                dropped["rate_limited"] += 1
                continue
            admitted.append(data)
        self._hand_over(admitted, received_ns, started, len(batch))

    def _handle_plain(self, batch: list[bytes], received_ns: int) -> None:
        """:meth:`_handle` for datagrams read without their sender (no allow-list): size → rate limit."""
        stats = self.stats
        started = time.perf_counter_ns()
        stats.received += len(batch)
        admitted = batch
        max_size = self.settings.max_size
        if max(map(len, batch)) > max_size:
            admitted = [data for data in batch if len(data) <= max_size]
            stats.dropped["too_large"] += len(batch) - len(admitted)
        bucket = self.bucket
        if bucket is not None and admitted:
            allowed = bucket.take_up_to(len(admitted))
            if allowed < len(admitted):
                stats.dropped["rate_limited"] += len(admitted) - allowed
                admitted = admitted[:allowed]
        self._hand_over(admitted, received_ns, started, len(batch))

    def _hand_over(self, admitted: list[bytes], received_ns: int, started: int, read: int) -> None:
        """The admitted datagrams to the handler; the batch's processing time per datagram read."""
        stats = self.stats
        if admitted:
            try:
                self.handler(admitted, received_ns)
            except Exception:  # the handler counts each datagram itself; this is a bug in it
                stats.failed += len(admitted)
                self._refused.log(
                    logging.ERROR, "handler", "%s: failed to handle datagrams", self.name, exc_info=True
                )
        stats.processing_ns.append((time.perf_counter_ns() - started) // read)

    # -- stop ------------------------------------------------------------------------------------
    async def _drain(self, sock: socket.socket, deadline: float) -> None:
        """Handle what is queued until ``deadline``; read, count and discard the rest."""
        sock.setblocking(False)
        while time.monotonic() < deadline:
            if self._read(READ_SLICE) < READ_SLICE:
                break  # what was queued is handled
            await asyncio.sleep(0)  # let the rest of the service run between slices
        else:
            self._discard(sock)
        dropped = self.stats.dropped["shutdown"]
        if dropped:
            left = self.queue_bytes()
            log.warning(
                "%s: stopped after handling queued datagrams for %.1f s; %d datagram(s) still queued were "
                "dropped (counted as shutdown)%s",
                self.name,
                self.settings.stop_drain_s,
                dropped,
                f", and about {left} bytes more are dropped with the socket" if left else "",
            )

    def _discard(self, sock: socket.socket) -> None:
        """Read what is still queued without handling it (bounded by ``DISCARD_MAX_S``); count it."""
        buffer = bytearray(self.settings.max_size + 1)
        end = time.monotonic() + DISCARD_MAX_S
        count = 0
        while True:
            try:
                sock.recv_into(buffer)
            except OSError:  # BlockingIOError: empty
                break
            count += 1
            if count % 256 == 0 and time.monotonic() >= end:
                break
        self.stats.received += count
        self.stats.dropped["shutdown"] += count

    # -- metrics -------------------------------------------------------------------------------
    def queue_bytes(self) -> int:
        """Bytes waiting: in the socket's receive buffer (0 where the OS does not tell) and, on the
        thread path, handed to the event loop and not yet handled."""
        waiting = (socket_queue(self._inode) or 0) if self._inode else 0
        others = self.others.queue_bytes() if self.others is not None else 0
        return waiting + others + (self._thread.in_flight_bytes if self._thread is not None else 0)

    @property
    def queue_capacity_bytes(self) -> int:
        """What :meth:`queue_bytes` can reach: the receive buffer, plus the thread's hand-off."""
        others = self.others.queue_capacity_bytes() if self.others is not None else 0
        return self.receive_buffer + others + (self._thread.capacity_bytes if self._thread is not None else 0)

    def read_kernel_drops(self) -> int | None:
        with contextlib.suppress(OSError):
            self.stats.kernel_drops = kernel_drops(self._inode) if self._inode else None
        if self.others is not None:
            self.stats.kernel_drops = (self.stats.kernel_drops or 0) + self.others.kernel_drops()
        return self.stats.kernel_drops


def _cause(exc: BaseException) -> str:
    """The exception's message, or its type when it has none (``NotImplementedError()``)."""
    return str(exc) or type(exc).__name__


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
