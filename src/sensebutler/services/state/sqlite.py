"""State in one SQLite file (stdlib ``sqlite3``, WAL mode): the default, for one machine.

Writes and scans run on one dedicated thread per backend object (``thread.CallThread``), so the
event loop never waits for the write lock and writes keep their order. Point reads (``get``,
``get_many``, ``ttl``) run on the event loop on a second, read-only connection: in WAL mode a
reader never waits for a writer, a primary-key lookup costs a few microseconds, and the hop to the
thread and back cost several times that (bench/api.py). If the file is busy anyway (another process
recovering the WAL) or the call comes from another thread, the read goes to the thread; a read sees
every write whose call has returned, from any process. Writes that read first (``incr``,
``lease``, ``put_if_absent``, ...) run in ``BEGIN IMMEDIATE`` transactions, which take SQLite's
write lock before reading: several processes sharing the file (two instances on one machine) stay
atomic. A process that finds the file locked waits up to ``busy_timeout_s``, then the call raises
``StateUnavailable``.

Expiry uses the wall clock (``time.time()``), so TTLs hold across restarts and between processes.
Expired rows are invisible at once and deleted by a purge every ``purge_interval_s``.
``synchronous=NORMAL``: a crashed process loses nothing; a power cut may lose the last commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from sensebutler.services.state.base import check_by, check_key, check_throttle, check_ttl, check_value
from sensebutler.services.state.errors import StateUnavailable
from sensebutler.services.state.thread import CallThread, ClosedError

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS sets (
    key TEXT NOT NULL,
    member TEXT NOT NULL,
    PRIMARY KEY (key, member)
) WITHOUT ROWID;
"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_INTEGER = re.compile(rb"-?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)
_PURGE_BATCH = 1000


def _upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound)."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be stored; skip past them
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _counter(value: bytes, key: str) -> int:
    if not _INTEGER.fullmatch(value):
        raise ValueError(f"incr: {key!r} holds a value that is not an integer")
    return int(value)


def _commit_and_close(db: sqlite3.Connection) -> None:
    """Close the file; a batch the close was part of is committed first (close would roll it back)."""
    if db.in_transaction:
        db.execute("COMMIT")
    db.close()


class SqliteStateBackend:
    """:class:`~sensebutler.services.state.base.StateBackend` on a SQLite file at ``path``."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0, purge_interval_s: float = 60.0) -> None:
        self.name = "state (sqlite)"
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.purge_interval_s = purge_interval_s
        self._thread: CallThread | None = None
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._purge_task: asyncio.Task[None] | None = None
        self._closed = False
        #: set on the state thread when SQLite undid a whole batch (see ``_end_batch``)
        self._batch_lost = False

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._thread is not None:
            return
        if self._closed:
            raise StateUnavailable("sqlite", str(self.path), "the backend was closed")
        self._thread = CallThread("state-sqlite", batch=(self._begin_batch, self._end_batch))
        try:
            await self._run(self._open)
        except BaseException:
            self._thread.close()
            self._thread = None
            raise
        self._reader = self._open_reader()
        self._purge_task = asyncio.create_task(self._purge_loop(), name="state sqlite purge")

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise sqlite3.OperationalError(f"cannot create {self.path.parent}: {exc}") from exc
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        self._db = db

    def _open_reader(self) -> sqlite3.Connection | None:
        """The event loop's read-only connection (None: every read goes to the thread)."""
        try:
            reader = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            log.warning("state %s: no reader connection, reads go to the state thread: %s", self.path, exc)
            return None
        return reader

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(sqlite3.Error):
                reader.close()
        if self._purge_task is not None:
            self._purge_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge_task
            self._purge_task = None
        thread, self._thread = self._thread, None
        if thread is None:
            return
        db, self._db = self._db, None
        if db is not None:
            await thread.call(lambda: _commit_and_close(db))
        thread.close()

    async def stop(self) -> None:
        await self.close()

    # -- values -------------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        check_key(key)

        def op(db: sqlite3.Connection) -> bytes | None:
            rows = db.execute(
                f"SELECT value FROM kv WHERE key = ? AND {_LIVE}", (key, time.time())
            ).fetchall()
            return bytes(rows[0][0]) if rows else None

        return await self._read(op)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        for key in keys:
            check_key(key)
        marks = ", ".join("?" * len(keys))

        def op(db: sqlite3.Connection) -> list[bytes | None]:
            query = f"SELECT key, value FROM kv WHERE key IN ({marks}) AND {_LIVE}"
            found = {str(k): bytes(v) for k, v in db.execute(query, (*keys, time.time())).fetchall()}
            return [found.get(key) for key in keys]

        return await self._read(op) if keys else []

    async def put(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        check_key(key)
        value = check_value(value)
        ttl = check_ttl(ttl_s)

        def op(db: sqlite3.Connection, now: float) -> None:
            db.execute(
                "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value, expires_at = excluded.expires_at",
                (key, value, None if ttl is None else now + ttl),
            )

        await self._write(op)

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        check_key(key)
        value = check_value(value)
        ttl = check_ttl(ttl_s)

        def op(db: sqlite3.Connection, now: float) -> bool:
            cursor = db.execute(
                "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value, expires_at = excluded.expires_at "
                "WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ?",
                (key, value, None if ttl is None else now + ttl, now),
            )
            return cursor.rowcount > 0

        return await self._write(op)

    async def delete(self, key: str) -> bool:
        check_key(key)

        def op(db: sqlite3.Connection, now: float) -> bool:
            row = db.execute("DELETE FROM kv WHERE key = ? RETURNING expires_at", (key,)).fetchone()
            return row is not None and (row[0] is None or row[0] > now)

        return await self._write(op)

    async def ttl(self, key: str) -> float | None:
        check_key(key)

        def op(db: sqlite3.Connection) -> float | None:
            now = time.time()
            rows = db.execute(f"SELECT expires_at FROM kv WHERE key = ? AND {_LIVE}", (key, now)).fetchall()
            return None if not rows or rows[0][0] is None else max(0.0, float(rows[0][0]) - now)

        return await self._read(op)

    async def keys(self, prefix: str = "") -> list[str]:
        if not isinstance(prefix, str):
            raise ValueError(f"prefix must be a string, got {prefix!r}")
        upper = _upper_bound(prefix)

        def op(db: sqlite3.Connection) -> list[str]:
            now = time.time()
            args: tuple[object, ...]
            if upper is None:
                query, args = f"SELECT key FROM kv WHERE key >= ? AND {_LIVE} ORDER BY key", (prefix, now)
            else:
                query = f"SELECT key FROM kv WHERE key >= ? AND key < ? AND {_LIVE} ORDER BY key"
                args = (prefix, upper, now)
            rows = db.execute(query, args)
            return [str(row[0]) for row in rows]

        return await self._run_db(op)

    # -- counters and leases ------------------------------------------------------------------------

    async def incr(self, key: str, by: int = 1, ttl_s: float | None = None) -> int:
        check_key(key)
        check_by(by)
        ttl = check_ttl(ttl_s)

        def op(db: sqlite3.Connection, now: float) -> int:
            row = db.execute(f"SELECT value FROM kv WHERE key = ? AND {_LIVE}", (key, now)).fetchone()
            if row is None:
                new = by
                db.execute(
                    "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)",
                    (key, str(new).encode(), None if ttl is None else now + ttl),
                )
            else:
                new = _counter(bytes(row[0]), key) + by
                if not _INT64[0] <= new <= _INT64[1]:
                    raise ValueError(f"incr: {key!r} would leave the 64-bit integer range")
                db.execute("UPDATE kv SET value = ? WHERE key = ?", (str(new).encode(), key))
            return new

        return await self._write(op)

    async def throttle(self, key: str, interval_s: float, burst_s: float = 0.0) -> float:
        check_key(key)
        interval_ms, burst_ms = check_throttle(interval_s, burst_s)

        def op(db: sqlite3.Connection, now: float) -> float:
            now_ms = int(now * 1000)
            row = db.execute(f"SELECT value FROM kv WHERE key = ? AND {_LIVE}", (key, now)).fetchone()
            stored = bytes(row[0]) if row is not None else b""
            tat = max(now_ms, int(stored) if _INTEGER.fullmatch(stored) else now_ms)
            wait_ms = tat - now_ms - burst_ms
            if wait_ms > 0:
                return wait_ms / 1000
            tat += interval_ms
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)",
                (key, str(tat).encode(), tat / 1000),
            )
            return 0.0

        return await self._write(op)

    async def lease(self, name: str, owner: str, ttl_s: float) -> bool:
        check_key(name, "lease name")
        check_key(owner, "lease owner")
        ttl = check_ttl(ttl_s)
        if ttl is None:
            raise ValueError("a lease needs a ttl_s")

        def op(db: sqlite3.Connection, now: float) -> bool:
            row = db.execute(f"SELECT value FROM kv WHERE key = ? AND {_LIVE}", (name, now)).fetchone()
            if row is not None and bytes(row[0]) != owner.encode():
                return False
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)",
                (name, owner.encode(), now + ttl),
            )
            return True

        return await self._write(op)

    async def release_lease(self, name: str, owner: str) -> bool:
        check_key(name, "lease name")
        check_key(owner, "lease owner")

        def op(db: sqlite3.Connection, now: float) -> bool:
            cursor = db.execute(
                f"DELETE FROM kv WHERE key = ? AND value = ? AND {_LIVE}", (name, owner.encode(), now)
            )
            return cursor.rowcount > 0

        return await self._write(op)

    # -- sets ---------------------------------------------------------------------------------------

    async def set_add(self, key: str, member: str) -> bool:
        check_key(key)
        check_key(member, "set member")

        def op(db: sqlite3.Connection, now: float) -> bool:
            return db.execute("INSERT OR IGNORE INTO sets VALUES (?, ?)", (key, member)).rowcount > 0

        return await self._write(op)

    async def set_remove(self, key: str, member: str) -> bool:
        check_key(key)
        check_key(member, "set member")

        def op(db: sqlite3.Connection, now: float) -> bool:
            return db.execute("DELETE FROM sets WHERE key = ? AND member = ?", (key, member)).rowcount > 0

        return await self._write(op)

    async def set_members(self, key: str) -> set[str]:
        check_key(key)

        def op(db: sqlite3.Connection) -> set[str]:
            return {str(row[0]) for row in db.execute("SELECT member FROM sets WHERE key = ?", (key,))}

        return await self._run_db(op)

    # -- expiry -------------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Delete expired rows in small transactions (other calls run between them); how many."""
        total = 0
        while True:

            def op(db: sqlite3.Connection, now: float) -> int:
                return db.execute(
                    "DELETE FROM kv WHERE key IN "
                    "(SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)",
                    (now, _PURGE_BATCH),
                ).rowcount

            removed = await self._write(op)
            total += removed
            if removed < _PURGE_BATCH:
                return total

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.purge_interval_s)
            try:
                removed = await self.purge_expired()
            except StateUnavailable as exc:
                log.warning("state purge skipped: %s", exc)
            else:
                if removed:
                    log.debug("state purge removed %d expired keys", removed)

    # -- the state thread ---------------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        thread = self._thread
        if thread is None:
            detail = "the backend was closed" if self._closed else "the backend is not started"
            raise StateUnavailable("sqlite", str(self.path), detail)
        try:
            return await thread.call(fn)
        except sqlite3.Error as exc:
            raise StateUnavailable("sqlite", str(self.path), str(exc)) from exc
        except ClosedError as exc:
            raise StateUnavailable("sqlite", str(self.path), "the backend was closed") from exc

    async def _read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """``op`` on the reader connection, here on the loop; on the thread when that cannot be.

        ``fetchall``: a statement left unfinished would keep the reader's snapshot of the file open.
        """
        reader = self._reader
        if reader is not None:
            try:
                return op(reader)
            except sqlite3.Error:  # busy, or called from another thread than the loop's
                pass
        return await self._run_db(op)

    async def _run_db(self, op: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(lambda: op(self._connection()))

    async def _write(self, op: Callable[[sqlite3.Connection, float], T]) -> T:
        """``op(db, now)`` in a ``BEGIN IMMEDIATE`` transaction; ``now`` is read once the lock is held."""

        def transaction() -> T:
            db = self._connection()
            if db.in_transaction:  # one of a batch of calls that commit together (_begin_batch)
                db.execute("SAVEPOINT op")
                try:
                    result = op(db, time.time())
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK TO op")
                        db.execute("RELEASE op")
                    else:  # SQLite rolled the whole batch back (disk full, I/O error)
                        self._batch_lost = True
                    raise
                db.execute("RELEASE op")
                return result
            db.execute("BEGIN IMMEDIATE")
            try:
                result = op(db, time.time())
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        return await self._run(transaction)

    def _begin_batch(self) -> bool:
        """Several calls wait for the thread: their writes share one transaction and one commit
        (each in a savepoint, so a failing one undoes only itself). False: each its own."""
        db = self._db
        if db is None or db.in_transaction:
            return False
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:  # busy: another process writes; each call waits on its own
            return False
        return True

    def _end_batch(self) -> None:
        db = self._db
        if self._batch_lost:
            self._batch_lost = False
            raise sqlite3.OperationalError("SQLite rolled back a batch of writes after an error")
        if db is not None and db.in_transaction:
            try:
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.ProgrammingError("the backend was closed")
        return self._db
