"""A bounded, persistent FIFO of records on disk (SQLite), one file per sink.

Records wait here while their destination is down and are replayed in order when it is back.
The spool is bounded by the total size of its records; when full, ``when_full`` says whether the
oldest records make room (``drop_oldest``) or new ones are refused (``drop_newest``). Whatever is
given up is reported to the caller, which counts it.

SQLite (stdlib) rather than a queue library: we need byte-bounded size, a choice of drop policy,
batch peek/remove by id, and crash-safe persistence; that is a few SQL statements.

Every operation (open, append, peek, remove, close) runs on the spool's one writer thread, in the
order it was called, and returns a :class:`concurrent.futures.Future` (await it on the event loop
with :func:`asyncio.wrap_future`). So the event loop never waits for SQLite, and the order of calls
is the order on disk: a peek sees every append called before it. Results that change the spool
carry its size after the operation (:class:`SpoolState`), so a caller can mirror it exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

WhenFull = Literal["drop_oldest", "drop_newest"]


@dataclass(frozen=True)
class SpoolState:
    """Records and bytes in the spool after an operation."""

    count: int
    bytes: int


@dataclass(frozen=True)
class Appended:
    #: how many of the appended records were stored
    stored: int
    #: records given up: new ones refused, or old ones removed to make room
    dropped: int
    state: SpoolState


@dataclass(frozen=True)
class Removed:
    #: records removed; fewer than were peeked when ``drop_oldest`` gave some up meanwhile
    removed: int
    state: SpoolState


class Spool:
    def __init__(self, path: Path, max_bytes: int, when_full: WhenFull = "drop_oldest") -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.when_full = when_full
        # one thread: calls run one after the other, in the order they were made
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"spool-{path.stem}")
        self._db: sqlite3.Connection | None = None
        self._count = 0
        self._bytes = 0
        #: the spool as found on disk (records from an earlier run)
        self.opened: Future[SpoolState] = self._writer.submit(self._open)

    # -- calls (each queued to the writer thread) ----------------------------------------------------
    def append(self, records: Sequence[bytes]) -> Future[Appended]:
        """Store ``records`` after everything appended before."""
        return self._writer.submit(self._append, list(records))

    def peek(self, limit: int) -> Future[list[tuple[int, bytes]]]:
        """The oldest ``limit`` records with their ids, without removing them."""
        return self._writer.submit(self._peek, limit)

    def remove_through(self, last_id: int) -> Future[Removed]:
        """Remove every record with an id up to ``last_id`` (after they were delivered)."""
        return self._writer.submit(self._remove_through, last_id)

    def close(self) -> Future[None]:
        """Close the file after every call made before; the writer thread then ends."""
        future = self._writer.submit(self._close)
        self._writer.shutdown(wait=False)
        return future

    # -- on the writer thread ------------------------------------------------------------------------
    def _open(self) -> SpoolState:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)"
        )
        row = db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM spool").fetchone()
        self._db = db
        self._count, self._bytes = int(row[0]), int(row[1])
        return self._state()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.opened.result()  # re-raises why opening failed
            raise RuntimeError(f"spool {self.path} is closed")
        return self._db

    def _append(self, records: list[bytes]) -> Appended:
        db = self._connection()
        dropped = 0
        if self.when_full == "drop_newest":
            room = self.max_bytes - self._bytes
            keep: list[bytes] = []
            for record in records:
                if len(record) <= room:
                    keep.append(record)
                    room -= len(record)
                else:
                    dropped += 1
            records = keep
        else:
            fitting = [r for r in records if len(r) <= self.max_bytes]
            dropped += len(records) - len(fitting)
            records = fitting
        if records:
            db.execute("BEGIN")
            try:
                db.executemany("INSERT INTO spool (data) VALUES (?)", ((r,) for r in records))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._count += len(records)
            self._bytes += sum(len(r) for r in records)
        if self.when_full == "drop_oldest" and self._bytes > self.max_bytes:
            dropped += self._trim_oldest(db)
        return Appended(len(records), dropped, self._state())

    def _trim_oldest(self, db: sqlite3.Connection) -> int:
        excess = self._bytes - self.max_bytes
        freed = removed = 0
        last_id = None
        for row_id, size in db.execute("SELECT id, LENGTH(data) FROM spool ORDER BY id"):
            last_id = row_id
            freed += size
            removed += 1
            if freed >= excess:
                break
        if last_id is not None:
            db.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
            self._count -= removed
            self._bytes -= freed
        return removed

    def _peek(self, limit: int) -> list[tuple[int, bytes]]:
        query = "SELECT id, data FROM spool ORDER BY id LIMIT ?"
        rows = self._connection().execute(query, (limit,)).fetchall()
        return [(int(i), bytes(d)) for i, d in rows]

    def _remove_through(self, last_id: int) -> Removed:
        db = self._connection()
        row = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM spool WHERE id <= ?", (last_id,)
        ).fetchone()
        db.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
        removed = int(row[0])
        self._count -= removed
        self._bytes -= int(row[1])
        return Removed(removed, self._state())

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _state(self) -> SpoolState:
        return SpoolState(self._count, self._bytes)
