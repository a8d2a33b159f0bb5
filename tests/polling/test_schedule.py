"""The scheduler with in-test poll jobs: first poll at start, overlap, timeouts, failures, isolation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from sensebutler.events import Event
from sensebutler.events.polled import PollFailed, ServerRef
from sensebutler.qlik.errors import QlikError
from sensebutler.sources.polling.schedule import INTERNAL_ERROR, PollJob, PollScheduler
from tests.polling.support import Collector, router_with


class Marker(Event):
    kind = "health"


class Job(PollJob):
    """A poll target whose poll runs ``behaviour``."""

    kind = "health"

    def __init__(
        self,
        name: str,
        behaviour: Callable[[], Awaitable[Sequence[Event]]],
        interval_s: float,
        timeout_s: float,
    ) -> None:
        self.target = f"health:{name}"
        self.server = ServerRef(name=name, host=f"{name}.example", tags=(("site", "lab"),))
        self.address = f"{name}.example:4747"
        self.path = "/engine/healthcheck"
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.jitter_s = 0.0
        self.behaviour = behaviour
        self.started = 0

    async def poll(self) -> Sequence[Event]:
        self.started += 1
        return await self.behaviour()


async def answer() -> Sequence[Event]:
    return (Marker(),)


async def hang() -> Sequence[Event]:
    await asyncio.sleep(3600)
    return ()


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    yield Collector()


async def run(jobs: list[Job], collector: Collector) -> PollScheduler:
    scheduler = PollScheduler(jobs, router_with(collector))
    await scheduler.start()
    return scheduler


async def test_first_poll_happens_at_start(collector: Collector) -> None:
    job = Job("a", answer, interval_s=3600, timeout_s=5)
    scheduler = await run([job], collector)
    try:
        await collector.wait_for(
            lambda: len(collector.of(Marker)) == 1, "a first poll long before the interval"
        )
    finally:
        await scheduler.stop()
    assert scheduler.counters()["health:a"].polls == 1


async def test_overlapping_poll_is_skipped_and_counted(collector: Collector) -> None:
    job = Job("slow", hang, interval_s=0.05, timeout_s=60)
    scheduler = await run([job], collector)
    try:
        await collector.wait_for(lambda: scheduler.stats["health:slow"].skipped_overlap >= 3, "skipped ticks")
    finally:
        await scheduler.stop()
    counters = scheduler.counters()["health:slow"]
    assert job.started == 1
    assert counters.polls == 1
    assert counters.failures == 0


async def test_timeout_is_a_counted_failure_with_an_event(collector: Collector) -> None:
    job = Job("slow", hang, interval_s=3600, timeout_s=0.1)
    scheduler = await run([job], collector)
    try:
        await collector.wait_for(lambda: bool(collector.of(PollFailed)), "a PollFailed event")
    finally:
        await scheduler.stop()
    failed = collector.of(PollFailed)[0]
    assert failed.category == "timeout"
    assert failed.target == "health"
    assert failed.server == job.server
    assert failed.url == "https://slow.example:4747/engine/healthcheck"
    assert failed.message == "GET /engine/healthcheck on slow.example:4747: no answer within 0.1 s (timeout)"
    assert failed.duration_ms >= 100
    counters = scheduler.counters()["health:slow"]
    assert (counters.polls, counters.failures) == (1, 1)
    assert counters.last_ms == counters.max_ms == failed.duration_ms


async def test_qlik_error_becomes_poll_failed(collector: Collector) -> None:
    async def refuse() -> Sequence[Event]:
        raise QlikError("http_5xx", "b.example:4747", "GET /engine/healthcheck", "HTTP 503", status=503)

    scheduler = await run([Job("b", refuse, interval_s=3600, timeout_s=5)], collector)
    try:
        await collector.wait_for(lambda: bool(collector.of(PollFailed)), "a PollFailed event")
    finally:
        await scheduler.stop()
    failed = collector.of(PollFailed)[0]
    assert (failed.category, failed.http_status) == ("http_5xx", 503)
    assert "HTTP 503" in failed.message


async def test_unexpected_exception_is_counted_and_polling_goes_on(collector: Collector) -> None:
    calls = 0

    async def flaky() -> Sequence[Event]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("surprise")
        return (Marker(),)

    scheduler = await run([Job("c", flaky, interval_s=0.05, timeout_s=5)], collector)
    try:
        await collector.wait_for(lambda: bool(collector.of(Marker)), "a poll after the failing one")
    finally:
        await scheduler.stop()
    failed = collector.of(PollFailed)[0]
    assert failed.category == INTERNAL_ERROR
    assert "KeyError" in failed.message
    assert scheduler.counters()["health:c"].failures == 1


async def test_a_hanging_target_does_not_hold_back_the_others(collector: Collector) -> None:
    jobs = [
        Job("hung", hang, interval_s=0.05, timeout_s=60),
        Job("fine", answer, interval_s=0.05, timeout_s=5),
    ]
    scheduler = await run(jobs, collector)
    try:
        await collector.wait_for(lambda: len(collector.of(Marker)) >= 5, "five polls of the healthy target")
    finally:
        await scheduler.stop()
    assert jobs[0].started == 1


async def test_stop_cancels_polls_in_flight(collector: Collector) -> None:
    job = Job("hung", hang, interval_s=3600, timeout_s=3600)
    scheduler = await run([job], collector)
    await collector.wait_for(lambda: job.started == 1, "the poll to start")
    await asyncio.wait_for(scheduler.stop(), 5)
    assert not collector.of(PollFailed)
