"""Delivery against a real influxd that goes away: what a kill -9 loses, and the event loop's lag."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sensebutler.config.delivery import DeliveryConfig
from tests.fixtures.net import async_wait_until, wait_until
from tests.fixtures.servers import InfluxdServer
from tests.pipeline.influx_feeder import MEASUREMENT
from tests.sinks.influxdb.events import engine_log_event
from tests.sinks.influxdb.support import section, sink
from tests.sinks.output_events import T0_NS

REPO = Path(__file__).resolve().parents[2]


def feeder(mode: str, influx: InfluxdServer, state_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.pipeline.influx_feeder", mode, "--url", influx.url]
    argv += ["--database", "kill9", "--state-dir", str(state_dir), *args]
    log = (state_dir / f"{mode}.log").open("ab")
    return subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def accepted_lines(path: Path) -> list[tuple[int, float]]:
    """``(last id, when)`` per hand-over; a line cut by the kill is ignored."""
    lines = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                lines.append((int(parts[0]), float(parts[1])))
            except ValueError:
                continue
    return lines


@pytest.mark.slow
def test_kill_9_during_an_outage_loses_nothing_accepted_more_than_a_flush_interval_earlier(
    influxd_factory: Callable[[], InfluxdServer], tmp_path: Path
) -> None:
    flush_interval = 0.5
    influx = influxd_factory()
    influx.create_database("kill9")
    influx.stop()  # the outage
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    accepted = tmp_path / "accepted.txt"
    args = ["--flush-interval", str(flush_interval), "--rate", "1000", "--accepted", str(accepted)]
    process = feeder("feed", influx, state_dir, *args)
    try:
        # many flush intervals of records (and retries far apart by then: the default backoff),
        # the feeder still feeding when it is killed
        wait_until(
            lambda: accepted.exists() and accepted_lines(accepted)[-1:] > [(8000, 0.0)],
            60,
            "8,000 records accepted",
        )
        killed_at = time.monotonic()
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(10)
    must_have = max(
        (last for last, when in accepted_lines(accepted) if when < killed_at - flush_interval), default=-1
    )
    all_accepted = accepted_lines(accepted)[-1][0]
    assert must_have >= 5000

    influx.start()
    drain = feeder("drain", influx, state_dir)
    try:
        assert drain.wait(120) == 0, (state_dir / "drain.log").read_text()
    finally:
        drain.kill()
    rows = influx.query("kill9", f'SELECT "id" FROM "{MEASUREMENT}"')
    ids = {int(row["id"]) for row in rows}
    missing = sorted(set(range(must_have + 1)) - ids)
    assert not missing, (
        f"{len(missing)} of the {must_have + 1} records accepted more than {flush_interval} s before the "
        f"kill are missing (first {missing[:5]}); {len(ids)} of {all_accepted + 1} accepted arrived"
    )
    assert ids <= set(range(all_accepted + 1))


@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_a_30_s_outage_at_5000_events_per_s_keeps_the_event_loop_lag_under_50_ms(
    influxd_factory: Callable[[], InfluxdServer], tmp_path: Path
) -> None:
    rate, outage_s, tick_s = 5000, 30, 0.01
    influx = influxd_factory()
    # the default delivery settings (5,000-record batches), but a quick retry when influxd is back
    delivery = DeliveryConfig.model_validate({"retry": {"max_s": 2}})
    influx_sink = sink(tmp_path, section(influx.url, v1={"database": "outage"}), delivery)
    stats = influx_sink.stats()
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    busy: list[float] = []
    produced = 0

    async def probe() -> None:  # the one timing measurement: how late the loop wakes a sleeper
        while True:
            before, cpu_before = loop.time(), time.thread_time()
            await asyncio.sleep(tick_s)
            lags.append(loop.time() - before - tick_s)
            busy.append(time.thread_time() - cpu_before)  # of which the loop's own work

    async def produce() -> None:
        nonlocal produced
        started = loop.time()
        while True:
            due = int((loop.time() - started) * rate)
            for i in range(produced, due):
                influx_sink.submit(engine_log_event(time_ns=T0_NS + i * 1_000_000, log_row=i))
            produced = due
            await asyncio.sleep(0.005)

    # The pytest process holds every imported test module: a full collection of that heap takes
    # 100-200 ms here, which would be measured as the delivery's lag. Leave it out of the count.
    gc.freeze()
    await influx_sink.start()
    producer = asyncio.create_task(produce())
    await async_wait_until(lambda: stats.delivered >= rate, 60, f"{rate} delivered before the outage")
    await asyncio.to_thread(influx.stop)
    prober = asyncio.create_task(probe())  # the outage and the replay after it are measured
    try:
        # the outage lasts until the spool holds outage_s of arrivals (events keep arriving)
        await async_wait_until(
            lambda: stats.spool_records >= rate * outage_s, 6 * outage_s, f"{outage_s} s of events spooled"
        )
        await asyncio.to_thread(influx.start)
        producer.cancel()
        await async_wait_until(lambda: stats.spool_records == 0, 240, f"the spool replayed ({stats})")
    finally:
        producer.cancel()
        prober.cancel()
        await asyncio.gather(producer, prober, return_exceptions=True)
        gc.unfreeze()
    await async_wait_until(lambda: stats.delivered >= produced, 60, f"{produced} delivered ({stats})")
    await influx_sink.stop()

    assert (stats.delivered, dict(stats.dropped)) == (produced, {})
    rows = await asyncio.to_thread(influx.query, "outage", 'SELECT count("log_row") FROM "log_event"')
    assert rows[0]["count"] == produced
    lags.sort()
    summary = (
        f"{len(lags)} probes: lag p50 {lags[len(lags) // 2] * 1000:.1f} ms, p99 "
        f"{lags[int(len(lags) * 0.99)] * 1000:.1f} ms, max {lags[-1] * 1000:.1f} ms; the loop's own "
        f"work per probe max {max(busy) * 1000:.1f} ms"
    )
    print(summary)
    # On this shared machine (2 cores, several test suites) the scheduler alone stalls a process for
    # tens of ms at times, so the wall-clock lag is held to 50 ms at the 99th percentile, and the
    # loop's own work (what blocking calls on the loop would show) in every probe interval.
    assert lags[int(len(lags) * 0.99)] < 0.05, summary
    assert max(busy) < 0.05, summary
