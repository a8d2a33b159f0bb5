"""The store file: what is written is read back; rollups, retention and the size bound on a clock
the test moves (an hour of load in a moment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensebutler.sinks.store.records import entry, sample
from sensebutler.sinks.store.storage import HOUR_NS, MINUTE_NS, NS, Retention, Storage

T0 = 1_705_309_200 * NS  # a whole hour: chart buckets align to the epoch


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + HOUR_NS)


@pytest.fixture
def storage(tmp_path: Path, clock: Clock) -> Storage:
    store = Storage(tmp_path / "store.sqlite", clock=clock)
    store.open()
    yield store  # type: ignore[misc]
    store.close()


def test_samples_read_back_per_node_and_rolled_up(storage: Storage) -> None:
    records = []
    for i in range(120):  # two minutes, one sample a second, two nodes
        for node, base in (("central", 100.0), ("rim", 10.0)):
            records.append(sample("mem", "allocated", {"server_name": node}, T0 + i * NS, base + i))
    assert storage.write(records).samples == 240

    by_node = storage.series("mem", "allocated", T0, T0 + 120 * NS, group_by="server_name", points=2)
    assert by_node == {
        "central": [
            (T0 // NS, sum(100.0 + i for i in range(60)) / 60),
            (T0 // NS + 60, sum(100.0 + i for i in range(60, 120)) / 60),
        ],
        "rim": [
            (T0 // NS, sum(10.0 + i for i in range(60)) / 60),
            (T0 // NS + 60, sum(10.0 + i for i in range(60, 120)) / 60),
        ],
    }
    peak = storage.series(
        "mem", "allocated", T0, T0 + 120 * NS, aggregate="max", where={"server_name": "rim"}, points=1
    )
    assert peak == {"mem.allocated": [(T0 // NS, 129.0)]}
    rows = dict(
        ((series, bucket), (n, total, low, high))
        for series, bucket, n, total, low, high in storage.db.execute("SELECT * FROM m1")
    )
    assert len(rows) == 4 and {n for n, *_ in rows.values()} == {60}
    hour = storage.db.execute("SELECT n, min, max FROM h1 ORDER BY min").fetchall()
    assert hour == [(120, 10.0, 129.0), (120, 100.0, 219.0)]
    assert storage.latest("mem", "allocated", T0, group_by="server_name") == {"central": 219.0, "rim": 129.0}


def test_counts_add_up_across_series_of_one_label(storage: Storage) -> None:
    records = [
        sample("log", "count", {"level": level, "host": "n1", "source": "engine"}, T0 + i * NS, 1.0)
        for i, level in enumerate(["ERROR", "WARN", "WARN", "ERROR", "WARN"])
    ]
    storage.write(records)
    assert storage.series("log", "count", T0, T0 + 60 * NS, group_by="level", aggregate="sum", points=1) == {
        "ERROR": [(T0 // NS, 2.0)],
        "WARN": [(T0 // NS, 3.0)],
    }
    assert storage.series("log", "count", T0, T0 + 60 * NS, group_by="host", aggregate="sum", points=1) == {
        "n1": [(T0 // NS, 5.0)]
    }


def test_entries_are_searchable_newest_first(storage: Storage) -> None:
    storage.write(
        [
            entry("log", T0, host="n1", level="ERROR", detail="Disk full on D:", extra={"category": "disk"}),
            entry("log", T0 + NS, host="n2", level="WARN", detail="Slow response"),
            entry("task", T0 + 2 * NS, level="failed", name="Reload Sales", detail="script error"),
            entry("qix", T0, name="table / GetLayout", value=1200.0),
            entry("qix", T0, name="kpi / GetLayout", value=15.0),
            entry("qix", T0, name="table / GetLayout", value=300.0),
        ]
    )
    logs = storage.entries("log", T0, T0 + MINUTE_NS)
    assert [row["detail"] for row in logs] == ["Slow response", "Disk full on D:"]
    assert [row["detail"] for row in storage.entries("log", T0, T0 + MINUTE_NS, search="disk")] == [
        "Disk full on D:"
    ]
    assert storage.entries("log", T0, T0 + MINUTE_NS, levels=["ERROR"])[0]["extra"] == {"category": "disk"}
    assert storage.top("qix", "name", T0, T0 + MINUTE_NS, order="max") == [
        ("table / GetLayout", 2, 1200.0),
        ("kpi / GetLayout", 1, 15.0),
    ]
    assert storage.entries("task", T0, T0 + MINUTE_NS)[0]["name"] == "Reload Sales"


def test_bad_records_are_counted_not_raised(storage: Storage) -> None:
    result = storage.write([b"not json", b'["x"]', b'["s", "m"]', sample("m", "f", {}, T0, 1.0)])
    assert (result.samples, result.rejected) == (1, 3)


def test_retention_keeps_each_resolution_for_its_time(tmp_path: Path, clock: Clock) -> None:
    retention = Retention(raw_ns=30 * MINUTE_NS, minute_ns=2 * HOUR_NS, hour_ns=6 * HOUR_NS)
    storage = Storage(tmp_path / "store.sqlite", retention, clock=clock)
    storage.open()
    start = T0
    # one sample a minute for 8 hours
    storage.write(
        sample("cpu", "total", {"server_name": "n1"}, start + i * MINUTE_NS, float(i)) for i in range(480)
    )
    clock.now = start + 8 * HOUR_NS
    storage.maintain()
    raw_low = storage.db.execute("SELECT min(ts) FROM raw").fetchone()[0]
    m1_low = storage.db.execute("SELECT min(bucket) FROM m1").fetchone()[0] * NS
    h1_low = storage.db.execute("SELECT min(bucket) FROM h1").fetchone()[0] * NS
    assert raw_low >= clock.now - 30 * MINUTE_NS
    assert clock.now - 2 * HOUR_NS <= m1_low < clock.now - 2 * HOUR_NS + MINUTE_NS
    assert clock.now - 6 * HOUR_NS - HOUR_NS < h1_low <= clock.now - 6 * HOUR_NS + HOUR_NS
    # a range older than the raw retention is answered from rollups, with the same totals
    assert storage.resolution(clock.now - 20 * MINUTE_NS, clock.now) == "raw"
    assert storage.resolution(clock.now - 90 * MINUTE_NS, clock.now) == "m1"
    assert storage.resolution(clock.now - 10 * 24 * HOUR_NS, clock.now) == "h1"
    last_hour = storage.series(
        "cpu", "total", clock.now - 90 * MINUTE_NS, clock.now - 60 * MINUTE_NS, aggregate="sum", points=1
    )
    assert last_hour["cpu.total"] == [((clock.now - 90 * MINUTE_NS) // NS, float(sum(range(390, 420))))]
    storage.close()


@pytest.mark.slow
def test_an_hour_of_load_stays_within_the_size_bound(tmp_path: Path, clock: Clock) -> None:
    """100 samples and 20 log lines a second for an hour of compressed time, a 1.5 MB bound."""
    max_bytes = 3 * 512 * 1024
    storage = Storage(tmp_path / "store.sqlite", Retention(), max_bytes, clock)
    storage.open()
    sizes = []
    given_up = 0
    for minute in range(60):
        base = T0 + minute * MINUTE_NS
        records = [
            sample("mem", f"f{f}", {"server_name": f"n{n}"}, base + s * NS, float(s))
            for s in range(60)
            for n in range(10)
            for f in range(10)
        ]
        records += [
            entry("log", base + s * NS + i, host="n1", level="WARN", detail="x" * 80)
            for s in range(60)
            for i in range(20)
        ]
        storage.write(records)
        clock.now = base + MINUTE_NS
        result = storage.maintain()
        given_up += result.deleted_for_size
        sizes.append(result.size_bytes)
    assert max(sizes) <= max_bytes
    assert given_up > 0  # the bound, not retention, kept it small
    counts = storage.counts()
    assert counts["raw"] > 0 and counts["h1"] == 100  # recent raw kept; hourly rollups of every series
    newest = storage.db.execute("SELECT max(ts) FROM raw").fetchone()[0]
    assert newest == T0 + 59 * MINUTE_NS + 59 * NS
    storage.close()


def test_a_chart_reads_the_coarsest_rollup_that_fits_its_step(storage: Storage, clock: Clock) -> None:
    now = clock.now
    assert storage.resolution(now - HOUR_NS, now) == "raw"
    assert storage.resolution(now - 24 * HOUR_NS, now) == "m1"
    assert storage.resolution(now - 7 * 24 * HOUR_NS, now) == "h1"  # 168 points, not 10,080 rows a series
    assert storage.resolution(now - 7 * 24 * HOUR_NS, now, points=7 * 24 * 60) == "m1"
