"""The embedded store: insert rate and the dashboard's page queries over 7 days of data.

Writes ``--days`` days at ``--per-day`` points a day (about 70 % samples of the series the Site,
Users, Logs and Pipeline pages chart, 30 % log lines and QIX requests as entries) through
:meth:`Storage.write` in batches of 5,000, with retention and the size bound applied every simulated
hour, on a clock that moves with the data. Then runs every page's queries (``web/dashboard/queries.py``)
for each time range of the picker and reports the p99 per page (target: < 200 ms), in wall time and
in the CPU time of the querying thread (what the wall time would be on an idle machine; the
difference is other processes' share of the cores: ``load_avg``). Pages that take a search run
with one that matches often (``message 1``: the newest matches come soon) and, as ``<page>_miss``,
one that matches nothing (the search reads every entry of the range).
Prints one JSON object:
``{"bench": "store", "points": ..., "insert_points_per_s": ..., "file_mb": ..., "pages": {"site":
{"p50_ms": ..., "p99_ms": ..., "max_ms": ..., "p99_cpu_ms": ...}, ...}, "load_avg": [...]}``

    .venv/bin/python bench/store.py [--days 7] [--per-day 500000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from page_times import page_times
from sensebutler.sinks.store.records import entry, sample
from sensebutler.sinks.store.storage import HOUR_NS, NS, Storage

NODES = ("central", "rim-1", "rim-2")
HEALTH = (
    ("mem", "allocated"),
    ("mem", "free"),
    ("cpu", "total"),
    ("session", "active"),
    ("users", "active"),
    ("cache", "hits"),
    ("cache", "lookups"),
    ("apps", "active_docs_count"),
    ("apps", "loaded_docs_count"),
    ("apps", "in_memory_docs_count"),
    ("saturated", "saturated"),
)


class Clock:
    now = 0

    def __call__(self) -> int:
        return self.now


def hour_of_records(start: int, per_hour: int, rng: random.Random) -> list[bytes]:
    """Samples every ``step`` seconds for each node and health field, plus entries."""
    records: list[bytes] = []
    samples_wanted = int(per_hour * 0.7)
    per_sample = len(NODES) * (len(HEALTH) + 2)
    step = max(1, 3600 * per_sample // samples_wanted)
    for second in range(0, 3600, step):
        t = start + second * NS
        for node in NODES:
            tags = {"server_name": node, "host": node}
            for measurement, field in HEALTH:
                records.append(sample(measurement, field, tags, t, rng.random() * 1000))
            records.append(
                sample(
                    "user_session_summary",
                    "session_count",
                    {"server_name": node, "user_session_virtual_proxy": "/"},
                    t,
                    30.0,
                )
            )
            records.append(
                sample(
                    "log",
                    "count",
                    {"host": node, "level": rng.choice(("WARN", "ERROR")), "source": "engine"},
                    t,
                    1.0,
                )
            )
    entries_wanted = per_hour - len(records)
    for i in range(max(0, entries_wanted)):
        t = start + rng.randrange(3600 * NS)
        if i % 3:
            records.append(
                entry("log", t, host=rng.choice(NODES), level="WARN", source="engine", detail=f"message {i}")
            )
        else:
            records.append(
                entry(
                    "qix",
                    t,
                    host=rng.choice(NODES),
                    name=f"table{i % 40} / GetLayout",
                    value=rng.random() * 5000,
                )
            )
    records.sort(key=lambda r: r)  # deterministic order; time order is not needed
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(7)
    clock = Clock()
    start = (time.time_ns() // HOUR_NS - args.days * 24) * HOUR_NS
    with tempfile.TemporaryDirectory() as folder:
        storage = Storage(Path(folder) / "store.sqlite", clock=clock)
        storage.open()
        written = 0
        busy = 0.0
        for hour in range(args.days * 24):
            at = start + hour * HOUR_NS
            records = hour_of_records(at, args.per_day // 24, rng)
            clock.now = at
            began = time.perf_counter()
            for i in range(0, len(records), 5000):
                storage.write(records[i : i + 5000])
            clock.now = at + HOUR_NS
            storage.maintain()
            busy += time.perf_counter() - began
            written += len(records)
        now = clock.now
        pages = page_times(storage, now, args.repeat)
        result = {
            "bench": "store",
            "points": written,
            "insert_points_per_s": round(written / busy),
            "file_mb": round(storage.size_bytes() / 1024 / 1024, 1),
            "rows": storage.counts(),
            "pages": pages,
            "load_avg": [round(load, 2) for load in os.getloadavg()],
        }
        storage.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
