"""A bounded, persistent FIFO of records on disk (SQLite), one file per sink.

Records wait here while their destination is down and are replayed in order when it is back.
The spool is bounded by the total size of its records; when full, ``when_full`` says whether the
oldest records make room (``drop_oldest``) or new ones are refused (``drop_newest``). Whatever is
given up is returned to the caller, which counts it.

SQLite (stdlib) rather than a queue library: we need byte-bounded size, a choice of drop policy,
batch peek/remove by id, and crash-safe persistence; that is a few SQL statements. All methods are
thread-safe: appends run on the event loop (so order is exactly arrival order); reads and removals
may run in a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

WhenFull = Literal["drop_oldest", "drop_newest"]


class Spool:
    def __init__(self, path: Path, max_bytes: int, when_full: WhenFull = "drop_oldest") -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.when_full = when_full
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)"
        )
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM spool").fetchone()
        self.count, self.bytes = int(row[0]), int(row[1])

    def append(self, records: Sequence[bytes]) -> tuple[int, int]:
        """Store ``records`` after everything already here.

        Returns ``(stored, dropped)``: how many of ``records`` were stored, and how many records
        (new ones refused, or old ones removed to make room) were given up.
        """
        if not records:
            return 0, 0
        dropped = 0
        with self._lock:
            if self.when_full == "drop_newest":
                room = self.max_bytes - self.bytes
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
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO spool (data) VALUES (?)", ((r,) for r in records))
                self._db.execute("COMMIT")
                self.count += len(records)
                self.bytes += sum(len(r) for r in records)
            if self.when_full == "drop_oldest" and self.bytes > self.max_bytes:
                dropped += self._trim_oldest()
        return len(records), dropped

    def _trim_oldest(self) -> int:
        excess = self.bytes - self.max_bytes
        freed = removed = 0
        last_id = None
        for row_id, size in self._db.execute("SELECT id, LENGTH(data) FROM spool ORDER BY id"):
            last_id = row_id
            freed += size
            removed += 1
            if freed >= excess:
                break
        if last_id is not None:
            self._db.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
            self.count -= removed
            self.bytes -= freed
        return removed

    def peek(self, limit: int) -> list[tuple[int, bytes]]:
        """The oldest ``limit`` records with their ids, without removing them."""
        with self._lock:
            rows = self._db.execute("SELECT id, data FROM spool ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [(int(i), bytes(d)) for i, d in rows]

    def remove_through(self, last_id: int) -> int:
        """Remove every record with an id up to ``last_id`` (after they were delivered).

        Returns how many records were removed. That can be fewer than were peeked: with
        ``drop_oldest``, :meth:`append` may have given up some of them (and reported them as
        dropped) meanwhile.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM spool WHERE id <= ?", (last_id,)
            ).fetchone()
            self._db.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
            removed = int(row[0])
            self.count -= removed
            self.bytes -= int(row[1])
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
