"""The store's SQLite file: samples at three resolutions, entries, retention, a size bound, queries.

Tables: ``series`` (measurement, field, canonical tags → id), ``raw`` (every sample), ``m1`` and
``h1`` (per series and minute/hour: count, sum, min, max), ``entries`` (log lines, task results,
reloads, QIX requests, user events; kept as long as raw samples), ``tally_m1``/``tally_h1`` (counts
per entry name for top-N, ``tallies.py``). Rollups and tallies are updated in the same transaction
as the raw rows (an upsert per key and bucket of the batch), so late or replayed samples land in
their rollups too and nothing needs a background pass.

A :class:`Storage` is used from one thread only (``sqlite3`` connections are bound to theirs): the
sink writes through one, the dashboard reads through another over the same WAL-mode file, so reads
never wait for a write.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from sensebutler.sinks.store import tallies
from sensebutler.sinks.store.tallies import TallyBatch

# re-exported: the store's readers import the units from here
from sensebutler.sinks.store.units import HOUR_NS as HOUR_NS
from sensebutler.sinks.store.units import MINUTE_NS as MINUTE_NS
from sensebutler.sinks.store.units import NS as NS

#: about the points a chart gets (its step is rounded down to whole buckets: 7 days give 168 hours)
CHART_POINTS = 160
#: ``PRAGMA user_version`` of a file with every table and index of this version
SCHEMA_VERSION = 1
Resolution = Literal["raw", "m1", "h1"]
Aggregate = Literal["avg", "sum", "max", "min"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, field TEXT NOT NULL, tags TEXT NOT NULL,
    UNIQUE (measurement, field, tags));
CREATE TABLE IF NOT EXISTS raw (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS raw_series_ts ON raw (series, ts);
CREATE TABLE IF NOT EXISTS m1 (
    series INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, sum REAL NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (series, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS h1 (
    series INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, sum REAL NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (series, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, host TEXT NOT NULL,
    level TEXT NOT NULL, source TEXT NOT NULL, name TEXT NOT NULL, detail TEXT NOT NULL,
    value REAL, extra TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_kind_ts ON entries (kind, ts);
"""

#: ``aggregate`` over raw values and over rollup rows (one query, no subquery: measured ~40 % faster)
_RAW_AGGREGATE = {"avg": "avg(value)", "sum": "sum(value)", "max": "max(value)", "min": "min(value)"}
_ROLLUP_AGGREGATE = {"avg": "sum(sum) / sum(n)", "sum": "sum(sum)", "max": "max(max)", "min": "min(min)"}

_UPSERT = """
INSERT INTO {table} (series, bucket, n, sum, min, max) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (series, bucket) DO UPDATE SET
    n = n + excluded.n, sum = sum + excluded.sum,
    min = min(min, excluded.min), max = max(max, excluded.max)
"""


@dataclass(frozen=True)
class _Table:
    name: str
    #: the time column and what one of its units is in ns
    column: str
    unit_ns: int
    #: the leading column of its key, when there is one
    key: str = ""


#: the tables of each level of detail, finest first: retention and the size bound act per level
_LEVELS: dict[Resolution, tuple[_Table, ...]] = {
    "raw": (
        _Table("raw", "ts", 1, "series"),
        _Table("entries", "ts", 1),
        _Table("tally_m1", "bucket", NS, "dim"),
    ),
    "m1": (_Table("m1", "bucket", NS, "series"),),
    "h1": (_Table("h1", "bucket", NS, "series"), _Table("tally_h1", "bucket", NS, "dim")),
}
#: the least the size bound gives up of a level at once
_LEAST_NS: dict[Resolution, int] = {"raw": NS, "m1": MINUTE_NS, "h1": HOUR_NS}


@dataclass(frozen=True)
class Retention:
    raw_ns: int = 48 * HOUR_NS
    minute_ns: int = 30 * 24 * HOUR_NS
    hour_ns: int = 365 * 24 * HOUR_NS


@dataclass
class WriteResult:
    samples: int = 0
    entries: int = 0
    #: records that could not be read (counted by the sink as dropped ``bad_record``)
    rejected: int = 0


@dataclass
class MaintenanceResult:
    deleted: int = 0
    #: rows given up to keep the file under its size bound (on top of retention)
    deleted_for_size: int = 0
    size_bytes: int = 0


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    measurement: str
    field: str
    tags: dict[str, str]


@dataclass
class _Rollup:
    n: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


@dataclass
class Storage:
    path: Path
    retention: Retention = field(default_factory=Retention)
    max_bytes: int = 1024 * 1024 * 1024
    #: nanoseconds since the epoch; tests and benchmarks compress time with their own
    clock: Callable[[], int] = time.time_ns
    _db: sqlite3.Connection | None = None
    _series_ids: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _series_info: dict[int, SeriesInfo] = field(default_factory=dict)

    # -- lifecycle ---------------------------------------------------------------------------------
    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA busy_timeout = 10000")
        db.executescript(_SCHEMA + tallies.SCHEMA)
        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:  # not done by another
                for statement in tallies.BACKFILL:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"the store {self.path} is not open")
        return self._db

    # -- writing -----------------------------------------------------------------------------------
    def write(self, records: Iterable[bytes]) -> WriteResult:
        """Insert a batch of records (``records.py``) in one transaction."""
        result = WriteResult()
        raw: list[tuple[int, int, float]] = []
        entries: list[tuple[Any, ...]] = []
        minutes: dict[tuple[int, int], _Rollup] = defaultdict(_Rollup)
        hours: dict[tuple[int, int], _Rollup] = defaultdict(_Rollup)
        tally = TallyBatch()
        db = self.db
        db.execute("BEGIN")
        try:
            for record in records:
                try:
                    item = orjson.loads(record)
                    if item[0] == "s":
                        _, measurement, field_name, tags, ts, value = item
                        ts, value = int(ts), float(value)
                        series = self._series_id(measurement, field_name, tags)
                        raw.append((series, ts, value))
                        minutes[series, ts // MINUTE_NS * 60].add(value)
                        hours[series, ts // HOUR_NS * 3600].add(value)
                    elif item[0] == "e":
                        _, kind, ts, host, level, source, name, detail, value, extra = item
                        row = (int(ts), kind, host, level, source, name, detail, value, orjson.dumps(extra))
                        tally.add(item)
                        entries.append(row)
                    else:
                        result.rejected += 1
                except (ValueError, TypeError, IndexError):
                    result.rejected += 1
            db.executemany("INSERT INTO raw (series, ts, value) VALUES (?, ?, ?)", raw)
            for table, rollups in (("m1", minutes), ("h1", hours)):
                db.executemany(
                    _UPSERT.format(table=table),
                    [(s, b, r.n, r.total, r.low, r.high) for (s, b), r in rollups.items()],
                )
            db.executemany(
                "INSERT INTO entries (ts, kind, host, level, source, name, detail, value, extra)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                entries,
            )
            tally.write(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._series_ids.clear()  # ids inserted in this transaction are gone
            raise
        result.samples, result.entries = len(raw), len(entries)
        return result

    def _series_id(self, measurement: str, field_name: str, tags: str) -> int:
        key = (measurement, field_name, tags)
        found = self._series_ids.get(key)
        if found is not None:
            return found
        row = self.db.execute(
            "SELECT id FROM series WHERE measurement = ? AND field = ? AND tags = ?", key
        ).fetchone()
        if row is None:
            cursor = self.db.execute("INSERT INTO series (measurement, field, tags) VALUES (?, ?, ?)", key)
            row = (cursor.lastrowid,)
        self._series_ids[key] = int(row[0])
        return int(row[0])

    # -- retention and size ------------------------------------------------------------------------
    def maintain(self) -> MaintenanceResult:
        """Apply retention, then give up the oldest raw rows and entries (then rollups) until the
        file is under ``max_bytes``; return the freed pages to the file system."""
        now = self.clock()
        result = MaintenanceResult()
        keep = {"raw": self.retention.raw_ns, "m1": self.retention.minute_ns, "h1": self.retention.hour_ns}
        self.db.execute("BEGIN")
        for level, tables in _LEVELS.items():
            for table in tables:
                result.deleted += self._delete_older(table, now - keep[level], inclusive=False)
        self.db.execute("COMMIT")
        self._compact()
        while self.size_bytes() > self.max_bytes:
            freed = self._give_up_oldest()
            if not freed:
                break
            result.deleted_for_size += freed
            self._compact()
        result.size_bytes = self.size_bytes()
        return result

    def _give_up_oldest(self) -> int:
        """Delete the oldest tenth (by time) of the finest level there is; the number of rows."""
        for level, tables in _LEVELS.items():
            spans = [span for table in tables if (span := self._time_span(table)) is not None]
            if not spans:
                continue
            low, high = min(lo for lo, _ in spans), max(hi for _, hi in spans)
            cut = low + max((high - low) // 10, _LEAST_NS[level])
            self.db.execute("BEGIN")
            deleted = sum(self._delete_older(table, cut, inclusive=True) for table in tables)
            self.db.execute("COMMIT")
            if deleted:
                return deleted
        return 0

    def _keys(self, table: _Table) -> list[Any]:
        """The values of the table's leading key column, so each statement can use the key's index."""
        if table.key == "series":
            return [row[0] for row in self.db.execute("SELECT id FROM series")]
        if table.key == "dim":
            return [tallies.dim(kind, column) for kind, column in sorted(tallies.COUNTED)]
        return [None]

    def _where(self, table: _Table) -> str:
        return f"{table.key} = ? AND " if table.key else ""

    def _time_span(self, table: _Table) -> tuple[int, int] | None:
        """The oldest and newest time in the table, in ns (None when it is empty)."""
        lows, highs = [], []
        for key in self._keys(table):
            low, high = self.db.execute(
                f"SELECT min({table.column}), max({table.column}) FROM {table.name}"
                f" WHERE {self._where(table)}1",
                () if key is None else (key,),
            ).fetchone()
            if low is not None:
                lows.append(low * table.unit_ns)
                highs.append(high * table.unit_ns)
        return (min(lows), max(highs)) if lows else None

    def _delete_older(self, table: _Table, cut_ns: int, *, inclusive: bool) -> int:
        """Delete the table's rows older than ``cut_ns`` (or as old); the number of rows."""
        older = "<=" if inclusive else "<"
        sql = f"DELETE FROM {table.name} WHERE {self._where(table)}{table.column} {older} ?"
        deleted = 0
        for key in self._keys(table):
            cut = cut_ns // table.unit_ns
            deleted += self.db.execute(sql, (cut,) if key is None else (key, cut)).rowcount
        return deleted

    def _compact(self) -> None:
        # executescript steps the pragma to its end (execute() frees a single page per call)
        self.db.executescript("PRAGMA incremental_vacuum;")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size_bytes(self) -> int:
        """The database file and its write-ahead log."""
        wal = self.path.with_name(self.path.name + "-wal")
        size = self.path.stat().st_size if self.path.exists() else 0
        return size + (wal.stat().st_size if wal.exists() else 0)

    # -- reading -----------------------------------------------------------------------------------
    def resolution(self, since_ns: int, until_ns: int, points: int = CHART_POINTS) -> Resolution:
        """The coarsest resolution that still holds ``since`` and whose buckets fit in a step of a
        chart of ``points`` steps: a chart reads the fewest rows there are for it (7 days: 168
        hours per series, not 10,080 minutes)."""
        now = self.clock()
        step = (until_ns - since_ns) // max(1, points)
        if since_ns >= now - self.retention.raw_ns and step < MINUTE_NS:
            return "raw"
        if since_ns >= now - self.retention.minute_ns and step < HOUR_NS:
            return "m1"
        return "h1"

    def find_series(
        self, measurement: str, field_name: str, where: dict[str, str] | None = None
    ) -> list[SeriesInfo]:
        rows = self.db.execute(
            "SELECT id, measurement, field, tags FROM series WHERE measurement = ? AND field = ?",
            (measurement, field_name),
        ).fetchall()
        found = []
        for series_id, m, f, tags in rows:
            info = self._series_info.get(series_id)
            if info is None:
                info = self._series_info[series_id] = SeriesInfo(series_id, m, f, orjson.loads(tags))
            if where and any(info.tags.get(k) != v for k, v in where.items()):
                continue
            found.append(info)
        return found

    def series(
        self,
        measurement: str,
        field_name: str,
        since_ns: int,
        until_ns: int,
        *,
        group_by: str = "",
        aggregate: Aggregate = "avg",
        where: dict[str, str] | None = None,
        points: int = CHART_POINTS,
    ) -> dict[str, list[tuple[int, float]]]:
        """Label (the ``group_by`` tag's value, or ``measurement.field``) → ``(bucket start in
        seconds, value)`` in time order: ``aggregate`` within a series and bucket, summed across
        the series of one label (sessions of several proxies on one node add up)."""
        found = self.find_series(measurement, field_name, where)
        if not found:
            return {}
        resolution = self.resolution(since_ns, until_ns, points)
        step_s = max(1, (until_ns - since_ns) // NS // points)
        if resolution == "m1":
            step_s = max(60, step_s // 60 * 60)
        elif resolution == "h1":
            step_s = max(3600, step_s // 3600 * 3600)
        ids = ",".join(str(info.id) for info in found)
        if resolution == "raw":
            query = (
                f"SELECT series, ts / {NS * step_s} * {step_s} AS b, {_RAW_AGGREGATE[aggregate]} FROM raw"
                f" WHERE series IN ({ids}) AND ts >= {int(since_ns)} AND ts < {int(until_ns)}"
                " GROUP BY series, b"
            )
        else:
            query = (
                f"SELECT series, bucket / {step_s} * {step_s} AS b, {_ROLLUP_AGGREGATE[aggregate]}"
                f" FROM {resolution} WHERE series IN ({ids})"
                f" AND bucket >= {int(since_ns) // NS // step_s * step_s} AND bucket < {int(until_ns) // NS}"
                " GROUP BY series, b"
            )
        labels = {
            info.id: info.tags.get(group_by, "") if group_by else f"{measurement}.{field_name}"
            for info in found
        }
        grouped: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for series_id, bucket, value in self.db.execute(query):
            grouped[labels[series_id] or "-"][bucket] += value
        return {label: sorted(values.items()) for label, values in sorted(grouped.items())}

    def latest(
        self,
        measurement: str,
        field_name: str,
        since_ns: int,
        *,
        group_by: str = "",
        where: dict[str, str] | None = None,
    ) -> dict[str, float]:
        """The newest value of each series since ``since_ns``, summed per ``group_by`` label."""
        totals: dict[str, float] = defaultdict(float)
        for info in self.find_series(measurement, field_name, where):
            row = self.db.execute(
                "SELECT value FROM raw WHERE series = ? AND ts >= ? ORDER BY ts DESC LIMIT 1",
                (info.id, since_ns),
            ).fetchone()
            if row is not None:
                label = info.tags.get(group_by, "") if group_by else f"{measurement}.{field_name}"
                totals[label or "-"] += row[0]
        return dict(sorted(totals.items()))

    def entries(
        self,
        kind: str,
        since_ns: int,
        until_ns: int,
        *,
        search: str = "",
        levels: Iterable[str] = (),
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The newest entries of ``kind`` in the range; ``search`` matches text in any column."""
        sql = (
            "SELECT ts, host, level, source, name, detail, value, extra FROM entries"
            " WHERE kind = ? AND ts >= ? AND ts < ?"
        )
        args: list[Any] = [kind, since_ns, until_ns]
        wanted = list(levels)
        if wanted:
            sql += f" AND level IN ({','.join('?' * len(wanted))})"
            args.extend(wanted)
        if search:
            sql += " AND (detail LIKE ? OR name LIKE ? OR host LIKE ? OR source LIKE ? OR extra LIKE ?)"
            args.extend([f"%{search}%"] * 5)
        sql += " ORDER BY ts DESC LIMIT ?"
        args.append(limit)
        columns = ("ts", "host", "level", "source", "name", "detail", "value", "extra")
        rows = []
        for row in self.db.execute(sql, args):
            item = dict(zip(columns, row, strict=True))
            item["extra"] = orjson.loads(item["extra"])
            rows.append(item)
        return rows

    def top(
        self,
        kind: str,
        column: Literal["name", "host", "level", "source"],
        since_ns: int,
        until_ns: int,
        *,
        order: Literal["count", "max"] = "count",
        limit: int = 10,
    ) -> list[tuple[str, int, float | None]]:
        """``(value of column, entries, largest value)`` for the entries of ``kind`` in the range,
        most entries (or largest value) first; only for the pairs in ``tallies.COUNTED``."""
        entries_since = self.clock() - self.retention.raw_ns
        return tallies.top(self.db, kind, column, since_ns, until_ns, entries_since, order, limit)

    def counts(self) -> dict[str, int]:
        """Rows per table (the dashboard's Pipeline page and the tests)."""
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("series", "raw", "m1", "h1", "entries", "tally_m1", "tally_h1")
        }
