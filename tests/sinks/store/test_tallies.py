"""Top-N from the minute and hour tallies: the same answer as a scan of the entries, for ranges that
do not fall on minutes or hours; filled in for a store written before tallies existed; kept per
level of detail."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from sensebutler.sinks.store import tallies
from sensebutler.sinks.store.records import entry
from sensebutler.sinks.store.storage import HOUR_NS, MINUTE_NS, NS, Retention, Storage

T0 = 1_705_309_200 * NS  # a whole hour


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def qix_entries(rng: random.Random, count: int, hours: int) -> list[bytes]:
    return [
        entry(
            "qix",
            T0 + rng.randrange(hours * HOUR_NS),
            name=f"object{rng.randrange(12)} / GetLayout",
            value=round(rng.random() * 1000, 3),
        )
        for _ in range(count)
    ]


def scanned(db: sqlite3.Connection, since: int, until: int) -> dict[str, tuple[int, float]]:
    rows = db.execute(
        "SELECT name, count(*), max(value) FROM entries WHERE kind = 'qix' AND ts >= ? AND ts < ? GROUP BY name",
        (since, until),
    )
    return {name: (n, high) for name, n, high in rows}


def test_top_from_tallies_is_the_top_of_a_scan(tmp_path: Path) -> None:
    rng = random.Random(3)
    clock = Clock(T0 + 5 * HOUR_NS)
    storage = Storage(tmp_path / "store.sqlite", clock=clock)
    storage.open()
    records = qix_entries(rng, 6000, 5)
    for i in range(0, len(records), 700):  # several batches, as the sink writes them
        storage.write(records[i : i + 700])
    ranges = [(T0 + 17 * NS, T0 + 4 * HOUR_NS + 123 * NS), (T0 + 90 * NS, T0 + 150 * NS)]
    ranges += [(T0 + 5 * NS, T0 + 20 * NS), (T0 + HOUR_NS - 61 * NS, T0 + 3 * HOUR_NS + 61 * NS)]
    ranges += [(T0, T0 + 5 * HOUR_NS), (T0 + 59 * MINUTE_NS + 1, T0 + 2 * HOUR_NS - 1)]
    for since, until in ranges:
        expected = scanned(storage.db, since, until)
        by_count = storage.top("qix", "name", since, until, limit=100)
        assert {name: (n, high) for name, n, high in by_count} == expected, (since, until)
        assert [n for _, n, _ in by_count] == sorted((n for n, _ in expected.values()), reverse=True)
        by_max = storage.top("qix", "name", since, until, order="max", limit=3)
        assert [high for _, _, high in by_max] == sorted((h for _, h in expected.values()), reverse=True)[:3]
    # the whole range read 5 hours and the minutes and seconds around them, not 6000 entries
    assert tallies.pieces(T0 + 17 * NS, T0 + 4 * HOUR_NS + 123 * NS, T0) == [
        ("entries", T0 + 17 * NS, T0 + MINUTE_NS),
        ("tally_m1", T0 + MINUTE_NS, T0 + HOUR_NS),
        ("tally_h1", T0 + HOUR_NS, T0 + 4 * HOUR_NS),
        ("tally_m1", T0 + 4 * HOUR_NS, T0 + 4 * HOUR_NS + 2 * MINUTE_NS),
        ("entries", T0 + 4 * HOUR_NS + 2 * MINUTE_NS, T0 + 4 * HOUR_NS + 123 * NS),
    ]
    with pytest.raises(ValueError, match="tallies only"):
        storage.top("log", "host", T0, T0 + HOUR_NS)
    storage.close()


def test_entries_without_a_value_and_bad_ones(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "store.sqlite", clock=Clock(T0 + HOUR_NS))
    storage.open()
    result = storage.write(
        [
            entry("user", T0, name="Sales", level="Open connection"),
            entry("user", T0 + NS, name="Sales"),
            entry("user", T0 + 2 * NS, name="HR"),
            entry("user", T0 + 3 * NS),  # no app: not counted
            b'["e", "user", 1, "h", "", "", ["not", "text"], "", null, {}]',
        ]
    )
    assert (result.entries, result.rejected) == (4, 1)
    assert storage.top("user", "name", T0, T0 + HOUR_NS) == [("Sales", 2, None), ("HR", 1, None)]
    storage.close()


def test_a_store_from_before_tallies_gets_them_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    clock = Clock(T0 + 3 * HOUR_NS)
    storage = Storage(path, clock=clock)
    storage.open()
    storage.write(qix_entries(random.Random(5), 500, 3))
    expected = storage.top("qix", "name", T0 + 7 * NS, T0 + 3 * HOUR_NS, limit=100)
    storage.db.executescript("DELETE FROM tally_m1; DELETE FROM tally_h1; PRAGMA user_version = 0;")
    assert storage.top("qix", "name", T0 + 7 * NS, T0 + 3 * HOUR_NS, limit=100) != expected
    storage.close()
    reopened = Storage(path, clock=clock)
    reopened.open()
    assert reopened.top("qix", "name", T0 + 7 * NS, T0 + 3 * HOUR_NS, limit=100) == expected
    reopened.close()


def test_minute_tallies_go_with_the_entries_hour_tallies_with_hourly_rollups(tmp_path: Path) -> None:
    clock = Clock(T0)
    retention = Retention(raw_ns=HOUR_NS, minute_ns=2 * HOUR_NS, hour_ns=4 * HOUR_NS)
    storage = Storage(tmp_path / "store.sqlite", retention, clock=clock)
    storage.open()
    storage.write(entry("qix", T0 + i * MINUTE_NS, name="table / GetLayout", value=1.0) for i in range(360))
    clock.now = T0 + 6 * HOUR_NS
    storage.maintain()
    (m1_low,) = storage.db.execute("SELECT min(bucket) FROM tally_m1").fetchone()
    (h1_low,) = storage.db.execute("SELECT min(bucket) FROM tally_h1").fetchone()
    assert m1_low * NS == T0 + 5 * HOUR_NS  # as old as the oldest entry kept
    assert h1_low * NS == T0 + 2 * HOUR_NS
    # a range reaching past the entries starts at the hour that holds its start
    assert storage.top("qix", "name", T0 + 3 * HOUR_NS + 5 * MINUTE_NS, clock.now) == [
        ("table / GetLayout", 180, 1.0)
    ]
    storage.close()
