"""What one log event costs in the service besides parsing and encoding: the in-process ingest path.

Builds the service of ``bench/udp_ingest.py`` (same configuration: UDP log events → InfluxDB v1 sink,
Prometheus for the queue metrics) in this process, with the counting receiver
(``bench/counting_influx.py``) in its own process, and hands the benchmark's mix (50 % QIX
performance) to the log-event listener in slices of ``READ_SLICE`` datagrams, as the receive loop
does after a wake-up: admission → parse → policy → router → InfluxDB encode → delivery → HTTP send.
No socket: the kernel's part of receiving is not in it (``bench/udp_ingest.py`` has everything).

Prints ONE JSON object: ``path_us_per_event`` (CPU of this process per event written, the whole
path including the delivery's HTTP sends), ``parse_encode_us_per_event`` (parse + ``udp_line`` of
the same datagrams alone) and ``rest_us_per_event`` (the difference: what this helper measures).

    .venv/bin/python bench/ingest_path.py [--events 200000] [--rounds 3] [--rate 0]

``--rate 1000`` hands the slices over at that pace, ``GATHER`` datagrams per wake-up as the
listener reads them (at 1,000/s: five slices once a second), which shows what a quiet input costs
per event: the CPU then includes the service's idle wake-ups.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tests.fixtures.net import free_tcp_port, free_udp_port  # noqa: E402

from counting_influx import serve  # noqa: E402
from sensebutler import app  # noqa: E402
from sensebutler.config.loader import parse_config  # noqa: E402
from sensebutler.hotpath import COMPILED, parse_log_datagram  # noqa: E402
from sensebutler.sinks.influxdb.sink import InfluxSink  # noqa: E402
from sensebutler.sources.udp.inputs import LogEventsHandler, UdpInput  # noqa: E402
from sensebutler.sources.udp.listener import GATHER, READ_SLICE  # noqa: E402
from udp_ingest import LOCAL, MARKER_HOST, config_text, templates  # noqa: E402


def datagrams(count: int) -> list[bytes]:
    """``count`` datagrams of the mix, a few rows per millisecond, as the sender makes them."""
    pool = templates(7)
    start = datetime.now(LOCAL)
    out: list[bytes] = []
    for n in range(count):
        wall = start.fromtimestamp(start.timestamp() + n / 20_000, LOCAL)
        iso = wall.strftime("%Y%m%dT%H%M%S.") + f"{wall.microsecond // 1000:03d}+0100"
        local = wall.strftime("%Y-%m-%d %H:%M:%S,") + f"{wall.microsecond // 1000:03d}"
        prefix, rest = pool[n % len(pool)]
        out.append(f"{prefix};{n % 9999 + 1};{iso};{local};{rest}".encode())
    return out


async def run_path(config_yaml: str, data: list[bytes], rounds: int, rate: int = 0) -> list[float]:
    config = parse_config(config_yaml)
    runtime = app.build(config)
    for component in [*runtime.services, *runtime.components]:
        await component.start()
    try:
        udp = next(c for c in runtime.components if isinstance(c, UdpInput))
        assert isinstance(udp.handler, LogEventsHandler)
        sink = next(s for s in runtime.router.sinks if isinstance(s, InfluxSink))
        listener = udp.listener
        batches = [data[i : i + READ_SLICE] for i in range(0, len(data), READ_SLICE)]
        results = []
        for _ in range(rounds):
            before = sink.delivery.stats.delivered
            cpu = time.process_time()
            started = time.monotonic()
            per_wake = GATHER // READ_SLICE  # slices read back to back after one wake-up
            for n, batch in enumerate(batches):
                listener._handle_plain(batch, time.time_ns())  # as read without an allow-list
                # the loop runs between slices, as it does in the service; --rate: a wake-up's
                # GATHER datagrams at that pace
                due = started + (n // per_wake + 1) * GATHER / rate if rate else 0.0
                wait = due - time.monotonic() if rate and (n + 1) % per_wake == 0 else 0.0
                await asyncio.sleep(max(0.0, wait))
            while sink.delivery.stats.delivered - before < len(data):
                await asyncio.sleep(0.001)
            results.append(1e6 * (time.process_time() - cpu) / len(data))
        return results
    finally:
        for component in reversed([*runtime.services, *runtime.components]):
            with contextlib.suppress(Exception):
                await component.stop()


def parse_encode(config_yaml: str, data: list[bytes], rounds: int) -> list[float]:
    """Parse + line of the same datagrams through the same mapping, nothing else."""
    config = parse_config(config_yaml)
    runtime = app.build(config)
    sink = next(s for s in runtime.router.sinks if isinstance(s, InfluxSink))
    udp_line = sink.mapping._renderer.udp_line
    results = []
    for _ in range(rounds):
        cpu = time.process_time()
        now = time.time_ns()
        for d in data:
            udp_line(parse_log_datagram(d, now, ()))  # type: ignore[arg-type]
        results.append(1e6 * (time.process_time() - cpu) / len(data))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rate", type=int, default=0, help="hand batches over at this many events/s (0: back to back)"
    )
    args = parser.parse_args()
    data = datagrams(args.events)
    with tempfile.TemporaryDirectory(prefix="bench-path-") as tmp:
        port = free_tcp_port()
        ready = mp.Event()
        receiver = mp.Process(target=serve, args=(port, MARKER_HOST, ready), daemon=True)
        receiver.start()
        ready.wait(30)
        try:
            yaml = config_text(
                Path(tmp) / "state", free_udp_port(), "counting", f"http://127.0.0.1:{port}", "path",
                free_tcp_port(), 1,
            )  # fmt: skip
            path = asyncio.run(run_path(yaml, data, args.rounds, args.rate))
            alone = parse_encode(yaml, data, args.rounds)
        finally:
            receiver.terminate()
    best_path, best_alone = min(path), min(alone)
    print(
        json.dumps(
            {
                "bench": "ingest_path",
                "compiled": COMPILED,
                "events": args.events,
                "rate": args.rate,
                "path_us_per_event": round(best_path, 2),
                "parse_encode_us_per_event": round(best_alone, 2),
                "rest_us_per_event": round(best_path - best_alone, 2),
                "rounds_path": [round(x, 2) for x in path],
                "rounds_parse_encode": [round(x, 2) for x in alone],
                "load_avg": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
