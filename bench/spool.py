"""Event-loop lag while records are handed to the disk spool: on the loop (before) or its writer thread (now).

Delivery hands records to the spool while a destination is down: a full batch (5,000) at a time,
or the batch and the whole memory queue behind it (25,000) when a send fails. Before, the SQLite
transaction ran on the event loop; now it runs on the spool's writer thread and the loop only
hands the records over. A probe task sleeps 10 ms in a loop and records how late it wakes up.
Prints one JSON object:
``{"bench": "spool", "records": 5000, "idle": {...}, "before": {"p99_lag_ms": ..., "max_lag_ms": ...,
"handoff_ms": ...}, "after": {...}}`` per hand-off size (``idle``: the same probe without hand-offs,
the machine's own noise; ``handoff_ms``: how long one hand-off holds the loop, median).

    .venv/bin/python bench/spool.py [--handoffs 20] [--record-bytes 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sensebutler.pipeline.spool import Spool

TICK_S = 0.01


def inline_append(path: Path) -> Callable[[list[bytes]], None]:
    """The previous spool write, run where it is called (on the loop)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE spool (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)")

    def append(records: list[bytes]) -> None:
        db.execute("BEGIN")
        db.executemany("INSERT INTO spool (data) VALUES (?)", ((r,) for r in records))
        db.execute("COMMIT")

    return append


async def measure(
    handoff: Callable[[list[bytes]], object], records: list[bytes], handoffs: int
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    durations: list[float] = []
    done = False

    async def probe() -> None:
        while not done:
            before = loop.time()
            await asyncio.sleep(TICK_S)
            lags.append(loop.time() - before - TICK_S)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.05)
    for _ in range(handoffs):
        started = time.perf_counter()
        result = handoff(records)
        durations.append(time.perf_counter() - started)  # how long the loop was held
        if isinstance(result, asyncio.Future):
            await result  # paced like delivery: one hand-off written before the next
        await asyncio.sleep(0.1)
    done = True
    await task
    lags.sort()
    return {
        "p99_lag_ms": round(lags[int(len(lags) * 0.99)] * 1000, 2),
        "max_lag_ms": round(lags[-1] * 1000, 2),
        "handoff_ms": round(statistics.median(durations) * 1000, 3),
    }


async def run(size: int, handoffs: int, record_bytes: int) -> dict[str, object]:
    records = [f"m,host=h{i % 50} value={i}i ".encode().ljust(record_bytes, b"x") for i in range(size)]
    with tempfile.TemporaryDirectory() as tmp:
        idle = await measure(lambda r: None, records, handoffs)  # the machine's own noise
        before = await measure(inline_append(Path(tmp) / "before.sqlite"), records, handoffs)
        spool = Spool(Path(tmp) / "after.sqlite", 1 << 40)
        await asyncio.wrap_future(spool.opened)
        after = await measure(lambda r: asyncio.wrap_future(spool.append(r)), records, handoffs)
        await asyncio.wrap_future(spool.close())
    return {
        "bench": "spool",
        "records": size,
        "record_bytes": record_bytes,
        "idle": idle,
        "before": before,
        "after": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=20)
    parser.add_argument("--record-bytes", type=int, default=500)
    args = parser.parse_args()
    for size in (5000, 25_000):
        print(json.dumps(asyncio.run(run(size, args.handoffs, args.record_bytes))))


if __name__ == "__main__":
    main()
