"""The StateBackend contract, every case on SQLite and on a real redis-server.

Expiry is awaited as a condition with a generous deadline, never as a fixed sleep.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from sensebutler.services.state import RedisStateBackend, SqliteStateBackend, StateBackend, StateUnavailable
from tests.fixtures.net import async_poll, free_tcp_port
from tests.fixtures.state import StateStore

DEADLINE_S = 15.0


async def expired(backend: StateBackend, key: str) -> None:
    await async_poll(
        lambda: backend.get(key), lambda value: value is None, DEADLINE_S, f"{key} to expire", 0.05
    )


# -------------------------------------------------------------------------------------------- values


async def test_get_put_overwrite_delete(backend: StateBackend) -> None:
    assert await backend.get("k") is None
    await backend.put("k", b"one")
    assert await backend.get("k") == b"one"
    await backend.put("k", b"\x00\xffbinary")
    assert await backend.get("k") == b"\x00\xffbinary"
    await backend.put("empty", b"")
    assert await backend.get("empty") == b""
    assert await backend.delete("k") is True
    assert await backend.delete("k") is False
    assert await backend.get("k") is None


async def test_get_many_answers_in_order_with_none_for_missing_and_expired(backend: StateBackend) -> None:
    await backend.put("a", b"1")
    await backend.put("b", b"2")
    await backend.put("short", b"3", ttl_s=0.2)
    await expired(backend, "short")
    assert await backend.get_many(["b", "missing", "a", "short", "a"]) == [b"2", None, b"1", None, b"1"]
    assert await backend.get_many([]) == []
    with pytest.raises(ValueError, match="key"):
        await backend.get_many(["a", ""])


async def test_value_expires_and_is_then_absent_everywhere(backend: StateBackend) -> None:
    await backend.put("short", b"v", ttl_s=0.2)
    await backend.put("stays", b"v")
    await expired(backend, "short")
    assert await backend.ttl("short") is None
    assert await backend.keys("s") == ["stays"]
    assert await backend.delete("short") is False
    assert await backend.put_if_absent("short", b"again", ttl_s=60) is True
    assert await backend.get("short") == b"again"


async def test_ttl_reports_remaining_seconds_or_none(backend: StateBackend) -> None:
    await backend.put("timed", b"v", ttl_s=30)
    await backend.put("forever", b"v")
    remaining = await backend.ttl("timed")
    assert remaining is not None and 0 < remaining <= 30
    assert await backend.ttl("forever") is None
    assert await backend.ttl("missing") is None


async def test_overwrite_resets_the_ttl(backend: StateBackend) -> None:
    await backend.put("longer", b"1", ttl_s=0.2)
    await backend.put("longer", b"2", ttl_s=60)
    remaining = await backend.ttl("longer")
    assert remaining is not None and remaining > 1

    await backend.put("cleared", b"1", ttl_s=0.2)
    await backend.put("cleared", b"2")
    assert await backend.ttl("cleared") is None
    await backend.put("witness", b"w", ttl_s=0.2)  # expires at the same time as the first TTL would
    await expired(backend, "witness")
    assert await backend.get("cleared") == b"2"


async def test_put_if_absent_has_exactly_one_winner_among_50(backend: StateBackend) -> None:
    results = await asyncio.gather(*(backend.put_if_absent("claim", str(i).encode(), 60) for i in range(50)))
    winners = [i for i, won in enumerate(results) if won]
    assert len(winners) == 1
    assert await backend.get("claim") == str(winners[0]).encode()
    assert await backend.put_if_absent("claim", b"late", 60) is False


async def test_put_if_absent_without_ttl_keeps_the_key(backend: StateBackend) -> None:
    assert await backend.put_if_absent("k", b"v") is True
    assert await backend.ttl("k") is None
    assert await backend.get("k") == b"v"


async def test_keys_by_prefix_sorted_and_literal(backend: StateBackend) -> None:
    for key in ["a:2", "a:1", "b:1", "a", "a*[x]?:1", "aa:1", "ä:1"]:
        await backend.put(key, b"v")
    await backend.put("a:gone", b"v", ttl_s=0.2)
    await expired(backend, "a:gone")
    assert await backend.keys("a:") == ["a:1", "a:2"]
    assert await backend.keys("a*[x]?") == ["a*[x]?:1"]  # glob characters are literal
    assert await backend.keys("ä") == ["ä:1"]
    assert await backend.keys("zz") == []
    assert await backend.keys() == sorted(["a:2", "a:1", "b:1", "a", "a*[x]?:1", "aa:1", "ä:1"])


# ------------------------------------------------------------------------------------------ counters


async def test_incr_counts_from_zero_and_steps(backend: StateBackend) -> None:
    assert await backend.incr("c") == 1
    assert await backend.incr("c", 5) == 6
    assert await backend.incr("c", -10) == -4
    assert await backend.get("c") == b"-4"
    await backend.put("n", b"41")
    assert await backend.incr("n") == 42


async def test_incr_is_atomic_under_50_concurrent_callers(backend: StateBackend) -> None:
    results = await asyncio.gather(*(backend.incr("hits", ttl_s=60) for _ in range(50)))
    assert sorted(results) == list(range(1, 51))
    assert await backend.get("hits") == b"50"


async def test_incr_ttl_applies_when_the_counter_is_created(backend: StateBackend) -> None:
    await backend.incr("window", ttl_s=60)
    await backend.incr("window", ttl_s=0.2)  # existing counter: its expiry stays
    remaining = await backend.ttl("window")
    assert remaining is not None and remaining > 1

    await backend.incr("brief", ttl_s=0.2)
    await expired(backend, "brief")
    assert await backend.incr("brief") == 1  # an expired counter starts again
    assert await backend.ttl("brief") is None


async def test_incr_on_a_non_integer_is_a_value_error(backend: StateBackend) -> None:
    await backend.put("text", b"hello")
    with pytest.raises(ValueError, match="integer"):
        await backend.incr("text")
    assert await backend.get("text") == b"hello"


# -------------------------------------------------------------------------------------------- leases


async def test_lease_acquire_renew_and_refuse(backend: StateBackend) -> None:
    assert await backend.lease("leader", "a", 30) is True
    assert await backend.lease("leader", "b", 30) is False
    assert await backend.lease("leader", "a", 60) is True  # renewal extends
    remaining = await backend.ttl("leader")
    assert remaining is not None and remaining > 30
    assert await backend.get("leader") == b"a"
    assert await backend.release_lease("leader", "b") is False
    assert await backend.release_lease("leader", "a") is True
    assert await backend.lease("leader", "b", 30) is True


async def test_lease_is_taken_over_after_it_expires(backend: StateBackend) -> None:
    assert await backend.lease("leader", "a", 0.2) is True
    await async_poll(lambda: backend.lease("leader", "b", 30), bool, DEADLINE_S, "b to take the lease", 0.05)
    assert await backend.lease("leader", "a", 30) is False
    assert await backend.release_lease("leader", "a") is False
    assert await backend.get("leader") == b"b"


async def test_only_one_of_many_contenders_gets_a_free_lease(backend: StateBackend) -> None:
    results = await asyncio.gather(*(backend.lease("lock", f"owner{i}", 30) for i in range(20)))
    assert sum(results) == 1


# ---------------------------------------------------------------------------------------------- sets


async def test_sets_add_remove_members(backend: StateBackend) -> None:
    assert await backend.set_members("ns") == set()
    assert await backend.set_add("ns", "one") is True
    assert await backend.set_add("ns", "one") is False
    assert await backend.set_add("ns", "twö") is True
    assert await backend.set_members("ns") == {"one", "twö"}
    assert await backend.set_remove("ns", "one") is True
    assert await backend.set_remove("ns", "one") is False
    assert await backend.set_members("ns") == {"twö"}


async def test_sets_and_values_are_separate_key_spaces(backend: StateBackend) -> None:
    await backend.put("shared", b"value")
    await backend.set_add("shared", "member")
    assert await backend.get("shared") == b"value"
    assert await backend.set_members("shared") == {"member"}
    await backend.set_add("only-a-set", "m")
    assert await backend.keys() == ["shared"]


# ------------------------------------------------------------------------------------------ throttle


async def test_throttle_allows_the_burst_then_says_how_long_to_wait(backend: StateBackend) -> None:
    assert [await backend.throttle("t", 20, 40) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await backend.throttle("t", 20, 40)
    assert 0 < wait <= 20
    assert await backend.throttle("other", 20, 40) == 0.0


async def test_throttle_recovers_after_the_interval(backend: StateBackend) -> None:
    assert await backend.throttle("t", 1.5) == 0.0
    assert await backend.throttle("t", 1.5) > 0  # (1.5 s: surely before the slot frees up)
    await async_poll(
        lambda: backend.throttle("t", 1.5), lambda wait: wait == 0, DEADLINE_S, "a free slot", 0.05
    )


# ------------------------------------------------------------------------------ instances, restarts


async def test_state_survives_close_and_reopen(state_store: StateStore) -> None:
    first = await state_store.open()
    await first.put("kept", b"v", ttl_s=300)
    await first.incr("counter", 7)
    await first.set_add("set", "m")
    assert await first.lease("leader", "a", 300)
    await first.close()
    with pytest.raises(StateUnavailable, match="closed"):
        await first.get("kept")

    second = await state_store.open()
    assert await second.get("kept") == b"v"
    remaining = await second.ttl("kept")
    assert remaining is not None and 200 < remaining <= 300
    assert await second.incr("counter") == 8
    assert await second.set_members("set") == {"m"}
    assert await second.lease("leader", "b", 30) is False


async def test_two_instances_share_claims_counters_and_leases(state_store: StateStore) -> None:
    one, two = await state_store.open(), await state_store.open()
    claims = await asyncio.gather(
        *(backend.put_if_absent("claim", b"x", 60) for backend in [one, two] * 25),
    )
    assert sum(claims) == 1
    counts = await asyncio.gather(*(backend.incr("n") for backend in [one, two] * 20))
    assert sorted(counts) == list(range(1, 41))
    assert await one.lease("leader", "one", 30) is True
    assert await two.lease("leader", "two", 30) is False
    await two.put("from-two", b"2")
    assert await one.get("from-two") == b"2"


async def test_calls_before_start_are_unavailable(state_store: StateStore) -> None:
    backend = state_store.make()
    with pytest.raises(StateUnavailable, match="not started"):
        await backend.get("k")


# --------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("ttl", [0, -1, math.nan, math.inf, "5"])
async def test_bad_ttl_is_a_value_error(backend: StateBackend, ttl: object) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        await backend.put("k", b"v", ttl_s=ttl)  # type: ignore[arg-type]
    assert await backend.get("k") is None


async def test_bad_keys_and_values_are_value_errors(backend: StateBackend) -> None:
    with pytest.raises(ValueError, match="key"):
        await backend.get("")
    with pytest.raises(ValueError, match="bytes"):
        await backend.put("k", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="integer"):
        await backend.incr("k", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="owner"):
        await backend.lease("leader", "", 10)
    with pytest.raises(ValueError, match="member"):
        await backend.set_add("s", "")


# ------------------------------------------------------------------------------------- unreachable


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_unreachable_backend_fails_start_with_state_unavailable(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where the state directory should be")
        backend: StateBackend = SqliteStateBackend(blocker / "state.sqlite")
        where = str(blocker)
    else:
        backend = RedisStateBackend(f"redis://user:s3cret@127.0.0.1:{free_tcp_port()}/0")
        where = "redis://user:***@127.0.0.1:"
    with pytest.raises(StateUnavailable) as info:
        await backend.start()
    message = str(info.value)
    assert where in message and "unavailable" in message
    assert "s3cret" not in message
    with pytest.raises(StateUnavailable, match="not started"):
        await backend.put("k", b"v")
    await backend.close()
