"""``udp.log_events.workers: N``: N receiver processes on the log-event port, one per core.

One Python process parses and encodes on one core. With ``workers: N`` the service's own log-event
input is worker 0 and N − 1 more processes each bind the same port (``SO_REUSEPORT``); a classic BPF
program picks a socket at random for every datagram (:mod:`.reuseport_spread`), so even one busy
sender is spread evenly. Each worker has its own parser, policy and push sinks (InfluxDB, MQTT, New
Relic with the same settings; its spool in ``<state.dir>/udp-worker-<n>``) and delivers its share
itself.

Every ``REPORT_INTERVAL_S`` a worker sends the service a snapshot of its counters over a pipe; the
service adds them to its own (:class:`IngestStats`, event counts, rejected QIX counts, and the
sinks' delivered/retried/spooled/dropped counters) and adds the workers' receive queues and kernel
drops to its queue metrics, so every report (Prometheus, InfluxDB queue measurements) covers all
workers. The sinks' queued/spool gauges stay the service's own. App names the service polls are sent
to the workers when they change. A worker that stops early is logged; its share of the port goes to
the others (the kernel falls back to its hash while fewer sockets than N are bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from importlib import import_module
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sensebutler.config import Config, secret_values
from sensebutler.logs import setup_logging
from sensebutler.pipeline.delivery import DeliveryStats
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Component, Runtime, StartupError
from sensebutler.sinks.base import Sink
from sensebutler.sources.udp.inputs import LogEventsHandler, RejectedCounts, UdpInput

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 0.5
#: what a worker may take to start (imports, sinks' bootstrap)
START_TIMEOUT_S = 60.0
#: the push sinks that may take log events: config section → module with ``build``
WORKER_SINKS = (
    ("influxdb", "sensebutler.sinks.influxdb.sink"),
    ("mqtt", "sensebutler.sinks.mqtt.sink"),
    ("new_relic", "sensebutler.sinks.newrelic.sink"),
)
#: the kinds a worker publishes
WORKER_KINDS = frozenset({"log", "qix_perf"})


@dataclass
class Snapshot:
    """A worker's counters: totals since it started, except the two report deltas."""

    received: int = 0
    processed: int = 0
    published: int = 0
    failed: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    malformed: dict[str, int] = field(default_factory=dict)
    #: processing time per datagram of the batches since the last snapshot
    processing_ns: list[int] = field(default_factory=list)
    #: since the last snapshot
    event_counts: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    rejected: RejectedCounts = field(default_factory=dict)
    queue_bytes: int = 0
    queue_capacity_bytes: int = 0
    kernel_drops: int = 0
    #: sink name → totals of (received, delivered, retried, spooled) and dropped by reason
    sinks: dict[str, tuple[int, int, int, int, dict[str, int]]] = field(default_factory=dict)


# -- in the worker process -----------------------------------------------------------------------


def worker_sinks(runtime: Runtime) -> list[Sink]:
    """The push sinks that take log or QIX performance events, built as the service builds them."""
    sinks: list[Sink] = []
    for section, module in WORKER_SINKS:
        if not getattr(runtime.config, section).enable:
            continue  # not imported (memory of every worker process)
        for sink in import_module(module).build(runtime):
            if isinstance(sink, Sink) and sink.kinds & WORKER_KINDS:
                sinks.append(sink)
    return sinks


def snapshot(udp_input: UdpInput, sinks: list[Sink]) -> Snapshot:
    handler = udp_input.handler
    assert isinstance(handler, LogEventsHandler)
    stats = handler.stats
    listener = udp_input.listener
    counts, handler.event_counts = handler.event_counts, Counter()
    rejected, handler.rejected = handler.rejected, {}
    timings = list(stats.processing_ns)
    stats.processing_ns.clear()
    sink_totals: dict[str, tuple[int, int, int, int, dict[str, int]]] = {}
    for sink in sinks:
        delivery = sink.stats()
        if delivery is not None:
            sink_totals[sink.name] = (
                delivery.received,
                delivery.delivered,
                delivery.retried,
                delivery.spooled,
                dict(delivery.dropped),
            )
    return Snapshot(
        received=stats.received,
        processed=stats.processed,
        published=stats.published,
        failed=stats.failed,
        dropped=dict(stats.dropped),
        malformed=dict(stats.malformed),
        processing_ns=timings,
        event_counts=dict(counts),
        rejected=rejected,
        queue_bytes=listener.queue_bytes(),
        queue_capacity_bytes=listener.queue_capacity_bytes,
        kernel_drops=listener.read_kernel_drops() or 0,
        sinks=sink_totals,
    )


async def _serve(config: Config, index: int, count: int, conn: Connection) -> None:
    runtime = Runtime(
        config=config, router=Router(), state_dir=Path(config.state.dir) / f"udp-worker-{index}"
    )
    runtime.state_dir.mkdir(parents=True, exist_ok=True)
    sinks = worker_sinks(runtime)
    for sink in sinks:
        runtime.router.add(sink)
    settings = config.udp.log_events
    udp_input = UdpInput(settings, LogEventsHandler(runtime, settings), spread_over=count)
    udp_input.name = f"udp log events worker {index}"
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    started: list[Component] = []
    components: list[Component] = [*sinks, udp_input]
    try:
        for component in components:
            await component.start()
            started.append(component)
        gc.freeze()  # as the service does after its start (cli.py): no full collection rescans it
        conn.send(("ready", index))

        def incoming() -> None:
            try:
                while conn.poll():
                    message = conn.recv()
                    if message[0] == "stop":
                        stop.set()
                    elif message[0] == "app_names":
                        runtime.app_names.replace(message[1])
            except (EOFError, OSError):  # the service is gone
                stop.set()
                loop.remove_reader(conn.fileno())

        loop.add_reader(conn.fileno(), incoming)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REPORT_INTERVAL_S)
            conn.send(("snapshot", snapshot(udp_input, sinks)))
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                log.exception("%s did not stop cleanly", component.name)
        if udp_input in started:
            with contextlib.suppress(OSError):
                conn.send(("snapshot", snapshot(udp_input, sinks)))
                conn.send(("stopped", index))


def run_worker(config: Config, index: int, count: int, conn: Connection) -> None:
    """The worker process: log like the service, ignore Ctrl+C (the service stops it), serve."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging(config.logging, secret_values(config))
    try:
        asyncio.run(_serve(config, index, count, conn))
    except Exception:
        log.exception("udp log events worker %d failed", index)
        sys.exit(1)


# -- in the service ------------------------------------------------------------------------------


class _Worker:
    def __init__(self, index: int, process: BaseProcess, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self.last = Snapshot()
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.failure = ""


class LogEventWorkers:
    """Starts the extra worker processes of the log-event input and merges what they count."""

    def __init__(self, runtime: Runtime, udp_input: UdpInput, count: int) -> None:
        self.name = "udp log events workers"
        self.runtime = runtime
        self.udp_input = udp_input
        self.count = count
        self.workers: list[_Worker] = []
        self._app_name_refreshes = -1
        udp_input.listener.others = self

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if not sys.platform.startswith("linux"):
            raise StartupError("udp.log_events.workers > 1 needs Linux (SO_REUSEPORT with a BPF program)")
        settings = self.runtime.config.udp.log_events
        if settings.port == 0:
            raise StartupError(
                "udp.log_events.workers > 1 needs a fixed port (port: 0 picks one per process)"
            )
        context = multiprocessing.get_context("spawn")
        loop = asyncio.get_running_loop()
        for index in range(1, self.count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=run_worker,
                args=(self.runtime.config, index, self.count, theirs),
                name=f"sensebutler-udp-worker-{index}",
            )
            process.start()
            theirs.close()
            worker = _Worker(index, process, ours)
            self.workers.append(worker)
            loop.add_reader(ours.fileno(), self._receive, worker)
        try:
            await asyncio.wait_for(asyncio.gather(*(self._started(w) for w in self.workers)), START_TIMEOUT_S)
        except (TimeoutError, StartupError) as exc:
            await self.stop()
            raise StartupError(f"{self.name}: {exc or 'did not start in time'}") from exc
        self._send_app_names()
        log.info(
            "%s: %d worker process(es) besides this one share udp port %d",
            self.name,
            self.count - 1,
            settings.port,
        )

    async def _started(self, worker: _Worker) -> None:
        ready = asyncio.ensure_future(worker.ready.wait())
        done = asyncio.ensure_future(worker.done.wait())
        await asyncio.wait({ready, done}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        done.cancel()
        if not worker.ready.is_set():
            raise StartupError(f"worker {worker.index} failed: {worker.failure or 'it exited'}")

    async def stop(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.conn.send(("stop",))
        config = self.runtime.config
        limit = config.udp.log_events.stop_drain_s + config.delivery.shutdown_timeout_s + 10
        for worker in self.workers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.done.wait(), limit)
            await asyncio.to_thread(worker.process.join, 5)
            if worker.process.is_alive():
                log.warning("%s: worker %d did not stop; killing it", self.name, worker.index)
                worker.process.kill()
                await asyncio.to_thread(worker.process.join, 5)
            self._close(worker)
        self.workers = []

    def _close(self, worker: _Worker) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        worker.conn.close()
        worker.done.set()

    # -- what the workers send -----------------------------------------------------------------
    def _receive(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                message: tuple[Any, ...] = worker.conn.recv()
                kind = message[0]
                if kind == "snapshot":
                    self._merge(worker, message[1])
                elif kind == "ready":
                    worker.ready.set()
                elif kind == "failed":
                    worker.failure = message[1]
                elif kind == "stopped":
                    worker.done.set()
        except (EOFError, OSError):
            if not worker.done.is_set():
                if worker.ready.is_set():
                    log.error("%s: worker %d stopped unexpectedly", self.name, worker.index)
                self._close(worker)
        self._send_app_names()

    def _merge(self, worker: _Worker, now: Snapshot) -> None:
        """Add what changed since the worker's previous snapshot to the service's own counters."""
        before, worker.last = worker.last, now
        handler = self.udp_input.handler
        stats = handler.stats
        stats.received += now.received - before.received
        stats.processed += now.processed - before.processed
        stats.published += now.published - before.published
        stats.failed += now.failed - before.failed
        stats.dropped.update(_delta(now.dropped, before.dropped))
        stats.malformed.update(_delta(now.malformed, before.malformed))
        stats.processing_ns.extend(now.processing_ns)
        handler.event_counts.update(now.event_counts)
        if isinstance(handler, LogEventsHandler):
            for key, (count, process_time) in now.rejected.items():
                entry = handler.rejected.setdefault(key, [0, 0.0])
                entry[0] += count
                entry[1] += process_time
        sinks = {sink.name: sink for sink in self.runtime.router.sinks}
        for name, (received, delivered, retried, spooled, dropped) in now.sinks.items():
            sink = sinks.get(name)
            totals: DeliveryStats | None = sink.stats() if sink is not None else None
            if totals is None:
                continue
            old = before.sinks.get(name, (0, 0, 0, 0, {}))
            totals.received += received - old[0]
            totals.delivered += delivered - old[1]
            totals.retried += retried - old[2]
            totals.spooled += spooled - old[3]
            totals.dropped.update(_delta(dropped, old[4]))

    def _send_app_names(self) -> None:
        names = self.runtime.app_names
        if names.refreshes == self._app_name_refreshes:
            return
        self._app_name_refreshes = names.refreshes
        current = names.as_dict()
        for worker in self.workers:
            if not worker.done.is_set():
                with contextlib.suppress(OSError):
                    worker.conn.send(("app_names", current))

    # -- the workers' receive queues, for the listener's queue metrics (OtherQueues) -------------
    def queue_bytes(self) -> int:
        return sum(w.last.queue_bytes for w in self.workers)

    def queue_capacity_bytes(self) -> int:
        return sum(w.last.queue_capacity_bytes for w in self.workers)

    def kernel_drops(self) -> int:
        return sum(w.last.kernel_drops for w in self.workers)


def _delta(now: dict[str, int], before: dict[str, int]) -> Counter[str]:
    return Counter(
        {key: value - before.get(key, 0) for key, value in now.items() if value != before.get(key, 0)}
    )


def build(runtime: Runtime) -> list[Component]:
    """The extra workers of the log-event input when ``udp.log_events.workers`` > 1 (after the inputs)."""
    settings = runtime.config.udp.log_events
    if settings.workers <= 1:
        return []
    for component in runtime.components:
        if isinstance(component, UdpInput) and isinstance(component.handler, LogEventsHandler):
            return [LogEventWorkers(runtime, component, settings.workers)]
    return []
