"""The two UDP receive paths (event loop, reader thread) side by side, and a stop under a flood.

For each path this starts the log-events input in this process (parse and policy included; the
router has no sinks, so nothing is written anywhere), sends log events from a separate process at
each rate for ``--seconds``, and measures what was read and what it cost. Then it floods the input
as fast as one sender process can and stops it, timing ``stop()``. Prints ONE JSON object:

* ``paths.<path>.<rate>``: ``sent``, ``received`` (read by sensebutler), ``kernel_drops``,
  ``queue_full`` (dropped by the thread's hand-off), ``cpu_us_per_datagram`` (this process's CPU,
  both threads, per datagram read);
* ``stop.<path>``: ``stop_s`` (how long ``stop()`` took while the flood went on), ``handled`` and
  ``dropped_shutdown`` (read during the stop: handled, or discarded and counted), ``stop_drain_s``.

Run: ``.venv/bin/python bench/udp_receive_paths.py [--rates 5000,20000] [--seconds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sensebutler.config import parse_config  # noqa: E402
from sensebutler.pipeline.router import Router  # noqa: E402
from sensebutler.runtime import Runtime  # noqa: E402
from sensebutler.sources.udp.inputs import UdpInput, build  # noqa: E402

ENGINE = (
    "/qseow-engine/;1433;20240115T094512.123+0100;2024-01-15 09:45:12,123;WARN;QS-PROD-01;System.Engine.Engine;"
    "ACME\\svc-qlik;Document load failed: access denied;a0b1c2d3-1111-2222-3333-444455556666;ACME;jdoe;"
    "2024-01-15T09:45:12.120+01:00;5e1f1f1f-aaaa-bbbb-cccc-ddddeeeeffff;14.173.8;2024-01-10T03:00:01.000+01:00;"
    "Warning;0f0e0d0c-1234-4abc-9def-001122334455;7d5f6e2a-1111-2222-3333-444444444444"
)


def sender(port: int, rate: int, seconds: float, sent: mp.Value) -> None:  # type: ignore[valid-type]
    """``rate`` datagrams/s (0 = as fast as possible) in 10 ms steps."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data, target = ENGINE.encode(), ("127.0.0.1", port)
    count = 0
    start = time.monotonic()
    end = start + seconds
    while (now := time.monotonic()) < end:
        due = int((now - start) * rate) if rate else count + 1000
        while count < due:
            with contextlib.suppress(OSError):  # the port closed under the stop test
                sock.sendto(data, target)
            count += 1
        if rate:
            time.sleep(0.01)
    sent.value = count  # type: ignore[attr-defined]


async def start_input(path: str, work: Path) -> UdpInput:
    config = parse_config(
        f"""
state: {{dir: {work}}}
udp:
  log_events: {{enable: true, host: 127.0.0.1, port: 0, receive: {path}, receive_buffer_mb: 16}}
  user_events: {{enable: false}}
  task_events: {{enable: false}}
""",
        "bench",
        {},
    )
    runtime = Runtime(config=config, router=Router(), state_dir=work)
    (log_input,) = build(runtime)
    await log_input.start()
    return log_input


async def measure_rate(path: str, rate: int, seconds: float, work: Path) -> dict[str, object]:
    udp_input = await start_input(path, work)
    stats = udp_input.stats
    sent = mp.Value("q", 0)
    proc = mp.Process(target=sender, args=(udp_input.listener.port, rate, seconds, sent))
    cpu_before = time.process_time()
    proc.start()
    while proc.is_alive():
        await asyncio.sleep(0.1)
    proc.join()
    deadline = time.monotonic() + 30
    kernel = 0
    while time.monotonic() < deadline:  # until everything sent is read or dropped by the kernel
        kernel = udp_input.listener.read_kernel_drops() or 0
        if stats.received + kernel >= sent.value:
            break
        await asyncio.sleep(0.05)
    cpu = time.process_time() - cpu_before
    await udp_input.stop()
    return {
        "sent": sent.value,
        "received": stats.received,
        "kernel_drops": kernel,
        "queue_full": stats.dropped["queue_full"],
        "cpu_us_per_datagram": round(cpu / max(stats.received, 1) * 1e6, 1),
    }


async def measure_stop(path: str, work: Path) -> dict[str, object]:
    udp_input = await start_input(path, work)
    stats = udp_input.stats
    proc = mp.Process(target=sender, args=(udp_input.listener.port, 0, 60, mp.Value("q", 0)))
    proc.start()
    try:
        while udp_input.listener.queue_bytes() < 4 * 1024 * 1024:  # the flood outruns the input
            await asyncio.sleep(0.05)
        before = stats.received
        processed_before = stats.processed
        started = time.monotonic()
        await udp_input.stop()
        stop_s = time.monotonic() - started
    finally:
        proc.kill()
        proc.join()
    return {
        "stop_s": round(stop_s, 3),
        "read_during_stop": stats.received - before,
        "handled": stats.processed - processed_before,
        "dropped_shutdown": stats.dropped["shutdown"],
        "stop_drain_s": udp_input.listener.settings.stop_drain_s,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="5000,20000")
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    result: dict[str, dict[str, object]] = {"paths": {}, "stop": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for path in ("loop", "thread"):
            result["paths"][path] = {
                str(rate): await measure_rate(path, rate, args.seconds, Path(tmp)) for rate in rates
            }
            result["stop"][path] = await measure_stop(path, Path(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
