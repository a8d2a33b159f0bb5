"""The composition root: the feature registry, start/stop order, shared services."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from sensebutler import app
from sensebutler.config import Config
from sensebutler.runtime import Runtime
from tests import jsonl_destination
from tests.sinks.output_events import health, server


async def test_a_new_destination_is_one_module_added_to_the_registry(tmp_path: Path) -> None:
    config = Config.model_validate({"state": {"dir": str(tmp_path)}, "self_metrics": {"enable": False}})
    stop = asyncio.Event()

    async def publish(runtime: Runtime) -> None:
        assert [sink.name for sink in runtime.router.sinks] == [
            "jsonl",
            "store",
        ]  # the embedded store is on by default
        for n in range(3):
            runtime.router.publish(health(server(), time_ns=n))
        stop.set()

    await app.run(config, stop, ready=publish, features=(jsonl_destination.build, *app.FEATURES))
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == [{"kind": "health", "time_ns": n} for n in range(3)]


async def test_services_start_first_and_stop_last(tmp_path: Path) -> None:
    """The Qlik client is made by the first feature that asks, and closed after every feature stopped."""
    config = Config.model_validate({"state": {"dir": str(tmp_path)}, "self_metrics": {"enable": False}})
    order: list[str] = []

    class Probe:
        def __init__(self, name: str) -> None:
            self.name = name

        async def start(self) -> None:
            order.append(f"start {self.name}")

        async def stop(self) -> None:
            order.append(f"stop {self.name}")

    def feature(runtime: Runtime) -> list[Probe]:
        runtime.services.append(Probe("service"))
        assert runtime.qlik is runtime.qlik  # one client, however many features ask
        return [Probe("a"), Probe("b")]

    stop = asyncio.Event()

    async def ready(runtime: Runtime) -> None:
        assert [s.name for s in runtime.services] == ["service", "qlik client"]
        stop.set()

    await app.run(config, stop, ready=ready, features=(feature,))
    assert order == ["start service", "start a", "start b", "stop b", "stop a", "stop service"]
