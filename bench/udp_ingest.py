"""UDP log-event ingest into InfluxDB: loss, latency, memory and CPU per send rate.

For each rate (1k, 5k, 20k, 50k datagrams/s and 0 = as fast as one sender process can) this starts a
fresh ``sensebutler run`` (UDP log events → InfluxDB v1 sink), sends a realistic mix of log events
(50 % QIX performance) for ``--seconds`` from a separate process, waits for the pipeline to drain,
and prints ONE JSON object per rate. The receiver (``--sink``) is

* ``counting`` (the default): ``bench/counting_influx.py``, a minimal InfluxDB write endpoint in its
  own process that counts and checks the lines and costs a few % of a core, so the numbers are
  sensebutler's own capacity;
* ``influxd``: a real influxd on the same machine (the end-to-end picture; influxd needs ~60 µs of
  CPU per point here, see ``bench/influxd_ceiling.py``);
* ``store``: no InfluxDB; the embedded store (``sinks/store``) is the only sink, taking the log
  and QIX performance events through the shared delivery in the service process. ``written`` and
  ``counted`` are then the events in the store file (one entry each), marker latency is read from
  the file's new rows every 20 ms, and there is no receiver CPU. (In the other modes the store is
  on too, with its defaults, as it is in a default install.)

``--workers N`` sets ``udp.log_events.workers`` (receiver processes on one port). Keys:

* ``sent``: datagrams the sender handed to the kernel; ``received``: datagrams sensebutler read;
* ``written``: points the receiver acknowledged (the sink's ``delivered`` counter; the sink takes
  only log and QIX performance events here), cross-checked by ``counted`` (lines the counting
  receiver took, or ``SELECT count`` in influxd) and ``bad_lines`` (lines the counting receiver
  could not parse);
* ``dropped``: by reason, sensebutler's own counters plus ``kernel`` (the socket's drop counter
  in ``/proc/net/udp``) and ``malformed``; ``loss_pct`` = (sent − written) / sent;
* ``p50_ms``/``p99_ms``: datagram-to-written latency, from marker datagrams sent every 100 ms on
  their own host tag: the counting receiver notes when each arrives; in influxd they are polled for
  every 20 ms (so that includes the poll);
* ``rss_mb``: peak resident memory of the largest sensebutler process (each worker is one);
  ``cpu_pct``: the CPU of all of them while sending, in % of one core (``cpu_system_share_pct`` of
  it in the kernel: receiving, sending); ``cpu_us_per_event``: their
  CPU seconds from the first datagram until the last point was written, per point written;
  ``receiver_cpu_pct`` and ``sender_cpu_pct`` the same as ``cpu_pct`` for the receiver and the
  sender, which share the machine with it.

``--ramp 40000,60000,80000`` then runs those rates with ``--ramp-workers`` (2) until one loses
anything, and prints a last row with the highest rate without loss (``highest_zero_loss_rate``).

Run: ``.venv/bin/python bench/udp_ingest.py [--sink counting|influxd] [--workers 1] [--store]
[--rates 1000,5000,20000,50000,0] [--seconds 10] [--ramp 40000,60000,80000,100000 --ramp-workers 2]``.
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
import sqlite3
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
sys.path.insert(0, str(REPO / "bench"))

from tests.fixtures.net import free_tcp_port, free_udp_port  # noqa: E402
from tests.fixtures.servers import InfluxdServer  # noqa: E402

from counting_influx import serve  # noqa: E402
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


def sink_config(kind: str, influx_url: str, db: str, store: bool) -> str:
    """The one sink under test; the embedded store (on by default in the service) only with --store."""
    if kind == "store":
        return "store: {enable: true, events: [log, qix_perf]}\n"
    return f"""influxdb:
  enable: true
  version: 1
  url: {influx_url}
  events: [log, qix_perf]
  v1: {{database: {db}}}
store: {{enable: {str(store).lower()}}}
"""


def config_text(
    state: Path,
    udp_port: int,
    sink: str,
    influx_url: str,
    db: str,
    prom_port: int,
    workers: int,
    store: bool = False,
) -> str:
    workers_line = f"    workers: {workers}\n" if workers != 1 else ""
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
{workers_line}    engine_performance_monitor:
      enable: true
      monitorFilter: {{allApps: {{enable: true}}}}
delivery: {{batch_size: 1000, flush_interval_s: 0.25}}
{sink_config(sink, influx_url, db, store)}prometheus: {{enable: true, events: [udp_queue, event_count]}}
web: {{listeners: {{main: {{host: 127.0.0.1, port: {prom_port}}}}}}}
"""


class Receiver:
    """Where the InfluxDB sink writes: a real influxd, or the counting endpoint in its own process;
    nothing for the store (``url`` empty, ``pid`` 0)."""

    def __init__(self, kind: str, work: Path) -> None:
        self.kind = kind
        self.influxd: InfluxdServer | None = None
        self.counting: mp.Process | None = None
        self.url, self.pid = "", 0
        if kind == "influxd":
            (work / "influxd").mkdir()
            self.influxd = InfluxdServer(work / "influxd")
            self.influxd.start()
            self.url = self.influxd.url
            self.pid = self.influxd.process.pid or 0
        elif kind == "counting":
            port = free_tcp_port()
            ready = mp.Event()
            self.counting = mp.Process(target=serve, args=(port, MARKER_HOST, ready), daemon=True)
            self.counting.start()
            if not ready.wait(30):
                raise RuntimeError("the counting receiver did not start")
            self.url = f"http://127.0.0.1:{port}"
            self.pid = self.counting.pid or 0

    def stop(self) -> None:
        if self.influxd is not None:
            self.influxd.stop()
        if self.counting is not None:
            self.counting.terminate()
            self.counting.join(10)

    def stats(self, db: str) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/stats", params={"db": db}, timeout=10).json())


def scrape(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


def waiting_bytes(port: int) -> int:
    """Bytes still queued in the receive buffers of every socket bound to ``port`` (workers share it)."""
    hex_port = f":{port:04X}"
    total = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[1].endswith(hex_port):
                total += int(cols[4].split(":")[1], 16)
    return total


class Service:
    """The sensebutler processes of one run: the service and its worker processes (``workers``)."""

    def __init__(self, pid: int) -> None:
        self.main = psutil.Process(pid)
        self.peak_rss = 0
        self.seen: dict[int, psutil.Process] = {}
        #: CPU seconds of processes that ended, so totals never go down
        self.finished_cpu = 0.0

    def processes(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            for child in [self.main, *self.main.children(recursive=True)]:
                self.seen.setdefault(child.pid, child)
        return list(self.seen.values())

    def cpu_seconds(self) -> float:
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of all the processes."""
        user = system = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            user += times.user
            system += times.system
        return user, system

    def sample_rss(self) -> None:
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, proc.memory_info().rss)


def cpu_seconds(pid: int) -> float:
    """The CPU seconds of a receiver process; 0 when there is none (the store)."""
    if not pid:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


class StoreMarkers:
    """Marker entries as they appear in the store file: the rows written since the last look."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.last_id = 0

    def poll(self, seen: dict[int, float]) -> None:
        rows = self.db.execute(
            "SELECT id, host, detail FROM entries WHERE id > ? ORDER BY id", (self.last_id,)
        ).fetchall()
        seen_at = time.time()
        for row_id, host, detail in rows:
            self.last_id = row_id
            if host == MARKER_HOST:
                seen.setdefault(int(str(detail).rsplit("-", 1)[-1]), seen_at)

    def events(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM entries WHERE kind IN ('log', 'qix')").fetchone()[0])


def run_rate(
    rate: int, seconds: float, receiver: Receiver, work: Path, workers: int, store: bool
) -> dict[str, object]:
    db = f"bench_{rate}_{int(time.time())}"
    udp_port, prom_port = free_udp_port(), free_tcp_port()
    state = work / f"state-{rate}"
    cfg = work / f"bench-{rate}.yaml"
    cfg.write_text(config_text(state, udp_port, receiver.kind, receiver.url, db, prom_port, workers, store))
    sink = "store" if receiver.kind == "store" else "influxdb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensebutler", "run", "--config", str(cfg)],
        stderr=open(work / f"sensebutler-{rate}.log", "w"),  # noqa: SIM115
    )
    service = Service(proc.pid)
    try:
        deadline = time.monotonic() + 60
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
        if receiver.influxd is not None:
            receiver.influxd.query(db, "SHOW MEASUREMENTS")  # database exists now
        markers = StoreMarkers(state / "store.sqlite") if receiver.kind == "store" else None
        time.sleep(1.0)  # workers (if any) up, start-up CPU spent
        queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        service.sample_rss()
        user_before, system_before = service.cpu_split()
        cpu_before = user_before + system_before
        receiver_before = cpu_seconds(receiver.pid)
        wall_before = time.monotonic()
        send_proc = mp.Process(target=sender, args=(udp_port, rate, seconds, rate + 7, queue))
        send_proc.start()
        marker_sent: dict[int, float] = {}
        marker_seen: dict[int, float] = {}
        stop_polling = threading.Event()

        def poll_markers() -> None:
            client = httpx.Client(base_url=receiver.url, timeout=5)
            while markers is not None and not stop_polling.is_set():
                markers.poll(marker_seen)
                time.sleep(0.02)
            while markers is None and not stop_polling.is_set():
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
        if receiver.kind != "counting":
            poller.start()
        sent = 0
        send_elapsed = seconds
        sender_cpu = 0.0
        while True:
            try:
                item = queue.get(timeout=0.1)
            except Exception:
                service.sample_rss()
                continue
            if item[0] == "marker":
                marker_sent[item[1]] = item[2]
            else:
                sent, send_elapsed, sender_cpu = item[1], item[2], item[3]
                break
            service.sample_rss()
        send_proc.join()
        wall_after = time.monotonic()
        user_after, system_after = service.cpu_split()
        cpu_sending = user_after + system_after - cpu_before
        system_sending = system_after - system_before
        receiver_cpu = cpu_seconds(receiver.pid) - receiver_before
        # drain: wait until the receive buffers are empty and nothing changes in the delivered
        # counter for 2 s (max 90 s); the CPU per event counts up to the last change
        last, stable_since, drain_deadline = -1.0, time.monotonic(), time.monotonic() + 90
        cpu_at_last = service.cpu_seconds()
        while time.monotonic() < drain_deadline:
            service.sample_rss()
            metrics = scrape(prom_port)
            delivered = metrics.get(f'sensebutler_sink_delivered_total{{sink="{sink}"}}', 0.0)
            if delivered != last or waiting_bytes(udp_port):
                if delivered != last:
                    cpu_at_last = service.cpu_seconds()
                last, stable_since = delivered, time.monotonic()
            elif time.monotonic() - stable_since > 2.0:
                break
            time.sleep(0.25)
        time.sleep(1.5)  # one more ingest-metrics report
        stop_polling.set()
        if poller.is_alive():
            poller.join()
        metrics = scrape(prom_port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    written = int(metrics.get(f'sensebutler_sink_delivered_total{{sink="{sink}"}}', 0))
    bad_lines = None
    if markers is not None:
        counted = written = markers.events()  # the sink delivers two records (entry, count) a log event
    elif receiver.influxd is not None:
        counted_rows = receiver.influxd.query(db, "SELECT count(log_row) FROM log_event")
        counted = int(counted_rows[0]["count"]) if counted_rows else 0
    else:
        stats = receiver.stats(db)
        counted, bad_lines = int(stats["lines"]), int(stats["bad"])
        marker_seen = {int(n): at for n, at in stats["markers"].items()}
        if stats["bad_examples"]:
            print(f"bad lines, e.g. {stats['bad_examples'][0]!r}", file=sys.stderr)
    dropped: dict[str, int] = {}
    prefix = 'sensebutler_udp_dropped_total{queue_type="log_events",reason="'
    for key, value in metrics.items():
        if key.startswith(prefix):
            dropped[key[len(prefix) : -2]] = int(value)
    malformed = sum(int(v) for k, v in metrics.items() if k.startswith("sensebutler_udp_malformed_total"))
    if malformed:
        dropped["malformed"] = malformed
    received = int(metrics.get('sensebutler_udp_received_total{queue_type="log_events"}', 0))
    dropped["kernel"] = max(0, sent - received)  # the socket is closed now; what never arrived
    for reason, count in metrics.items():
        if reason.startswith(f'sensebutler_sink_dropped_total{{sink="{sink}"'):
            dropped["sink_" + reason.split('reason="')[1][:-2]] = int(count)
    latencies = sorted((marker_seen[n] - marker_sent[n]) * 1000 for n in marker_sent if n in marker_seen)
    wall = wall_after - wall_before
    return {
        "bench": "udp_ingest",
        "sink": receiver.kind,
        "workers": workers,
        "store": store or receiver.kind == "store",
        "rate": rate,
        "seconds": round(send_elapsed, 2),
        "achieved_rate": round(sent / send_elapsed) if send_elapsed else 0,
        "sent": sent,
        "received": received,
        "written": written,
        "counted": counted,
        "bad_lines": bad_lines,
        "loss_pct": round(100 * (sent - written) / sent, 3) if sent else 0.0,
        "dropped": dropped,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1) if latencies else None,
        "markers_seen": f"{len(latencies)}/{len(marker_sent)}",
        "spooled": int(metrics.get(f'sensebutler_sink_spooled_total{{sink="{sink}"}}', 0)),
        "rss_mb": round(service.peak_rss / 1024 / 1024, 1),
        "cpu_pct": round(100 * cpu_sending / wall, 1),
        "cpu_system_share_pct": round(100 * system_sending / cpu_sending, 1) if cpu_sending else None,
        "cpu_us_per_event": round(1e6 * (cpu_at_last - cpu_before) / written, 2) if written else None,
        "receiver_cpu_pct": round(100 * receiver_cpu / wall, 1),
        "sender_cpu_pct": round(100 * sender_cpu / send_elapsed, 1) if send_elapsed else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sink", choices=("counting", "influxd", "store"), default="counting")
    parser.add_argument("--workers", type=int, default=1, help="udp.log_events.workers")
    parser.add_argument(
        "--store", action="store_true", help="keep the embedded store (store.enable) on; off by default"
    )
    parser.add_argument("--rates", default="1000,5000,20000,50000,0")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--ramp",
        default="",
        help="then, with --ramp-workers, these rates in order until one loses anything (e.g. 40000,60000,80000)",
    )
    parser.add_argument("--ramp-workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-udp-") as tmp:
        work = Path(tmp)
        receiver = Receiver(args.sink, work)
        try:
            for rate in (int(r) for r in args.rates.split(",") if r):
                result = run_rate(rate, args.seconds, receiver, work, args.workers, args.store)
                print(json.dumps(result), flush=True)
            if args.ramp:
                ramp(args, receiver, work)
        finally:
            receiver.stop()


def ramp(args: argparse.Namespace, receiver: Receiver, work: Path) -> None:
    """Rows for rising rates with ``--ramp-workers`` until one loses anything (or the sender cannot
    send at the rate asked), then one summary row; the rate there is the one achieved."""
    highest, stopped = 0, "end of --ramp"
    for rate in (int(r) for r in args.ramp.split(",")):
        result = run_rate(rate, args.seconds, receiver, work, args.ramp_workers, args.store)
        print(json.dumps({**result, "ramp": True}), flush=True)
        if result["loss_pct"] != 0.0:
            stopped = f"loss at {rate}/s"
            break
        highest = int(str(result["achieved_rate"]))
        if highest < 0.95 * rate:
            stopped = f"the sender reached only {highest}/s of {rate}/s"
            break
    print(
        json.dumps(
            {
                "bench": "udp_ingest_ramp",
                "sink": receiver.kind,
                "workers": args.ramp_workers,
                "highest_zero_loss_rate": highest,
                "tried": args.ramp,
                "stopped": stopped,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
