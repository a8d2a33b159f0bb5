"""How many log-event points per second a real influxd on this machine can take at all.

The UDP ingest benchmark runs sensebutler, its sender and influxd on the same machine; this one
measures influxd alone, so its numbers say how much of the machine is left for sensebutler at a
given rate. It renders the same realistic mix as ``bench/udp_ingest.py`` (50 % QIX performance)
with sensebutler's own parser and InfluxDB mapping, then posts pre-rendered batches of
``--batch`` points to a fresh database as fast as influxd answers, from 1 and from 2 concurrent
writers (sensebutler keeps 2 batches in flight), for ``--seconds`` each. Prints one JSON object
per writer count: points/s, influxd's CPU (% of one core), its CPU µs per point, and the share of
the machine's CPU time the hypervisor took away meanwhile (``steal_pct``, from /proc/stat).

Run: ``.venv/bin/python bench/influxd_ceiling.py [--batch 5000] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tests.fixtures.servers import InfluxdServer  # noqa: E402

from sensebutler.events import settle  # noqa: E402
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions  # noqa: E402
from sensebutler.sources.udp.parse_log import parse_log_datagram  # noqa: E402
from udp_ingest import templates  # noqa: E402

ISO, LOCAL = "20261122T101010.123+0100", "2026-11-22 10:10:10,123"


def rendered_points(count: int) -> list[bytes]:
    mapping = InfluxMapping(MappingOptions(version=1))
    pool = templates(7)
    lines: list[bytes] = []
    for i in range(count):
        prefix, rest = pool[i % len(pool)]
        event = parse_log_datagram(f"{prefix};{i % 9999 + 1};{ISO};{LOCAL};{rest}".encode(), 0)
        settle(event, time_ns=event.time_ns + i * 1000)  # distinct timestamps: every point is new
        lines.extend(mapping.encode(event))
    return lines


def cpu_ticks() -> tuple[int, int]:
    """(all ticks, steal ticks) of the machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values[:8]), values[7]


def measure(
    influxd: InfluxdServer, lines: list[bytes], writers: int, batch: int, seconds: float
) -> dict[str, object]:
    db = f"ceiling_{writers}"
    influxd.create_database(db)
    server = psutil.Process(influxd.process.pid or 0)
    written = [0] * writers
    deadline = time.monotonic() + seconds

    def write(index: int) -> None:
        with httpx.Client(base_url=influxd.url, timeout=60, trust_env=False) as client:
            offset = index * batch
            while time.monotonic() < deadline:
                body = b"\n".join(lines[offset : offset + batch])
                offset = (offset + writers * batch) % (len(lines) - batch)
                response = client.post("/write", params={"db": db}, content=body)
                if response.status_code != 204:
                    raise RuntimeError(f"influxd answered {response.status_code}: {response.text}")
                written[index] += batch

    cpu_before, ticks_before, started = server.cpu_times(), cpu_ticks(), time.monotonic()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu_after, ticks_after = server.cpu_times(), cpu_ticks()
    cpu_s = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    total = sum(written)
    all_ticks = ticks_after[0] - ticks_before[0]
    return {
        "bench": "influxd_ceiling",
        "writers": writers,
        "batch": batch,
        "points_per_s": round(total / elapsed),
        "influxd_cpu_pct": round(100 * cpu_s / elapsed, 1),
        "influxd_us_per_point": round(1e6 * cpu_s / total, 1),
        "steal_pct": round(100 * (ticks_after[1] - ticks_before[1]) / all_ticks, 1) if all_ticks else 0.0,
        "cpus": psutil.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    lines = rendered_points(60_000)
    with tempfile.TemporaryDirectory(prefix="bench-influxd-") as tmp:
        influxd = InfluxdServer(Path(tmp))
        influxd.start()
        try:
            for writers in (1, 2):
                print(json.dumps(measure(influxd, lines, writers, args.batch, args.seconds)), flush=True)
        finally:
            influxd.stop()


if __name__ == "__main__":
    main()
