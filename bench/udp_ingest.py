"""UDP log-event ingest into a real influxd: loss, latency, memory and CPU per send rate.

For each rate (1k, 5k, 20k, 50k datagrams/s and 0 = as fast as one sender process can) this starts a
fresh ``sensebutler run`` (UDP log events → InfluxDB v1 sink) and a real influxd, sends a realistic
mix of log events for ``--seconds`` from a separate process, waits for the pipeline to drain, and
prints ONE JSON object per rate:

* ``sent``: datagrams the sender handed to the kernel; ``received``: datagrams sensebutler read;
* ``written``: points InfluxDB acknowledged (the sink's ``delivered`` counter; the sink takes only
  log and QIX performance events here), cross-checked by ``counted`` (``SELECT count`` in InfluxDB);
* ``dropped``: by reason, sensebutler's own counters plus ``kernel`` (the socket's drop counter
  in ``/proc/net/udp``) and ``malformed``; ``loss_pct`` = (sent − written) / sent;
* ``p50_ms``/``p99_ms``: datagram-to-written latency, from marker datagrams sent every 100 ms on
  their own host tag and polled for in InfluxDB every 20 ms (so it includes batching and the poll);
* ``rss_mb``: peak resident memory of the sensebutler process; ``cpu_pct``: its average CPU while
  sending, in % of one core; ``influxd_cpu_pct`` and ``sender_cpu_pct`` the same for influxd and the
  sender, which share the machine with it (``bench/influxd_ceiling.py`` measures influxd alone).

Run: ``.venv/bin/python bench/udp_ingest.py [--rates 1000,5000,20000,50000,0] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.net import free_tcp_port, free_udp_port  # noqa: E402
from tests.fixtures.servers import InfluxdServer  # noqa: E402

from sensebutler.simulator.udp_samples import KINDS  # noqa: E402

MIX = {"qix-perf": 50, "engine": 15, "proxy": 15, "repository": 10, "scheduler": 10}
MARKER_HOST = "bench-marker"
LOCAL = timezone(timedelta(hours=1))


def templates(seed: int) -> list[tuple[str, str]]:
    """(type prefix, everything after the two timestamp fields) for a pool of realistic datagrams."""
    pool: list[tuple[str, str]] = []
    for kind, weight in MIX.items():
        for i in range(weight * 20):
            text = KINDS[kind].datagram(i, seed=seed).decode()
            parts = text.split(";")
            pool.append((parts[0], ";".join(parts[4:])))
    random.Random(seed).shuffle(pool)
    return pool


def sender(port: int, rate: int, seconds: float, seed: int, result: mp.Queue) -> None:  # type: ignore[type-arg]
    pool = templates(seed)
    marker_prefix, marker_rest = next(t for t in pool if t[0] == "/qseow-engine/")
    marker_rest = marker_rest.split(";", 2)  # level;host;rest
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
    target = ("127.0.0.1", port)
    start = time.perf_counter()
    deadline = start + seconds
    sent = markers = 0
    next_marker = start
    stamp_ms = -1
    iso = local = ""
    row = 0
    size = len(pool)
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        due = int((now - start) * rate) + 1 if rate else sent + 256
        burst = min(due - sent, 512)
        if burst <= 0:
            time.sleep(min(0.0005, deadline - now))
            continue
        wall = datetime.now(LOCAL)
        ms = int(wall.timestamp() * 1000)
        if ms != stamp_ms:
            stamp_ms = ms
            iso = wall.strftime("%Y%m%dT%H%M%S.") + f"{wall.microsecond // 1000:03d}+0100"
            local = wall.strftime("%Y-%m-%d %H:%M:%S,") + f"{wall.microsecond // 1000:03d}"
        for _ in range(burst):
            row = row % 9999 + 1
            prefix, rest = pool[sent % size]
            sock.sendto(f"{prefix};{row};{iso};{local};{rest}".encode(), target)
            sent += 1
        if now >= next_marker:
            next_marker += 0.1
            markers += 1
            row = row % 9999 + 1
            text = f"{marker_prefix};{row};{iso};{local};{marker_rest[0]};{MARKER_HOST};{marker_rest[2]}"
            parts = text.split(";")
            parts[8] = f"bench-marker-{markers}"
            sock.sendto(";".join(parts).encode(), target)
            result.put(("marker", markers, time.time()))
            sent += 1
    result.put(("done", sent, time.perf_counter() - start, time.process_time()))


def config_text(state: Path, udp_port: int, influx_url: str, db: str, prom_port: int) -> str:
    return f"""
logging: {{level: warning}}
state: {{dir: {state}}}
self_metrics: {{enable: false}}
udp:
  metrics: {{enable: true, interval_s: 1}}
  log_events:
    enable: true
    host: 127.0.0.1
    port: {udp_port}
    receive_buffer_mb: 32
    engine_performance_monitor:
      enable: true
      monitorFilter: {{allApps: {{enable: true}}}}
delivery: {{batch_size: 5000, flush_interval_s: 0.25}}
influxdb:
  enable: true
  version: 1
  url: {influx_url}
  events: [log, qix_perf]
  v1: {{database: {db}}}
prometheus: {{enable: true, port: {prom_port}, events: [udp_queue, event_count]}}
"""


def scrape(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


def kernel_drops(port: int) -> int:
    hex_port = f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[1].endswith(hex_port):
                return int(cols[-1])
    return 0


def cpu_share(after: Any, before: Any, seconds: float) -> float:
    """Average CPU between two ``cpu_times()`` readings, in % of one core."""
    return 100 * ((after.user + after.system) - (before.user + before.system)) / seconds


def run_rate(rate: int, seconds: float, influxd: InfluxdServer, work: Path) -> dict[str, object]:
    db = f"bench_{rate}_{int(time.time())}"
    udp_port, prom_port = free_udp_port(), free_tcp_port()
    state = work / f"state-{rate}"
    cfg = work / f"bench-{rate}.yaml"
    cfg.write_text(config_text(state, udp_port, influxd.url, db, prom_port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensebutler", "run", "--config", str(cfg)],
        stderr=open(work / f"sensebutler-{rate}.log", "w"),  # noqa: SIM115
    )
    ps = psutil.Process(proc.pid)
    influx_ps = psutil.Process(influxd.process.pid or 0)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scrape(prom_port)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(
                        f"sensebutler did not start; see {work}/sensebutler-{rate}.log"
                    ) from None
                time.sleep(0.2)
        influxd.query(db, "SHOW MEASUREMENTS")  # database exists now
        queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        peak_rss = ps.memory_info().rss
        cpu_before = ps.cpu_times()
        influx_before = influx_ps.cpu_times()
        wall_before = time.monotonic()
        send_proc = mp.Process(target=sender, args=(udp_port, rate, seconds, rate + 7, queue))
        send_proc.start()
        marker_sent: dict[int, float] = {}
        marker_seen: dict[int, float] = {}
        stop_polling = threading.Event()

        def poll_markers() -> None:
            client = httpx.Client(base_url=influxd.url, timeout=5)
            while not stop_polling.is_set():
                resp = client.get(
                    "/query",
                    params={
                        "db": db,
                        "q": f"SELECT message FROM log_event WHERE host='{MARKER_HOST}' AND time > now() - 30s",
                    },
                )
                seen_at = time.time()
                for result in resp.json().get("results", []):
                    for series in result.get("series", []):
                        for _, message in series["values"]:
                            n = int(str(message).rsplit("-", 1)[-1])
                            marker_seen.setdefault(n, seen_at)
                time.sleep(0.02)

        poller = threading.Thread(target=poll_markers, daemon=True)
        poller.start()
        sent = 0
        send_elapsed = seconds
        while True:
            try:
                item = queue.get(timeout=0.1)
            except Exception:
                peak_rss = max(peak_rss, ps.memory_info().rss)
                continue
            if item[0] == "marker":
                marker_sent[item[1]] = item[2]
            else:
                sent, send_elapsed, sender_cpu = item[1], item[2], item[3]
                break
            peak_rss = max(peak_rss, ps.memory_info().rss)
        send_proc.join()
        wall_after = time.monotonic()
        cpu_pct = cpu_share(ps.cpu_times(), cpu_before, wall_after - wall_before)
        influx_cpu_pct = cpu_share(influx_ps.cpu_times(), influx_before, wall_after - wall_before)
        # drain: wait until nothing changes in the delivered counter for 2 s (max 60 s)
        last, stable_since, drain_deadline = -1.0, time.monotonic(), time.monotonic() + 60
        while time.monotonic() < drain_deadline:
            peak_rss = max(peak_rss, ps.memory_info().rss)
            metrics = scrape(prom_port)
            delivered = metrics.get('sensebutler_sink_delivered_total{sink="influxdb"}', 0.0)
            if delivered != last:
                last, stable_since = delivered, time.monotonic()
            elif time.monotonic() - stable_since > 2.0:
                break
            time.sleep(0.25)
        time.sleep(1.5)  # one more ingest-metrics report
        stop_polling.set()
        poller.join()
        metrics = scrape(prom_port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    written = int(metrics.get('sensebutler_sink_delivered_total{sink="influxdb"}', 0))
    counted_rows = influxd.query(db, "SELECT count(log_row) FROM log_event")
    counted = int(counted_rows[0]["count"]) if counted_rows else 0
    dropped: dict[str, int] = {}
    prefix = 'sensebutler_udp_dropped_total{queue_type="log_events",reason="'
    for key, value in metrics.items():
        if key.startswith(prefix):
            dropped[key[len(prefix) : -2]] = int(value)
    malformed = sum(int(v) for k, v in metrics.items() if k.startswith("sensebutler_udp_malformed_total"))
    if malformed:
        dropped["malformed"] = malformed
    dropped["kernel"] = kernel_drops_after = 0
    received = int(metrics.get('sensebutler_udp_received_total{queue_type="log_events"}', 0))
    kernel_drops_after = max(0, sent - received)  # the socket is closed now; what never arrived
    dropped["kernel"] = kernel_drops_after
    for reason, count in metrics.items():
        if reason.startswith('sensebutler_sink_dropped_total{sink="influxdb"'):
            dropped["sink_" + reason.split('reason="')[1][:-2]] = int(count)
    latencies = sorted((marker_seen[n] - marker_sent[n]) * 1000 for n in marker_sent if n in marker_seen)
    return {
        "bench": "udp_ingest",
        "rate": rate,
        "seconds": round(send_elapsed, 2),
        "achieved_rate": round(sent / send_elapsed) if send_elapsed else 0,
        "sent": sent,
        "received": received,
        "written": written,
        "counted": counted,
        "loss_pct": round(100 * (sent - written) / sent, 3) if sent else 0.0,
        "dropped": dropped,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1) if latencies else None,
        "markers_seen": f"{len(latencies)}/{len(marker_sent)}",
        "spooled": int(metrics.get('sensebutler_sink_spooled_total{sink="influxdb"}', 0)),
        "rss_mb": round(peak_rss / 1024 / 1024, 1),
        "cpu_pct": round(cpu_pct, 1),
        "influxd_cpu_pct": round(influx_cpu_pct, 1),
        "sender_cpu_pct": round(100 * sender_cpu / send_elapsed, 1) if send_elapsed else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="1000,5000,20000,50000,0")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-udp-") as tmp:
        work = Path(tmp)
        (work / "influxd").mkdir()
        influxd = InfluxdServer(work / "influxd")
        influxd.start()
        try:
            for rate in (int(r) for r in args.rates.split(",")):
                print(json.dumps(run_rate(rate, args.seconds, influxd, work)), flush=True)
        finally:
            influxd.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
