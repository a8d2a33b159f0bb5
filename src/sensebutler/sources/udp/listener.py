"""A UDP input: socket, admission checks, and batched reads that hand datagrams on.

The socket's receive buffer is the queue. When it becomes readable the listener waits
``READ_DELAY_S`` so a batch gathers, then reads datagrams in slices of ``READ_SLICE`` (yielding to
the event loop between slices) until the socket is empty, and handles each one at once. One
wake-up per batch instead of one per datagram keeps the cost per datagram low at every rate.

Per datagram, cheapest check first: source allow-list → size → token-bucket rate limit → handler.
Each refusal is counted by reason. Every datagram that reaches the socket ends up in exactly one
place: ``received = processed + dropped + malformed + failed`` (see :class:`IngestStats`); datagrams
the kernel dropped because the buffer was full are read from the OS (``kernel_drops``), and the
buffer's fill level is reported as the queue size.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sensebutler.config.udp import UdpInputSection
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.rate_limit import TokenBucket
from sensebutler.runtime import StartupError
from sensebutler.sources.udp.allow_list import AllowList
from sensebutler.sources.udp.kernel_drops import kernel_drops, socket_inode, socket_queue

log = logging.getLogger(__name__)

#: wait after the socket becomes readable, so datagrams are read and handled in batches
READ_DELAY_S = 0.02
#: datagrams read per callback before yielding to the event loop
READ_SLICE = 200
Handler = Callable[[bytes, int], None]


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
        self, name: str, settings: UdpInputSection, handler: Handler, stats: IngestStats | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self.handler = handler
        self.stats = stats or IngestStats()
        self.allow = AllowList(settings.allowed_sources, settings.resolve_interval_s)
        rate = settings.rate_limit
        self.bucket = TokenBucket(rate.per_second, rate.burst) if rate.enable else None
        self.port = settings.port
        self.receive_buffer = 0
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.Handle | None = None
        self._inode = 0
        self._refused = RateLimitedLog(log, 60.0)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = self._bind()
        self._inode = socket_inode(self._sock)
        await self.allow.start()
        self._loop.add_reader(self._sock.fileno(), self._readable)
        log.info(
            "%s: listening on udp %s:%d (receive buffer %.1f MB%s)",
            self.name,
            self.settings.host,
            self.port,
            self.receive_buffer / 1024 / 1024,
            f", allowed sources {', '.join(sorted(self.allow.allowed))}" if self.allow.enabled else "",
        )

    async def stop(self) -> None:
        await self.allow.stop()
        if self._sock is None or self._loop is None:
            return
        self._loop.remove_reader(self._sock.fileno())
        if self._pending is not None:
            self._pending.cancel()
        while self._read(READ_SLICE) == READ_SLICE:  # what already arrived is handled, not lost
            pass
        self._sock.close()
        self._sock = None

    def _bind(self) -> socket.socket:
        host = self.settings.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if self.settings.reuse_port:
                reuse_port = getattr(socket, "SO_REUSEPORT", None)
                if reuse_port is None:
                    raise OSError("reuse_port needs SO_REUSEPORT, which this OS does not have")
                sock.setsockopt(socket.SOL_SOCKET, reuse_port, 1)
            if family == socket.AF_INET6 and host in ("::", "::0"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 too
            wanted = int(self.settings.receive_buffer_mb * 1024 * 1024)
            force = getattr(socket, "SO_RCVBUFFORCE", None)
            try:
                if force is None:
                    raise OSError
                sock.setsockopt(socket.SOL_SOCKET, force, wanted)  # beyond rmem_max when allowed
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
            self.receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            sock.bind((host, self.settings.port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            hint = ""
            if exc.errno == errno.EADDRINUSE:
                hint = (
                    " (another process listens there; to share the port between sensebutler instances "
                    "set reuse_port: true in every one of them)"
                )
            raise StartupError(
                f"{self.name}: cannot listen on udp {host}:{self.settings.port}: {exc}{hint}"
            ) from exc
        self.port = sock.getsockname()[1]
        if self.receive_buffer < wanted // 2:
            log.warning(
                "%s: the OS granted a %.1f MB receive buffer of the %.1f MB asked for; bursts may be dropped "
                "by the kernel (raise net.core.rmem_max)",
                self.name,
                self.receive_buffer / 1024 / 1024,
                self.settings.receive_buffer_mb,
            )
        return sock

    # -- receive -------------------------------------------------------------------------------
    def _readable(self) -> None:
        assert self._loop is not None and self._sock is not None
        self._loop.remove_reader(self._sock.fileno())
        self._pending = self._loop.call_later(READ_DELAY_S, self._read_batch)

    def _read_batch(self) -> None:
        assert self._loop is not None and self._sock is not None
        if self._read(READ_SLICE) == READ_SLICE:
            self._pending = self._loop.call_soon(self._read_batch)  # more waiting: next slice
        else:
            self._pending = None
            self._loop.add_reader(self._sock.fileno(), self._readable)

    def _read(self, limit: int) -> int:
        """Read and handle up to ``limit`` datagrams; return how many were read."""
        assert self._sock is not None
        recvfrom = self._sock.recvfrom
        bufsize = self.settings.max_size + 1  # one byte more reveals an oversized datagram
        stats = self.stats
        dropped = stats.dropped
        allow = self.allow if self.allow.enabled else None
        bucket = self.bucket
        max_size = self.settings.max_size
        handler = self.handler
        # one arrival time per batch: datagrams in it arrived within READ_DELAY_S of each other
        received_ns = time.time_ns()
        started = time.perf_counter_ns()
        count = 0
        while count < limit:
            try:
                data, addr = recvfrom(bufsize)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. ICMP errors surfacing on the socket
                self._refused.log(logging.WARNING, "socket-error", "%s: socket error: %s", self.name, exc)
                break
            count += 1
            stats.received += 1
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
            try:
                handler(data, received_ns)
            except Exception:  # a handler bug must never stop the listener
                stats.failed += 1
                self._refused.log(
                    logging.ERROR, "handler", "%s: failed to handle a datagram", self.name, exc_info=True
                )
        if count:
            stats.processing_ns.append((time.perf_counter_ns() - started) // count)
        return count

    # -- metrics -------------------------------------------------------------------------------
    def queue_bytes(self) -> int:
        """Bytes waiting in the socket's receive buffer (0 where the OS does not tell)."""
        return socket_queue(self._inode) or 0 if self._inode else 0

    def read_kernel_drops(self) -> int | None:
        with contextlib.suppress(OSError):
            self.stats.kernel_drops = kernel_drops(self._inode) if self._inode else None
        return self.stats.kernel_drops
