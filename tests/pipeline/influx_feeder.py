"""A process that feeds numbered points through the real Delivery and InfluxDB destination.

Run by the kill -9 test as ``python -m tests.pipeline.influx_feeder``:

* ``feed``: accepts ``--rate`` points a second, numbered from 0, until it is killed; after each
  hand-over it appends ``<last id> <time.monotonic() after enqueue returned>`` to ``--accepted``
  (flushed, so the lines survive a SIGKILL of this process);
* ``drain``: starts with the same state directory, delivers what the spool holds and exits 0 once
  nothing waits any more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from sensebutler.config.delivery import DeliveryConfig
from sensebutler.pipeline.delivery import Delivery
from sensebutler.sinks.influxdb.config import InfluxDbSection
from sensebutler.sinks.influxdb.destination import InfluxDestination
from tests.fixtures.net import async_wait_until

MEASUREMENT = "kill9"
#: point i has this timestamp plus i nanoseconds, so no two points overwrite each other
T0_NS = 1_700_000_000_000_000_000


def point(i: int) -> bytes:
    return f"{MEASUREMENT} id={i}i {T0_NS + i}".encode()


def delivery(url: str, database: str, state_dir: Path, flush_interval_s: float) -> Delivery:
    section = InfluxDbSection.model_validate(
        {
            "enable": True,
            "url": url,
            "version": 1,
            "v1": {"database": database, "create_database": False, "retention_policy": {"name": ""}},
        }
    )
    config = DeliveryConfig.model_validate({"flush_interval_s": flush_interval_s})  # else the defaults
    return Delivery(InfluxDestination(section), config, state_dir / "spool" / "influxdb.sqlite")


async def feed(sink: Delivery, rate: int, accepted: Path) -> None:
    await sink.destination.open()
    await sink.start()
    next_id = 0
    started = time.monotonic()
    with accepted.open("a") as out:
        while True:
            due = int((time.monotonic() - started) * rate)
            if due > next_id:
                sink.enqueue([point(i) for i in range(next_id, due)])
                next_id = due
                out.write(f"{next_id - 1} {time.monotonic()!r}\n")
                out.flush()
            await asyncio.sleep(0.005)


async def drain(sink: Delivery) -> None:
    await sink.destination.open()
    await sink.start()
    stats = sink.stats
    await async_wait_until(lambda: not (stats.spool_records or stats.queued), 120, "the spool delivered")
    await sink.stop()
    await sink.destination.close()
    print(json.dumps({"delivered": stats.delivered, "dropped": dict(stats.dropped)}))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["feed", "drain"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--flush-interval", type=float, default=0.5)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--accepted", type=Path)
    args = parser.parse_args(argv)
    sink = delivery(args.url, args.database, args.state_dir, args.flush_interval)
    if args.mode == "feed":
        asyncio.run(feed(sink, args.rate, args.accepted))
    else:
        asyncio.run(drain(sink))


if __name__ == "__main__":
    main(sys.argv[1:])
