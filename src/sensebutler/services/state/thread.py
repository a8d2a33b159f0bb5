"""One thread that runs blocking calls in submission order and hands results back in batches.

Like a single-worker ``ThreadPoolExecutor``, but the thread takes every call that is waiting, runs
them one after another and wakes the event loop once for the whole batch. Under many concurrent
callers that saves a loop wake-up (a self-pipe write) and a thread hand-off per call, which is most
of what a small SQLite statement costs. ``batch`` hooks (begin, end) run around a batch of several
calls (the SQLite backend commits a batch of writes once); when ``end`` raises, every call of the
batch gets its exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]
_Outcome = tuple["asyncio.Future[Any]", bool, Any]


class ClosedError(RuntimeError):
    """A call was submitted after :meth:`CallThread.close`."""


def _settle(outcomes: list[_Outcome]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


Hooks = tuple[Callable[[], bool], Callable[[], None]]


class CallThread:
    def __init__(self, name: str, *, batch: Hooks | None = None) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._batch = batch
        self._closed = False
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``fn`` on the thread after everything submitted before; await the returned future."""
        if self._closed:
            raise ClosedError("the call thread is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((fn, future, loop))
        return future

    def close(self) -> None:
        """Run what was submitted, then end the thread (it does not wait)."""
        if not self._closed:
            self._closed = True
            self._calls.put(None)

    def _main(self) -> None:
        while True:
            batch = [self._calls.get()]
            while True:
                try:
                    batch.append(self._calls.get_nowait())
                except queue.Empty:
                    break
            calls = [item for item in batch if item is not None]
            stop = len(calls) < len(batch)
            opened = self._batch is not None and len(calls) > 1 and self._batch[0]()
            results: list[tuple[asyncio.AbstractEventLoop, _Outcome]] = []
            for fn, future, loop in calls:
                try:
                    results.append((loop, (future, True, fn())))
                except BaseException as exc:  # handed to the awaiting caller
                    results.append((loop, (future, False, exc)))
            if opened and self._batch is not None:
                try:
                    self._batch[1]()
                except BaseException as exc:  # nothing of the batch was kept
                    results = [(loop, (future, False, exc)) for loop, (future, _, _) in results]
            by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
            for loop, outcome in results:
                by_loop.setdefault(loop, []).append(outcome)
            for loop, outcomes in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(_settle, outcomes)
            if stop:
                return
