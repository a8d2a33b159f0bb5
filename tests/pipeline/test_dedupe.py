"""Dedupe over a state backend (SQLite and redis-server), and the in-process MemoryDedupe."""

from __future__ import annotations

import asyncio

import pytest

from sensebutler.pipeline.dedupe import Dedupe, MemoryDedupe
from sensebutler.services.state import StateBackend
from tests.fixtures.net import async_poll
from tests.fixtures.state import StateStore


async def test_claim_once_release_and_claim_again(backend: StateBackend) -> None:
    dedupe = Dedupe(backend, "task", ttl_s=60)
    assert await dedupe.claim("exec-1") is True
    assert await dedupe.claim("exec-1") is False
    assert await dedupe.claim("exec-2") is True
    await dedupe.release("exec-1")
    assert await dedupe.claim("exec-1") is True
    assert await backend.keys("dedupe:task:") == ["dedupe:task:exec-1", "dedupe:task:exec-2"]


async def test_namespaces_do_not_share_claims(backend: StateBackend) -> None:
    assert await Dedupe(backend, "task", 60).claim("x") is True
    assert await Dedupe(backend, "alert", 60).claim("x") is True


async def test_a_claim_is_forgotten_after_its_ttl(backend: StateBackend) -> None:
    dedupe = Dedupe(backend, "task", ttl_s=0.2)
    assert await dedupe.claim("exec") is True
    await async_poll(lambda: dedupe.claim("exec"), bool, 15, "the claim to expire", 0.05)


async def test_claims_survive_a_restart_and_are_shared_by_two_instances(state_store: StateStore) -> None:
    before = Dedupe(await state_store.open(), "task", 600)
    assert await before.claim("exec") is True
    await before.backend.close()

    one = Dedupe(await state_store.open(), "task", 600)
    two = Dedupe(await state_store.open(), "task", 600)
    assert await one.claim("exec") is False
    results = await asyncio.gather(*(d.claim("burst") for d in [one, two] * 10))
    assert sum(results) == 1


@pytest.mark.parametrize(("namespace", "ttl"), [("", 60), ("task", 0), ("task", None)])
async def test_bad_settings_are_value_errors(backend: StateBackend, namespace: str, ttl: float) -> None:
    with pytest.raises(ValueError):
        Dedupe(backend, namespace, ttl)


def test_memory_dedupe_claims_expire_and_stay_bounded() -> None:
    dedupe = MemoryDedupe(ttl_s=10, max_keys=2)
    assert dedupe.claim("a", now=0) is True
    assert dedupe.claim("a", now=5) is False
    assert dedupe.claim("a", now=10) is True  # expired
    dedupe.claim("b", now=11)
    dedupe.claim("c", now=12)
    assert len(dedupe) == 2
    dedupe.release("c")
    assert dedupe.claim("c", now=13) is True
