"""A UDP input: socket, admission checks, bounded queue, and the drain that hands datagrams on.

Per datagram, in order (cheapest first): source allow-list → size → token-bucket rate limit →
bounded queue. Each refusal is counted by reason. The queue is drained in slices on the event loop
(``call_soon``), so socket reads and processing interleave without a task switch per datagram.

Every datagram that reaches the socket ends up in exactly one place:
``received = processed + dropped + malformed + queued`` (see :class:`IngestStats`), and datagrams
the kernel dropped before we could read them are read from the OS (``kernel_drops``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sensebutler.config.udp import Listener
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.rate_limit import TokenBucket
from sensebutler.runtime import StartupError
from sensebutler.sources.udp.allow_list import AllowList
from sensebutler.sources.udp.kernel_drops import kernel_drops, socket_inode

log = logging.getLogger(__name__)

#: datagrams handled per drain slice before yielding to the loop (keeps socket reads flowing)
DRAIN_SLICE = 512
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
    queued: int = 0
    queue_peak: int = 0
    kernel_drops: int | None = None
    processing_ns: deque[int] = field(default_factory=lambda: deque(maxlen=1000))


class UdpListener(asyncio.DatagramProtocol):
    def __init__(
        self, name: str, settings: Listener, handler: Handler, stats: IngestStats | None = None
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
        self._queue: deque[tuple[bytes, int]] = deque()
        self._draining = False
        self._transport: asyncio.DatagramTransport | None = None
        self._inode = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refused = RateLimitedLog(log, 60.0)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        sock = self._bind()
        self._inode = socket_inode(sock)
        await self.allow.start()
        transport, _ = await self._loop.create_datagram_endpoint(lambda: self, sock=sock)
        self._transport = transport
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
        if self._transport is not None:
            self._transport.close()
        self._drain(limit=None)  # everything already accepted is handled, not lost

    def _bind(self) -> socket.socket:
        host = self.settings.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
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
            raise StartupError(
                f"{self.name}: cannot listen on udp {host}:{self.settings.port}: {exc}"
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
    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        stats = self.stats
        stats.received += 1
        if self.allow.enabled and str(addr[0]) not in self.allow:
            stats.dropped["source_not_allowed"] += 1
            self._refused.log(
                logging.WARNING,
                str(addr[0]),
                "%s: datagram from %s refused (not an allowed source)",
                self.name,
                addr[0],
            )
            return
        if len(data) > self.settings.max_size:
            stats.dropped["too_large"] += 1
            return
        if self.bucket is not None and not self.bucket.take():
            stats.dropped["rate_limited"] += 1
            return
        queue = self._queue
        if len(queue) >= self.settings.queue_size:
            stats.dropped["queue_full"] += 1
            return
        queue.append((data, time.time_ns()))
        if not self._draining:
            self._draining = True
            assert self._loop is not None
            self._loop.call_soon(self._drain_slice)

    def error_received(self, exc: Exception) -> None:
        self._refused.log(logging.WARNING, "socket-error", "%s: socket error: %s", self.name, exc)

    def _drain_slice(self) -> None:
        self._drain(DRAIN_SLICE)
        if self._queue:
            assert self._loop is not None
            self._loop.call_soon(self._drain_slice)
        else:
            self._draining = False

    def _drain(self, limit: int | None) -> None:
        queue = self._queue
        stats = self.stats
        if len(queue) > stats.queue_peak:
            stats.queue_peak = len(queue)
        count = len(queue) if limit is None else min(limit, len(queue))
        if not count:
            return
        handler = self.handler
        started = time.perf_counter_ns()
        for _ in range(count):
            data, received_ns = queue.popleft()
            try:
                handler(data, received_ns)
            except Exception:  # a handler bug must never stop the listener
                stats.failed += 1
                self._refused.log(
                    logging.ERROR, "handler", "%s: failed to handle a datagram", self.name, exc_info=True
                )
        stats.processing_ns.append((time.perf_counter_ns() - started) // count)
        stats.queued = len(queue)

    # -- metrics -------------------------------------------------------------------------------
    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def read_kernel_drops(self) -> int | None:
        with contextlib.suppress(OSError):
            self.stats.kernel_drops = kernel_drops(self._inode) if self._inode else None
        return self.stats.kernel_drops
