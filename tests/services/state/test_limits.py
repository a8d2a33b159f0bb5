"""RateLimiter over a state backend: shared by instances, kept across restarts (SQLite and redis-server)."""

from __future__ import annotations

import asyncio

import pytest

from sensebutler.services.state import StateBackend
from sensebutler.services.state.limits import RateLimiter
from tests.fixtures.net import async_poll
from tests.fixtures.state import StateStore


async def test_up_to_max_count_then_limited_with_the_wait(backend: StateBackend) -> None:
    limiter = RateLimiter(backend, "email", window_s=60, max_count=3)
    assert [await limiter.allow("dest|task|failed") for _ in range(3)] == [True, True, True]
    wait = await limiter.acquire("dest|task|failed")
    assert 0 < wait <= 20  # one slot every 60 / 3 s
    assert await limiter.allow("dest|task|aborted") is True  # another key has its own budget
    assert limiter.counts == {"allowed": 4, "limited": 1}


async def test_one_per_window_is_butlers_rate_limit(backend: StateBackend) -> None:
    limiter = RateLimiter(backend, "slack", window_s=300, max_count=1)
    assert await limiter.allow("k") is True
    wait = await limiter.acquire("k")
    assert 200 < wait <= 300


async def test_the_limit_survives_a_restart(state_store: StateStore) -> None:
    before = RateLimiter(await state_store.open(), "email", 60, 2)
    assert await before.allow("k") and await before.allow("k")
    await before.backend.close()

    after = RateLimiter(await state_store.open(), "email", 60, 2)
    assert await after.allow("k") is False


async def test_two_instances_share_one_budget(state_store: StateStore) -> None:
    one = RateLimiter(await state_store.open(), "webhook", 60, 5)
    two = RateLimiter(await state_store.open(), "webhook", 60, 5)
    results = await asyncio.gather(*(limiter.allow("k") for limiter in [one, two] * 15))
    assert sum(results) == 5


async def test_a_slot_frees_up_after_window_over_max_count(backend: StateBackend) -> None:
    # (slots far apart enough that the calls before the wait surely fall into one interval)
    limiter = RateLimiter(backend, "teams", window_s=3, max_count=2)
    assert await limiter.allow("k") and await limiter.allow("k")
    assert await limiter.allow("k") is False
    await async_poll(lambda: limiter.allow("k"), bool, 15, "a free slot", 0.05)


@pytest.mark.parametrize(("window", "count"), [(0, 1), (-5, 1), (60, 0), (60, 1.5), (60, True)])
async def test_bad_settings_are_value_errors(backend: StateBackend, window: float, count: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(backend, "x", window, count)
