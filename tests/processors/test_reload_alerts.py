"""The reload-alert processor: task events handled once per execution, on the shared state backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sensebutler.config import Config
from sensebutler.pipeline.router import Router
from sensebutler.processors.reload_alerts import ReloadAlertEnricher, build
from sensebutler.runtime import Runtime
from sensebutler.sources.udp import parse_task_datagram
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import RedisServer, unique_name


def datagram(execution_id: str) -> bytes:
    return (
        "/scheduler-task-failed/;QLIKSERVER1;Reload of Sales;Sales;INTERNAL\\sa_scheduler;"
        "dec2a02a-1680-44ef-8dc2-e2bfb180af87;4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11;"
        f"2024-01-05 10:22:11,123;ERROR;{execution_id};Max retries reached"
    ).encode()


EXECUTION = "4831c6a5-34f6-45bb-9d40-73a6e6992670"
Instance = Callable[[], Any]


@pytest.fixture(params=["sqlite", "redis"])
async def instance(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Instance]:
    """Makes started enrichers as separate instances would be: same state store, own runtime."""
    state: dict[str, Any] = {"dir": str(tmp_path)}
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        state.update(backend="redis", redis_url=server.url, redis_prefix=unique_name("sb") + ":")
    config = Config.model_validate({"state": state, "udp": {"task_events": {"enable": True}}})
    made: list[tuple[Runtime, ReloadAlertEnricher]] = []

    async def make() -> ReloadAlertEnricher:
        runtime = Runtime(config, Router(), tmp_path)
        (enricher,) = build(runtime)
        assert isinstance(enricher, ReloadAlertEnricher)
        runtime.router.add(enricher)
        for service in runtime.services:
            await service.start()
        await enricher.start()
        made.append((runtime, enricher))
        return enricher

    yield make
    for runtime, enricher in made:
        await enricher.stop()
        for service in reversed(runtime.services):
            await service.stop()


async def handled(enricher: ReloadAlertEnricher, total: int) -> None:
    stats = enricher.stats
    await async_wait_until(
        lambda: stats.processed + sum(stats.dropped.values()) + stats.failed >= total,
        20,
        "task events handled",
    )


async def test_a_repeated_execution_is_handled_once(instance: Instance) -> None:
    enricher = await instance()
    for execution in (EXECUTION, EXECUTION, "5831c6a5-34f6-45bb-9d40-73a6e6992670"):
        enricher.submit(parse_task_datagram(datagram(execution), 0))
    await handled(enricher, 3)
    assert enricher.stats.processed == 2
    assert enricher.stats.dropped["duplicate"] == 1


async def test_the_claim_survives_a_restart_and_is_shared_by_instances(instance: Instance) -> None:
    first = await instance()
    first.submit(parse_task_datagram(datagram(EXECUTION), 0))
    await handled(first, 1)
    await first.stop()
    second = await instance()  # restarted, or another instance on the same store
    second.submit(parse_task_datagram(datagram(EXECUTION), 0))
    await handled(second, 1)
    assert (first.stats.processed, second.stats.dropped["duplicate"]) == (1, 1)
