"""Top-N over entries without reading them all: for a few (entry kind, column) pairs, the count and
largest value of each column value per minute and per hour, upserted in the same transaction as the
entries they count.

A range is answered from the coarsest pieces that fit in it: whole hours from ``tally_h1``, the
whole minutes at either end from ``tally_m1``, the seconds at the very ends from the entries, so the
answer is the one a scan of the entries gives, at a cost that grows with the number of distinct
values and hours, not with the number of entries. Minute tallies are kept as long as entries; hour
tallies as long as 1-hour rollups, so a 30-day top-N covers 30 days although entries are kept 48 h
(a range reaching past the entries starts at the hour that holds its start, as rollups do).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sensebutler.sinks.store.units import HOUR_NS, MINUTE_NS, NS

#: (entry kind, column) pairs tallied on write; the only ones :func:`top` answers
COUNTED = frozenset({("qix", "name"), ("user", "name")})
#: where a column is in an ``["e", kind, time_ns, host, level, source, name, ...]`` record
ENTRY_COLUMNS = {"host": 3, "level": 4, "source": 5, "name": 6}


def dim(kind: str, column: str) -> str:
    """The tally key of an (entry kind, column) pair."""
    return f"{kind}.{column}"


#: kind → (tally key, record position) of each of its tallied columns
_COLUMNS_OF = {
    kind: tuple((dim(kind, c), ENTRY_COLUMNS[c]) for k, c in sorted(COUNTED) if k == kind)
    for kind, _ in COUNTED
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS tally_m1 (
    dim TEXT NOT NULL, bucket INTEGER NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL, high REAL,
    PRIMARY KEY (dim, bucket, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally_h1 (
    dim TEXT NOT NULL, bucket INTEGER NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL, high REAL,
    PRIMARY KEY (dim, bucket, value)) WITHOUT ROWID;
"""
# max() of two values is NULL when either is; the coalesces keep the one that is not
_UPSERT = """
INSERT INTO {table} (dim, bucket, value, n, high) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (dim, bucket, value) DO UPDATE SET
    n = n + excluded.n, high = max(coalesce(high, excluded.high), coalesce(excluded.high, high))
"""
# the tallies of entries written before the tally tables existed (a store from an older version)
BACKFILL = [
    f"""
INSERT INTO {table} (dim, bucket, value, n, high)
SELECT kind || '.{column}', ts / {step} * {step // NS}, {column}, count(*), max(value)
FROM entries WHERE kind = '{kind}' AND {column} != '' GROUP BY 1, 2, 3
"""
    for kind, column in sorted(COUNTED)
    for table, step in (("tally_m1", MINUTE_NS), ("tally_h1", HOUR_NS))
]

Source = Literal["entries", "tally_m1", "tally_h1"]
Row = tuple[str, int, float | None]


@dataclass
class TallyBatch:
    """The tallies of one write batch, summed before they are upserted."""

    minutes: dict[tuple[str, int, str], list[Any]] = field(default_factory=dict)
    hours: dict[tuple[str, int, str], list[Any]] = field(default_factory=dict)

    def add(self, record: Sequence[Any]) -> None:
        """Count an entry record if its kind is tallied; a malformed one raises ``TypeError`` or
        ``ValueError`` before anything is counted."""
        columns = _COLUMNS_OF.get(record[1])
        if columns is None:
            return
        ts, value = int(record[2]), record[8]
        high = None if value is None else float(value)
        if not all(isinstance(record[position], str) for _, position in columns):
            raise TypeError(f"a {record[1]} entry with a column that is not text")
        minute, hour = ts // MINUTE_NS * 60, ts // HOUR_NS * 3600
        for key, position in columns:
            if text := record[position]:
                _merge(self.minutes.setdefault((key, minute, text), [0, None]), 1, high)
                _merge(self.hours.setdefault((key, hour, text), [0, None]), 1, high)

    def write(self, db: sqlite3.Connection) -> None:
        for table, buckets in (("tally_m1", self.minutes), ("tally_h1", self.hours)):
            db.executemany(_UPSERT.format(table=table), [(*k, n, high) for k, (n, high) in buckets.items()])


def _merge(total: list[Any], n: int, high: float | None) -> None:
    """Add ``n`` entries whose largest value is ``high`` (None: no values) to ``[count, high]``."""
    total[0] += n
    if high is not None and (total[1] is None or high > total[1]):
        total[1] = high


def pieces(since_ns: int, until_ns: int, entries_since_ns: int) -> list[tuple[Source, int, int]]:
    """``[since, until)`` cut into entry, minute and hour pieces (bounds in ns); entries before
    ``entries_since_ns`` are gone, so a range starting before that starts at its hour."""
    if since_ns < entries_since_ns:
        since_ns = since_ns // HOUR_NS * HOUR_NS
    minute_lo, minute_hi = -(-since_ns // MINUTE_NS) * MINUTE_NS, until_ns // MINUTE_NS * MINUTE_NS
    if minute_lo >= minute_hi:
        return [("entries", since_ns, until_ns)]
    hour_lo, hour_hi = -(-minute_lo // HOUR_NS) * HOUR_NS, minute_hi // HOUR_NS * HOUR_NS
    if hour_lo < hour_hi:
        middle: list[tuple[Source, int, int]] = [
            ("tally_m1", minute_lo, hour_lo),
            ("tally_h1", hour_lo, hour_hi),
            ("tally_m1", hour_hi, minute_hi),
        ]
    else:
        middle = [("tally_m1", minute_lo, minute_hi)]
    parts: list[tuple[Source, int, int]] = [
        ("entries", since_ns, minute_lo),
        *middle,
        ("entries", minute_hi, until_ns),
    ]
    return [(source, lo, hi) for source, lo, hi in parts if lo < hi]


def top(
    db: sqlite3.Connection,
    kind: str,
    column: str,
    since_ns: int,
    until_ns: int,
    entries_since_ns: int,
    order: Literal["count", "max"],
    limit: int,
) -> list[Row]:
    """``(value, entries, largest value)`` of the ``limit`` values with most entries (or the largest
    value) in the range."""
    if (kind, column) not in COUNTED:
        raise ValueError(f"the store tallies only {sorted(COUNTED)}, not ({kind!r}, {column!r})")
    totals: dict[str, list[Any]] = {}
    for source, lo, hi in pieces(since_ns, until_ns, entries_since_ns):
        if source == "entries":
            rows = db.execute(
                f"SELECT {column}, count(*), max(value) FROM entries"
                f" WHERE kind = ? AND ts >= ? AND ts < ? AND {column} != '' GROUP BY {column}",
                (kind, lo, hi),
            )
        else:
            rows = db.execute(
                f"SELECT value, sum(n), max(high) FROM {source}"
                " WHERE dim = ? AND bucket >= ? AND bucket < ? GROUP BY value",
                (dim(kind, column), lo // NS, hi // NS),
            )
        for value, n, high in rows:
            _merge(totals.setdefault(value, [0, None]), n, high)
    if order == "count":
        ranked = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))
    else:
        ranked = sorted(totals.items(), key=lambda item: (item[1][1] is None, -(item[1][1] or 0.0), item[0]))
    return [(str(value), int(n), high) for value, (n, high) in ranked[:limit]]
