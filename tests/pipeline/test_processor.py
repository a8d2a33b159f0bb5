"""The processor stage: bounded queue, async work, publish back on the router, counters."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import ClassVar

import pytest

from sensebutler.events import Event
from sensebutler.pipeline.processor import Processor
from sensebutler.pipeline.router import Router
from tests.fixtures.net import async_wait_until
from tests.pipeline.collect import CollectingSink


class Ping(Event, frozen=True, kw_only=True):
    kind: ClassVar[str] = "ping"
    n: int


class Pong(Event, frozen=True, kw_only=True):
    kind: ClassVar[str] = "pong"
    n: int


class Echo(Processor):
    """Answers each ping with a pong after awaiting a gate; n < 0 raises."""

    name = "echo"
    kinds = frozenset({"ping"})
    emits = frozenset({"pong"})

    def __init__(self, router: Router, **options: object) -> None:
        super().__init__(router.publish, **options)  # type: ignore[arg-type]
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = 0

    async def process(self, event: Event) -> Iterable[Event]:
        assert isinstance(event, Ping)
        self.started += 1
        await self.gate.wait()
        if event.n < 0:
            raise RuntimeError("bad ping")
        return [Pong(n=event.n)]


def wire(**options: object) -> tuple[Router, Echo, CollectingSink]:
    router = Router()
    echo = Echo(router, **options)
    sink = CollectingSink({"pong"})
    router.add(echo)
    router.add(sink)
    return router, echo, sink


async def test_events_are_processed_and_what_is_made_is_published() -> None:
    router, echo, sink = wire(workers=2)
    await echo.start()
    for n in range(50):
        router.publish(Ping(n=n))
    pongs = await sink.wait_for(50, "pong")
    assert sorted(p.n for p in pongs if isinstance(p, Pong)) == list(range(50))
    await echo.stop()
    assert (echo.stats.received, echo.stats.processed, echo.stats.emitted) == (50, 50, 50)
    assert router.processors == [echo] and router.sinks == [sink]


async def test_a_full_queue_drops_and_counts_without_blocking_the_source() -> None:
    router, echo, sink = wire(queue_size=3)
    echo.gate.clear()  # the worker holds one event; three wait; the rest do not fit
    await echo.start()
    router.publish(Ping(n=0))
    await async_wait_until(lambda: echo.started == 1, 10, "the first event in process")
    for n in range(1, 10):
        router.publish(Ping(n=n))
    assert echo.stats.dropped["queue_full"] == 6
    assert echo.stats.queued == 3
    echo.gate.set()
    await sink.wait_for(4, "pong")
    await echo.stop()
    stats = echo.stats
    assert stats.received == stats.processed + sum(stats.dropped.values()) == 10


async def test_a_failing_event_is_counted_and_the_next_one_still_goes_through() -> None:
    router, echo, sink = wire()
    await echo.start()
    router.publish(Ping(n=-1))
    router.publish(Ping(n=7))
    (pong,) = await sink.wait_for(1, "pong")
    assert isinstance(pong, Pong) and pong.n == 7
    await echo.stop()
    assert (echo.stats.failed, echo.stats.processed) == (1, 1)


async def test_stop_finishes_the_queue_within_its_timeout_and_counts_the_rest() -> None:
    router, echo, sink = wire(shutdown_timeout_s=0.2)
    echo.gate.clear()
    await echo.start()
    for n in range(5):
        router.publish(Ping(n=n))
    await async_wait_until(lambda: echo.started == 1, 10, "the first event in process")
    await echo.stop()  # the gate never opens: nothing can finish
    assert echo.stats.dropped["shutdown"] == 5
    router.publish(Ping(n=9))  # after stop: refused, counted
    assert echo.stats.dropped["shutdown"] == 6
    assert sink.events == []


async def test_a_dead_worker_is_restarted_at_once() -> None:
    router, echo, sink = wire()
    await echo.start()
    echo._tasks[0].cancel()  # cancelling is not death: not restarted
    await async_wait_until(lambda: echo._tasks[0].done(), 10, "the cancelled worker")
    assert echo.stats.restarts == 0

    async def crash() -> None:
        raise RuntimeError("worker bug")

    echo._tasks[0] = task = asyncio.create_task(crash())
    task.add_done_callback(lambda done: echo._supervise(0, done))
    await async_wait_until(lambda: echo.stats.restarts == 1, 10, "the restart")
    router.publish(Ping(n=3))
    await sink.wait_for(1, "pong")
    await echo.stop()


def test_a_processor_cannot_take_what_it_emits() -> None:
    class Loop(Echo):
        name = "loop"
        emits = frozenset({"ping"})

    with pytest.raises(ValueError, match="would take back what it emits: ping"):
        Loop(Router())
