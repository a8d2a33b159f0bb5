"""The engine healthcheck: exact shape, paths, monotonic counters, saturation, consistency with sessions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sensebutler.simulator import Simulator
from tests.simulator.helpers import client

COMPACT = re.compile(r"^\d{8}T\d{6}\.\d{3}[+-]\d{4}$")
COUNTERS = (
    ("apps", "calls"),
    ("apps", "selections"),
    ("cache", "hits"),
    ("cache", "lookups"),
    ("cache", "added"),
    ("cache", "replaced"),
    ("cache", "bytes_added"),
)


async def healthcheck(sim: Simulator, node: int = 0, path: str = "/engine/healthcheck") -> dict[str, Any]:
    async with client(sim) as http:
        response = await http.get(sim.info.nodes[node].engine_url + path)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_shape_and_types(simulator: Simulator) -> None:
    body = await healthcheck(simulator)
    assert set(body) == {"version", "started", "mem", "cpu", "session", "apps", "users", "cache", "saturated"}
    assert COMPACT.match(body["started"])
    assert set(body["mem"]) == {"committed", "allocated", "free", "totalPhysical"}
    assert all(isinstance(value, int | float) for value in body["mem"].values())
    assert isinstance(body["cpu"]["total"], int | float)
    assert set(body["session"]) == {"active", "total"} and set(body["users"]) == {"active", "total"}
    assert set(body["apps"]) == {"active_docs", "in_memory_docs", "loaded_docs", "calls", "selections"}
    assert all(
        isinstance(body["apps"][key], list) for key in ("active_docs", "in_memory_docs", "loaded_docs")
    )
    assert set(body["cache"]) == {"hits", "lookups", "added", "replaced", "bytes_added"}
    assert all(isinstance(value, int) for value in body["cache"].values())
    assert body["saturated"] is False
    assert any(doc.startswith("SessionApp_") for doc in body["apps"]["in_memory_docs"])


@pytest.mark.parametrize(
    "path", ["/engine/healthcheck/", "/healthcheck", "/healthcheck/", "/ENGINE/HealthCheck"]
)
async def test_documented_paths(simulator: Simulator, path: str) -> None:
    assert "started" in await healthcheck(simulator, path=path)


async def test_unknown_path_is_404_and_no_xrfkey_is_needed(simulator: Simulator) -> None:
    async with client(simulator) as http:
        assert (await http.get(simulator.info.nodes[0].engine_url + "/engine/nothing")).status_code == 404
        assert (
            await http.post(simulator.info.nodes[0].engine_url + "/engine/healthcheck")
        ).status_code == 405


async def test_counters_grow_with_use(simulator: Simulator) -> None:
    before = await healthcheck(simulator, node=1)
    await simulator.add_session("Rim1", apps=2)
    after = await healthcheck(simulator, node=1)
    for group, key in COUNTERS:
        assert after[group][key] >= before[group][key]
    assert after["apps"]["calls"] > before["apps"]["calls"]
    assert after["started"] == before["started"]


async def test_sessions_users_and_docs_follow_proxy_sessions(simulator: Simulator) -> None:
    first = await simulator.add_session("Central", user="LAB\\anna", apps=2)
    await simulator.add_session("Central", user="LAB\\anna", apps=1)
    await simulator.add_session("Central", user="LAB\\joe", virtual_proxy="hdr", apps=1)
    body = await healthcheck(simulator)
    assert body["session"] == {"active": 4, "total": 4}
    assert body["users"] == {"active": 2, "total": 2}
    opened = {
        connection.app_id
        for session in simulator.model.proxy_sessions.values()
        for connection in session.connections.values()
    }
    assert set(body["apps"]["loaded_docs"]) == opened == set(body["apps"]["active_docs"])
    assert opened <= set(body["apps"]["in_memory_docs"])
    assert await simulator.remove_session(first.id)
    body = await healthcheck(simulator)
    assert body["session"]["total"] == 2 and body["users"]["total"] == 2
    other = await healthcheck(simulator, node=2)
    assert other["session"]["total"] == 0


async def test_saturated_when_cpu_or_ram_above_ninety_percent(simulator: Simulator) -> None:
    simulator.set_engine_load("Central", cpu=95)
    assert (await healthcheck(simulator))["saturated"] is True
    simulator.set_engine_load("Central", cpu=20, ram=93)
    body = await healthcheck(simulator)
    assert body["saturated"] is True and body["cpu"]["total"] == 20
    assert body["mem"]["free"] < body["mem"]["totalPhysical"] * 0.1
    simulator.set_engine_load("Central")
    assert (await healthcheck(simulator))["saturated"] is False
