"""The store's SQLite file: samples at three resolutions, entries, retention, a size bound, queries.

Tables: ``series`` (measurement, field, canonical tags → id), ``raw`` (every sample), ``m1`` and
``h1`` (per series and minute/hour: count, sum, min, max), ``entries`` (log lines, task results,
reloads, QIX requests, user events; kept as long as raw samples). Rollups are updated in the same
transaction as the raw rows (an upsert per series and bucket of the batch), so late or replayed
samples land in their rollups too and nothing needs a background pass.

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

NS = 1_000_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS
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

_UPSERT = """
INSERT INTO {table} (series, bucket, n, sum, min, max) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (series, bucket) DO UPDATE SET
    n = n + excluded.n, sum = sum + excluded.sum,
    min = min(min, excluded.min), max = max(max, excluded.max)
"""


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
        db.executescript(_SCHEMA)
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
                        entries.append(
                            (int(ts), kind, host, level, source, name, detail, value, orjson.dumps(extra))
                        )
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
        db = self.db
        series_ids = [row[0] for row in db.execute("SELECT id FROM series")]
        raw_cut = now - self.retention.raw_ns
        cuts = {"m1": (now - self.retention.minute_ns) // NS, "h1": (now - self.retention.hour_ns) // NS}
        db.execute("BEGIN")
        for series in series_ids:
            result.deleted += db.execute(
                "DELETE FROM raw WHERE series = ? AND ts < ?", (series, raw_cut)
            ).rowcount
            for table, cut in cuts.items():
                result.deleted += db.execute(
                    f"DELETE FROM {table} WHERE series = ? AND bucket < ?", (series, cut)
                ).rowcount
        result.deleted += db.execute("DELETE FROM entries WHERE ts < ?", (raw_cut,)).rowcount
        db.execute("COMMIT")
        self._compact()
        while self.size_bytes() > self.max_bytes:
            freed = self._give_up_oldest(series_ids)
            if not freed:
                break
            result.deleted_for_size += freed
            self._compact()
        result.size_bytes = self.size_bytes()
        return result

    def _give_up_oldest(self, series_ids: list[int]) -> int:
        """Delete the oldest tenth (by time) of the finest data there is; the number of rows."""
        db = self.db
        for table, column, least in (("raw", "ts", NS), ("m1", "bucket", 60), ("h1", "bucket", 3600)):
            low, high = db.execute(f"SELECT min({column}), max({column}) FROM {table}").fetchone()
            if table == "raw":
                e_low = db.execute("SELECT min(ts) FROM entries").fetchone()[0]
                if e_low is not None:
                    low = e_low if low is None else min(low, e_low)
                    high = (
                        high if high is not None else db.execute("SELECT max(ts) FROM entries").fetchone()[0]
                    )
            if low is None:
                continue
            cut = low + max((high - low) // 10, least)
            deleted = 0
            db.execute("BEGIN")
            for series in series_ids:
                deleted += db.execute(
                    f"DELETE FROM {table} WHERE series = ? AND {column} <= ?", (series, cut)
                ).rowcount
            if table == "raw":
                deleted += db.execute("DELETE FROM entries WHERE ts <= ?", (cut,)).rowcount
            db.execute("COMMIT")
            if deleted:
                return deleted
        return 0

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
    def resolution(self, since_ns: int, until_ns: int) -> Resolution:
        """The finest resolution that still holds ``since`` and keeps a chart's rows few."""
        now = self.clock()
        span = until_ns - since_ns
        if since_ns >= now - self.retention.raw_ns and span <= 6 * HOUR_NS:
            return "raw"
        if since_ns >= now - self.retention.minute_ns and span <= 8 * 24 * HOUR_NS:
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
        points: int = 240,
    ) -> dict[str, list[tuple[int, float]]]:
        """Label (the ``group_by`` tag's value, or ``measurement.field``) → ``(bucket start in
        seconds, value)`` in time order: ``aggregate`` within a series and bucket, summed across
        the series of one label (sessions of several proxies on one node add up)."""
        found = self.find_series(measurement, field_name, where)
        if not found:
            return {}
        resolution = self.resolution(since_ns, until_ns)
        step_s = max(1, (until_ns - since_ns) // NS // points)
        if resolution == "m1":
            step_s = max(60, step_s // 60 * 60)
        elif resolution == "h1":
            step_s = max(3600, step_s // 3600 * 3600)
        ids = ",".join(str(info.id) for info in found)
        pick = {"avg": "sum(v_sum) / sum(v_n)", "sum": "sum(v_sum)", "max": "max(v_max)", "min": "min(v_min)"}
        if resolution == "raw":
            source = (
                f"SELECT series, ts / {NS} AS t, 1 AS v_n, value AS v_sum, value AS v_min, value AS v_max "
                f"FROM raw WHERE series IN ({ids}) AND ts >= {int(since_ns)} AND ts < {int(until_ns)}"
            )
        else:
            source = (
                f"SELECT series, bucket AS t, n AS v_n, sum AS v_sum, min AS v_min, max AS v_max "
                f"FROM {resolution} WHERE series IN ({ids}) "
                f"AND bucket >= {int(since_ns) // NS // step_s * step_s} AND bucket < {int(until_ns) // NS}"
            )
        query = (
            f"SELECT series, t / {step_s} * {step_s} AS b, {pick[aggregate]} FROM ({source}) "
            "GROUP BY series, b ORDER BY b"
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
        """``(value of column, entries, largest value)`` for the entries of ``kind`` in the range."""
        sql = (
            f"SELECT {column}, count(*) AS c, max(value) AS m FROM entries"
            f" WHERE kind = ? AND ts >= ? AND ts < ? AND {column} != ''"
            f" GROUP BY {column} ORDER BY {'c' if order == 'count' else 'm'} DESC LIMIT ?"
        )
        return [(str(a), int(b), c) for a, b, c in self.db.execute(sql, (kind, since_ns, until_ns, limit))]

    def counts(self) -> dict[str, int]:
        """Rows per table (the dashboard's Pipeline page and the tests)."""
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("series", "raw", "m1", "h1", "entries")
        }
