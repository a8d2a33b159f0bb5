"""Where sensebutler's CPU goes while ingesting UDP log events: cProfile of the service at one rate.

Starts the counting receiver (``bench/counting_influx.py``), ``sensebutler run`` under cProfile with
the same configuration as ``bench/udp_ingest.py``, and the same sender at ``--rate`` for
``--seconds``; then prints the functions with the most own time, and ONE JSON object with the share
of the service's profiled time per area (receive, parse, policy, encode, delivery, event loop).

    .venv/bin/python bench/profile_ingest.py [--rate 20000] [--seconds 10] [--top 25]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tests.fixtures.net import free_tcp_port, free_udp_port  # noqa: E402

from counting_influx import serve  # noqa: E402
from udp_ingest import MARKER_HOST, config_text, scrape, sender  # noqa: E402

#: area → substrings of ``file:function`` that belong to it (first match wins)
AREAS = {
    "parse": ("udp/parse_", "udp/sanitise", "udp/timestamps", "udp/malformed", "events/"),
    "policy": ("udp/inputs", "udp/categorise", "udp/qix_filter", "app_names", "pipeline/router"),
    "encode": ("sinks/influxdb/mapping", "sinks/influxdb/line_protocol", "sinks/base"),
    "receive": ("udp/listener", "udp/receive", "recvfrom"),
    "delivery": ("pipeline/delivery", "sinks/influxdb/destination", "httpx", "httpcore", "h11", "anyio"),
    "prometheus_and_metrics": ("sinks/prometheus", "ingest_metrics", "prometheus_client"),
    "event_loop": ("asyncio", "uvloop", "selectors", "select", "epoll"),
}
# cProfile slows the service several times over, so at high rates it drops most datagrams; the
# shares still say where the time of the datagrams it handled went


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = Path(tmp)
        port = free_tcp_port()
        ready = mp.Event()
        receiver = mp.Process(target=serve, args=(port, MARKER_HOST, ready), daemon=True)
        receiver.start()
        ready.wait(30)
        udp_port, prom_port = free_udp_port(), free_tcp_port()
        cfg = work / "bench.yaml"
        cfg.write_text(
            config_text(
                work / "state", udp_port, "counting", f"http://127.0.0.1:{port}", "prof", prom_port, 1
            )
        )
        out = work / "profile.out"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cProfile",
                "-o",
                str(out),
                "-m",
                "sensebutler",
                "run",
                "--config",
                str(cfg),
            ],
            stderr=open(work / "sensebutler.log", "w"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                scrape(prom_port)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError("sensebutler did not start") from None
                time.sleep(0.2)
        queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        send = mp.Process(target=sender, args=(udp_port, args.rate, args.seconds, 7, queue))
        send.start()
        send.join()
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        receiver.terminate()
        stats = pstats.Stats(str(out), stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(args.top)
        totals = dict.fromkeys([*AREAS, "other"], 0.0)
        by_area: dict[str, list[tuple[float, str]]] = {area: [] for area in totals}
        for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
            own = row[2]
            name = f"{filename}:{function}"
            area = next((a for a, keys in AREAS.items() if any(k in name for k in keys)), "other")
            totals[area] += own
            by_area[area].append((own, name.rpartition("site-packages/")[2].rpartition("src/")[2]))
        for area, rows in by_area.items():
            if area != "other":
                top = ", ".join(f"{name} {own:.2f}s" for own, name in sorted(rows, reverse=True)[:6])
                print(f"{area}: {top}", file=sys.stderr)
        other = totals.pop("other")  # start-up (imports, config) and everything not listed
        whole = sum(totals.values()) or 1.0
        print(
            json.dumps(
                {
                    "bench": "profile_ingest",
                    "rate": args.rate,
                    "seconds": args.seconds,
                    "profiled_s": round(whole, 2),
                    "other_s": round(other, 2),
                    "share_pct": {area: round(100 * t / whole, 1) for area, t in totals.items()},
                }
            )
        )


if __name__ == "__main__":
    main()
