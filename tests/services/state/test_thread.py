"""CallThread: calls run in submission order off the loop; results and errors reach their callers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sensebutler.services.state.thread import CallThread, ClosedError


async def test_calls_run_in_order_on_one_other_thread() -> None:
    thread = CallThread("test-calls")
    ran: list[tuple[int, str]] = []

    def record(i: int) -> int:
        ran.append((i, threading.current_thread().name))
        return i * 2

    results = await asyncio.gather(*(thread.call(lambda i=i: record(i)) for i in range(200)))
    thread.close()
    assert results == [i * 2 for i in range(200)]
    assert [i for i, _ in ran] == list(range(200))
    assert {name for _, name in ran} == {"test-calls"}


async def test_an_error_reaches_only_its_caller() -> None:
    thread = CallThread("test-errors")

    def fail() -> None:
        raise ValueError("bad input")

    before, failed, after = await asyncio.gather(
        thread.call(lambda: 1), thread.call(fail), thread.call(lambda: 3), return_exceptions=True
    )
    assert (before, after) == (1, 3)
    assert isinstance(failed, ValueError)
    thread.close()
    with pytest.raises(ClosedError):
        thread.call(lambda: None)
