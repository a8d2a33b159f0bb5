"""Two sensebutler processes on one redis-server: one KV store, and each schedule fires once per
fire time in total, also after the leader is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML

from sensebutler.simulator import Simulator
from tests.api.support import ADMIN_KEY, api_config, eventually
from tests.fixtures.net import free_tcp_port
from tests.fixtures.servers import RedisServer, ServerProcess, unique_name

pytestmark = pytest.mark.slow


def instance(
    name: str, tmp_path: Path, sim: Simulator, redis: RedisServer, prefix: str
) -> tuple[ServerProcess, str]:
    port = free_tcp_port()
    workdir = tmp_path / name
    workdir.mkdir()
    config = api_config(
        workdir,
        sim=sim,
        state={
            "dir": str(workdir / "state"),
            "backend": "redis",
            "redis_url": redis.url,
            "redis_prefix": prefix,
        },
        scheduler={"leader_lease_s": 2},
    )
    config["web"]["listeners"]["main"]["port"] = port
    path = workdir / "config.yaml"
    with path.open("w") as handle:
        YAML().dump(config, handle)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    argv = [sys.executable, "-m", "sensebutler", "run", "-c", str(path)]
    return ServerProcess(f"sensebutler {name}", argv, workdir / "out.log", ready, startup_timeout=60), url


def seconds(history: list[dict[str, Any]]) -> list[float]:
    slots = Counter(r["scheduledFor"] for r in history)
    assert max(slots.values()) == 1, f"a fire time fired twice: {slots}"
    return sorted(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in slots)


def assert_every_second(history: list[dict[str, Any]]) -> None:
    times = seconds(history)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert set(gaps) == {1.0}, f"fire times not one second apart: {gaps}"


async def test_two_instances_share_kv_and_fire_each_schedule_once(
    tmp_path: Path, simulator: Simulator, redis_server: RedisServer
) -> None:
    prefix = unique_name("inst") + ":"
    (a, url_a), (b, url_b) = (instance(n, tmp_path, simulator, redis_server, prefix) for n in ("a", "b"))
    await asyncio.gather(asyncio.to_thread(a.start), asyncio.to_thread(b.start))
    headers = {"X-API-Key": ADMIN_KEY}
    try:
        async with httpx.AsyncClient(headers=headers, trust_env=False, timeout=30) as c:
            # one KV store
            assert (
                await c.post(f"{url_a}/v4/keyvalues/shared", json={"key": "k", "value": "from a"})
            ).status_code == 201
            assert (await c.get(f"{url_b}/v4/keyvalues/shared", params={"key": "k"})).json()[
                "value"
            ] == "from a"
            await c.post(f"{url_b}/v4/keyvalues/shared", json={"key": "k", "value": "from b", "ttl": 60000})
            assert (await c.get(f"{url_a}/v4/keyvalues/shared", params={"key": "k"})).json()[
                "value"
            ] == "from b"

            task = next(t for t in simulator.model.tasks.values() if t.name == "Reload of Sandbox")
            spec = {
                "name": "each second",
                "cronSchedule": "* * * * * *",
                "timezone": "UTC",
                "qlikSenseTaskId": task.id,
                "startupState": "started",
            }
            sid = (await c.post(f"{url_a}/v4/schedules", json=spec)).json()["id"]
            assert [s["id"] for s in (await c.get(f"{url_b}/v4/schedules")).json()] == [sid]

            async def history(url: str, count: int) -> list[dict[str, Any]]:
                runs = (await c.get(f"{url}/v4/schedules/{sid}/history")).json()
                return runs if len(runs) >= count else []

            runs = await eventually(lambda: history(url_b, 10), timeout=60, what="ten runs")
            assert_every_second(runs)
            assert any(r["outcome"] == "started" for r in runs)

            leader_pid = int(runs[-1]["instance"].split(":")[1])
            assert leader_pid in (a.pid, b.pid)
            survivor_url = url_b if leader_pid == a.pid else url_a
            os.kill(leader_pid, signal.SIGKILL)
            killed_at = len(runs)

            after = await eventually(
                lambda: history(survivor_url, killed_at + 8), timeout=60, what="runs after the kill"
            )
            assert_every_second(after)  # none missed, none twice, through the takeover
            instances = {int(r["instance"].split(":")[1]) for r in after}
            assert instances - {leader_pid}, "the survivor never fired"
    finally:
        await asyncio.gather(asyncio.to_thread(a.stop), asyncio.to_thread(b.stop))
