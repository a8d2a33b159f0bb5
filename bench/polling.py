"""Benchmark: N simulated engines polled every 5 s into a real influxd.

For each N the simulator runs in its own process (``python -m sensebutler.simulator
--extra-engines N``) and so does influxd (started like the test fixtures start it); only this
process — pollers, the InfluxDB sink and its delivery pipeline, on uvloop as ``sensebutler run``
uses — is measured:

* ``cpu_pct``: CPU time (user + system) of this process over the measured window, as a percentage
  of one core. The first ``--warmup`` seconds are not measured: they hold the one-off TLS handshake
  with every server (connections are then reused, see ``sensebutler.qlik.http``).
* ``p99_ms`` / ``p50_ms`` / ``max_ms``: poll-to-written latency, from the moment the healthcheck
  request of a poll started (the sample's ``time_ns`` minus its ``poll_ms``) to the moment influxd
  accepted the write holding that sample's ``sense_server`` point (the destination's ``send``
  returned, i.e. influxd answered 204). Instrumented by wrapping the sink destination's ``send``;
  the wrapper and a small probe sink recording poll starts are the only bench code in the loop.
  Unless batches fill up, a point waits up to ``delivery.flush_interval_s`` for batch-mates, so that
  setting (``--flush-interval``) bounds the latency from below; ``poll_p99_ms`` is the HTTP poll alone.
* ``failed_polls``: polls that published ``PollFailed`` during the window.

Each target's phase is spread over the whole interval (``jitter_s`` = interval), as an operator
monitoring hundreds of servers would configure it.

    .venv/bin/python bench/polling.py [--servers 10 100 500] [--duration 30] [--interval 5]

Prints one JSON object per N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.events.polled import HealthSample, PollFailed
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.sinks.base import Sink
from sensebutler.sinks.influxdb import sink as influxdb
from sensebutler.sources import polling

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.servers import InfluxdServer  # noqa: E402 - the test harness's influxd runner


class PollProbe(Sink):
    """Remembers when each sample's poll started and counts failed polls."""

    name = "bench-probe"
    kinds = frozenset({"health", "poll_failed"})

    def __init__(self) -> None:
        self.poll_start_ns: dict[tuple[str, int], int] = {}
        self.poll_ms: list[float] = []
        self.failed = 0

    def submit(self, event: Event) -> None:
        if isinstance(event, HealthSample):
            self.poll_start_ns[(event.server.name, event.time_ns)] = event.time_ns - int(event.poll_ms * 1e6)
            self.poll_ms.append(event.poll_ms)
        elif isinstance(event, PollFailed):
            self.failed += 1


def _sense_server_key(line: bytes) -> tuple[str, int] | None:
    """``(server_name, time_ns)`` of a ``sense_server`` line, else None."""
    if not line.startswith(b"sense_server,"):
        return None
    head, _, stamp = line.rpartition(b" ")
    start = head.find(b"server_name=")
    if start < 0:
        return None
    start += len(b"server_name=")
    end = start
    while end < len(head) and head[end : end + 1] not in (b",", b" "):
        end += 1
    return head[start:end].decode(), int(stamp)


class AcceptedTimes:
    """Wraps a destination's ``send``: when influxd accepts a batch, records each sample's latency."""

    def __init__(self, probe: PollProbe, send: Callable[[list[bytes]], Awaitable[None]]) -> None:
        self.probe = probe
        self.send = send
        self.latencies_ms: list[float] = []
        self.unmatched = 0
        self.measuring = False

    async def __call__(self, batch: list[bytes]) -> None:
        await self.send(batch)
        accepted = time.time_ns()
        for line in batch:
            key = _sense_server_key(line)
            if key is None:
                continue
            started = self.probe.poll_start_ns.pop(key, None)
            if started is None:
                self.unmatched += 1
            elif self.measuring:
                self.latencies_ms.append((accepted - started) / 1e6)


def start_simulator(state_dir: Path, engines: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    argv = [
        sys.executable,
        "-m",
        "sensebutler.simulator",
        "--state-dir",
        str(state_dir),
        "--host",
        "127.0.0.1",
    ]
    for port in ("qrs", "proxy", "engine", "about"):
        argv += [f"--{port}-port", "0"]
    # lenient certificates: the config below reaches every engine at "localhost" with host-name checks
    argv += ["--extra-engines", str(engines), "--log-level", "warning", "--lenient-certificates"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise RuntimeError(f"the simulator exited with code {proc.returncode} before it was ready")
    return proc, json.loads(line)


def stop_process(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def bench_config(
    info: dict[str, Any], engines: int, influx_url: str, database: str, interval: float, flush_s: float | None
) -> Config:
    certificates = info["certificates"]
    servers = [
        {"name": node["name"], "host": "localhost", "engine_port": node["engine_port"], "sessions": False}
        for node in info["extra_engines"][:engines]
    ]
    return Config.model_validate(
        {
            "qlik": {
                "certificates": {
                    "client_cert": certificates["client"],
                    "client_key": certificates["client_key"],
                    "ca": certificates["root"],
                },
                "servers": servers,
            },
            "polling": {
                "health": {"enable": True, "interval_s": interval, "timeout_s": 5, "jitter_s": interval}
            },
            "influxdb": {"enable": True, "version": 1, "url": influx_url, "v1": {"database": database}},
            "delivery": {"flush_interval_s": flush_s} if flush_s is not None else {},
            "self_metrics": {"enable": False},
        }
    )


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(config: Config, state_dir: Path, warmup: float, duration: float) -> dict[str, Any]:
    router = Router()
    runtime = Runtime(config=config, router=router, state_dir=state_dir)
    sinks = influxdb.build(runtime)
    probe = PollProbe()
    for sink in [*sinks, probe]:
        router.add(sink)
    influx_sink = sinks[0]
    destination = influx_sink.destination  # type: ignore[attr-defined]
    accepted = AcceptedTimes(probe, destination.send)
    destination.send = accepted
    components = polling.build(runtime)
    for sink in sinks:
        await sink.start()
    for component in components:
        await component.start()
    process = psutil.Process()
    try:
        await asyncio.sleep(warmup)
        failed_before = probe.failed
        probe.poll_ms.clear()
        accepted.measuring = True
        cpu_before = process.cpu_times()
        wall_before = time.perf_counter()
        await asyncio.sleep(duration)
        cpu_after = process.cpu_times()
        wall = time.perf_counter() - wall_before
        accepted.measuring = False
        failed = probe.failed - failed_before
    finally:
        for component in reversed(components):
            await component.stop()
        for sink in sinks:
            await sink.stop()
        for service in runtime.services:  # the Qlik client
            await service.stop()
    used = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    stats = influx_sink.stats()
    latencies = accepted.latencies_ms
    return {
        "cpu_pct": round(100.0 * used / wall, 2),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "max_ms": round(max(latencies, default=float("nan")), 1),
        "failed_polls": failed,
        "poll_p99_ms": round(percentile(probe.poll_ms, 0.99), 1),
        "samples_written": len(latencies),
        "points_delivered": stats.delivered if stats else None,
        "points_dropped": dict(stats.dropped) if stats else None,
    }


def run_one(engines: int, influxd: InfluxdServer, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sim_dir = work / "simulator"
    proc, info = start_simulator(sim_dir, engines)
    try:
        database = f"bench_polling_{engines}"
        config = bench_config(info, engines, influxd.url, database, args.interval, args.flush_interval)
        result = run_loop(measure(config, work / f"state-{engines}", args.warmup, args.duration))
    finally:
        stop_process(proc)
    return {
        "bench": "polling",
        "servers": engines,
        "interval_s": args.interval,
        **result,
        "duration_s": args.duration,
        "flush_interval_s": config.delivery.flush_interval_s,
        "loop": LOOP_NAME,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


try:
    import uvloop

    LOOP_NAME = "uvloop"

    def run_loop(coroutine: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        return uvloop.run(coroutine)  # type: ignore[arg-type,no-any-return]

except ImportError:  # pragma: no cover - Windows
    LOOP_NAME = "asyncio"

    def run_loop(coroutine: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        return asyncio.run(coroutine)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=7.0)
    parser.add_argument(
        "--flush-interval",
        type=float,
        default=None,
        help="delivery.flush_interval_s (default: the project's)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-polling-") as temp:
        work = Path(temp)
        (work / "influxd").mkdir()
        influxd = InfluxdServer(work / "influxd")
        influxd.start()
        try:
            for engines in args.servers:
                print(json.dumps(run_one(engines, influxd, args, work)), flush=True)
        finally:
            with contextlib.suppress(Exception):
                influxd.stop()


if __name__ == "__main__":
    main()
