"""What only the SQLite backend promises: its own thread, purging, and sharing one file between processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import sqlite3
import threading
from pathlib import Path

import pytest

from sensebutler.services.state import SqliteStateBackend, StateUnavailable
from tests.fixtures.net import async_poll, async_wait_until

KEYS_PER_PROCESS = 300


def rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM kv").fetchone()[0])


async def test_expired_rows_are_purged_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    backend = SqliteStateBackend(path, purge_interval_s=0.1)
    await backend.start()
    try:
        for i in range(5):
            await backend.put(f"short{i}", b"v", ttl_s=0.2)
        await backend.put("kept", b"v")
        await async_poll(lambda: asyncio.to_thread(rows, path), lambda n: n == 1, 15, "the purge")
        assert await backend.keys() == ["kept"]
    finally:
        await backend.close()


async def test_a_locked_file_waits_off_the_loop_then_gives_up_as_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    patient = SqliteStateBackend(path, busy_timeout_s=60)
    impatient = SqliteStateBackend(path, busy_timeout_s=0.1)
    await patient.start()
    await impatient.start()
    other_process = sqlite3.connect(path, isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
        waiting = asyncio.create_task(patient.put("k", b"v"))
        for _ in range(5):  # the loop keeps running while the put waits for the lock in its thread
            await asyncio.sleep(0.02)
        assert not waiting.done()
        with pytest.raises(StateUnavailable, match="locked"):
            await impatient.incr("n")
        other_process.execute("COMMIT")
        await waiting
        assert await impatient.get("k") == b"v"
    finally:
        other_process.close()
        await patient.close()
        await impatient.close()


async def test_reads_see_other_processes_writes_and_work_from_other_threads(tmp_path: Path) -> None:
    """Point reads run on the loop's own connection: they see what another connection committed a
    moment ago, and a call from another thread (whose loop may not use that connection) still works."""
    path = tmp_path / "state.sqlite"
    backend = SqliteStateBackend(path)
    await backend.start()
    other_process = sqlite3.connect(path, isolation_level=None)
    try:
        assert await backend.get("k") is None
        other_process.execute("INSERT INTO kv (key, value, expires_at) VALUES ('k', x'01', NULL)")
        assert await backend.get("k") == b"\x01"
        other_process.execute("BEGIN IMMEDIATE")  # a writer holding the lock does not hold readers up
        other_process.execute("UPDATE kv SET value = x'02' WHERE key = 'k'")
        assert await backend.get_many(["k", "missing"]) == [b"\x01", None]
        other_process.execute("COMMIT")
        assert await backend.get("k") == b"\x02"
        await backend.put("timed", b"v", ttl_s=60)

        async def in_another_loop() -> tuple[bytes | None, float | None]:
            return await backend.get("k"), await backend.ttl("timed")

        value, ttl = await asyncio.to_thread(asyncio.run, in_another_loop())
        assert value == b"\x02" and ttl is not None and 0 < ttl <= 60
    finally:
        other_process.close()
        await backend.close()


def claim_keys(
    path: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue[list[str]]
) -> None:
    """In a child process: claim every key of the shared list; report the ones won."""

    async def claim() -> list[str]:
        backend = SqliteStateBackend(Path(path))
        await backend.start()
        try:
            barrier.wait(timeout=60)
            return [
                key
                for key in (f"key{i}" for i in range(KEYS_PER_PROCESS))
                if await backend.put_if_absent(key, b"x", 600)
            ]
        finally:
            await backend.close()

    results.put(asyncio.run(claim()))


def test_two_processes_on_one_file_never_both_claim_a_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results: multiprocessing.Queue[list[str]] = context.Queue()
    path = str(tmp_path / "shared.sqlite")
    processes = [context.Process(target=claim_keys, args=(path, barrier, results)) for _ in range(2)]
    for process in processes:
        process.start()
    try:
        won = [results.get(timeout=90) for _ in processes]
    except queue.Empty:
        pytest.fail("a claiming process did not report within 90 s")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0, 0]
    first, second = set(won[0]), set(won[1])
    assert not first & second
    assert first | second == {f"key{i}" for i in range(KEYS_PER_PROCESS)}


async def test_writes_waiting_together_commit_together_and_a_failing_one_undoes_only_itself(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    backend = SqliteStateBackend(path)
    await backend.start()
    await backend.put("counter", b"not a number")
    entered, gate = threading.Event(), threading.Event()

    def hold() -> None:  # keeps the state thread busy, so the writes below queue up as one batch
        entered.set()
        gate.wait()

    held = asyncio.ensure_future(backend._run(hold))
    await async_wait_until(entered.is_set, 30, "the state thread held")
    writes = [
        backend.put("a", b"1"),
        backend.incr("counter"),  # fails: the value is not a number
        backend.put("b", b"2", ttl_s=60),
        backend.put_if_absent("a", b"other"),
    ]
    pending = [asyncio.ensure_future(w) for w in writes]
    thread = backend._thread
    assert thread is not None
    await async_wait_until(
        lambda: thread._calls.qsize() == len(writes), 30, "the writes queued behind the gate"
    )
    gate.set()
    await held
    put_a, incr, put_b, absent = await asyncio.gather(*pending, return_exceptions=True)
    assert put_a is None and put_b is None and absent is False
    assert isinstance(incr, StateUnavailable | ValueError), incr
    # committed once each await returned: another connection sees them
    other = sqlite3.connect(path)
    assert dict(other.execute("SELECT key, value FROM kv WHERE key IN ('a', 'b', 'counter')")) == {
        "a": b"1",
        "b": b"2",
        "counter": b"not a number",
    }
    other.close()
    await backend.close()
