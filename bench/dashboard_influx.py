"""The dashboard's page queries when it reads InfluxDB (the store off), over days of data.

Starts a private influxd 1.x, writes ``--days`` days at about ``--per-day`` points a day through the
InfluxDB sink's own mapping (health of 3 nodes and proxy sessions about 70 %, engine log lines and
QIX requests the rest), then runs every page (``web/dashboard/queries.py``) through
:class:`InfluxReader` for each range of the picker and reports p50/p99 per page, the same shape as
``bench/store.py`` for an A/B against the embedded store. Prints one JSON object:
``{"bench": "dashboard_influx", "points": ..., "write_points_per_s": ..., "pages": {"site":
{"p50_ms": ..., "p99_ms": ..., "max_ms": ...}, ...}}``

    .venv/bin/python bench/dashboard_influx.py [--days 7] [--per-day 500000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tests.fixtures.servers import InfluxdServer  # noqa: E402
from tests.sinks.influxdb.events import engine_log_event, qix_perf_event  # noqa: E402
from tests.sinks.output_events import health, server, sessions  # noqa: E402

from page_times import page_times  # noqa: E402
from sensebutler.config import Config  # noqa: E402
from sensebutler.events import Event  # noqa: E402
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions  # noqa: E402
from sensebutler.sinks.store.storage import HOUR_NS, NS  # noqa: E402
from sensebutler.web.dashboard.influx_query import InfluxQuery  # noqa: E402
from sensebutler.web.dashboard.influx_reader import InfluxReader  # noqa: E402

NODES = tuple(server(name, name) for name in ("central", "rim-1", "rim-2"))
DATABASE = "bench"
BATCH = 5000
#: lines one health poll and one session poll of a node give (sense_server ... saturated; 3 session)
LINES_PER_POLL = 8 + 4


def hour_of_events(start: int, per_hour: int, rng: random.Random) -> Iterator[Event]:
    step = max(1, 3600 * len(NODES) * LINES_PER_POLL // int(per_hour * 0.7))
    for second in range(0, 3600, step):
        t = start + second * NS
        for ref in NODES:
            yield health(ref, time_ns=t, mem_allocated=rng.random() * 1000, cpu_total=rng.randrange(100))
            yield dataclasses.replace(sessions(ref, "/", count=2), time_ns=t)
    for i in range(int(per_hour * 0.3)):
        t = start + rng.randrange(3600 * NS)
        host = rng.choice(NODES).name
        if i % 3:
            yield engine_log_event(
                time_ns=t, host=host, level=rng.choice(("WARN", "ERROR")), message=f"message {i}"
            )
        else:
            yield qix_perf_event(
                time_ns=t, host=host, object_type=f"table{i % 40}", process_time=rng.random() * 5000
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    mapping = InfluxMapping(MappingOptions(version=1))
    now = time.time_ns()
    start = (now // HOUR_NS - args.days * 24) * HOUR_NS
    with tempfile.TemporaryDirectory() as folder:
        influxd = InfluxdServer(Path(folder))
        influxd.start()
        try:
            influxd.create_database(DATABASE)
            written, busy = 0, 0.0
            with httpx.Client(base_url=influxd.url, timeout=120, trust_env=False) as client:
                for hour in range(args.days * 24):
                    lines = [
                        line
                        for event in hour_of_events(start + hour * HOUR_NS, args.per_day // 24, rng)
                        for line in mapping.encode(event)
                    ]
                    began = time.perf_counter()
                    for i in range(0, len(lines), BATCH):
                        answer = client.post(
                            "/write", params={"db": DATABASE}, content=b"\n".join(lines[i : i + BATCH])
                        )
                        answer.raise_for_status()
                    busy += time.perf_counter() - began
                    written += len(lines)
            v1 = {"database": DATABASE, "retention_policy": {"name": ""}}  # the database's default
            influx = {"enable": True, "url": influxd.url, "timeout_s": 120, "v1": v1}
            query = InfluxQuery(Config.model_validate({"influxdb": influx}).influxdb)
            reader = InfluxReader(query, 1)
            until = time.time_ns()
            pages = page_times(reader, until, args.repeat)
            query.close()
        finally:
            influxd.stop()
    print(
        json.dumps(
            {
                "bench": "dashboard_influx",
                "days": args.days,
                "points": written,
                "write_points_per_s": round(written / busy),
                "pages": pages,
            }
        )
    )


if __name__ == "__main__":
    main()
