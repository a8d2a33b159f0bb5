"""Background activity: over a run, the user-session datagrams, the proxy session lists and the
engine healthchecks tell the same story (checked at several pauses)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

from sensebutler.simulator import Simulator
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.helpers import (
    XRF_HEADERS,
    UdpCollector,
    client,
    compat_patterns,
    parse_datagram,
    udp_collector,
    xrf,
)

SESSION_ID = re.compile(r"session id '([0-9a-f-]{36})'")
CONNECTION = re.compile(r"for session '([0-9a-f-]{36})' to app '([0-9a-f-]{36})'")


def replay(datagrams: list[str], patterns: dict[str, str]) -> dict[str, Any]:
    """What the datagrams say is open: sessions per host, connections per host."""
    sessions: dict[str, dict[str, str]] = {}
    connections: dict[str, Counter[tuple[str, str, str]]] = {}
    for datagram in datagrams:
        prefix = datagram.split(";", 1)[0]
        fields = parse_datagram(patterns[prefix], datagram)
        assert fields, datagram
        host, user = fields["hostname"], f"{fields['UserDirectory']}\\{fields['UserId']}"
        if prefix == "/qseow-proxy-session/":
            match = SESSION_ID.search(fields["message"])
            assert match, datagram
            if fields["Command"] == "Start session":
                sessions.setdefault(host, {})[match.group(1)] = user
            else:
                assert fields["Command"] == "Stop session"
                del sessions[host][match.group(1)]
        else:
            match = CONNECTION.search(fields["message"])
            assert match, datagram
            assert fields["Context"].split("?")[0].endswith(f"/app/{match.group(2)}")
            key = (match.group(1), match.group(2), user)
            delta = 1 if fields["Command"] == "Open connection" else -1
            connections.setdefault(host, Counter())[key] += delta
    return {"sessions": sessions, "connections": connections}


async def settle(sim: Simulator, users: UdpCollector) -> None:
    """Wait until every user datagram the simulator sent has arrived."""
    async with asyncio.timeout(10):
        while len(users.datagrams) < sum(
            sim.udp.stats.sent[k] for k in ("proxy/EventSession", "proxy/EventConnection")
        ):
            await asyncio.sleep(0.02)


async def check(sim: Simulator, users: UdpCollector, patterns: dict[str, str]) -> int:
    story = replay(users.datagrams, patterns)
    open_sessions = 0
    async with client(sim) as http:
        for node in sim.info.nodes:
            host = node.host_name.split(".")[0]
            listed: dict[str, str] = {}
            for prefix in node.virtual_proxies:
                path = f"/qps/{prefix}/session" if prefix else "/qps/session"
                response = await http.get(node.proxy_url + path, params=xrf(), headers=XRF_HEADERS)
                listed.update(
                    {s["SessionId"]: f"{s['UserDirectory']}\\{s['UserId']}" for s in response.json()}
                )
            assert listed == story["sessions"].get(host, {})
            open_sessions += len(listed)

            health = (await http.get(node.engine_url + "/engine/healthcheck")).json()
            # a session may hold several connections to the same app (two browser tabs)
            counts = story["connections"].get(host, Counter())
            assert all(count >= 0 for count in counts.values())
            live = [key for key, count in counts.items() if count > 0]
            assert {session for session, _, _ in live} <= set(listed)
            assert health["session"]["total"] == health["session"]["active"] == sum(counts.values())
            assert health["users"]["total"] == health["users"]["active"] == len({user for _, _, user in live})
            apps = {app for _, app, _ in live}
            assert set(health["apps"]["active_docs"]) == apps
            assert apps <= set(health["apps"]["loaded_docs"]) <= set(health["apps"]["in_memory_docs"])
    return open_sessions


async def test_sessions_healthchecks_and_datagrams_agree(simulator_factory: SimulatorFactory) -> None:
    patterns = compat_patterns()
    async with udp_collector() as users, udp_collector() as logs:
        sim = await simulator_factory(
            background=True,
            activity_rate=30,
            seed=7,
            udp_user_target=users.target,
            udp_log_target=logs.target,
        )
        seen_sessions = []
        for _ in range(3):
            await users.wait_for(lambda d: True, count=len(users.datagrams) + 25, timeout=30)
            sim.pause_activity()
            await settle(sim, users)
            seen_sessions.append(await check(sim, users, patterns))
            sim.resume_activity()
        stops = [
            d for d in users.datagrams if d.startswith("/qseow-proxy-session/") and ";Stop session;" in d
        ]
        assert stops and max(seen_sessions) > 0
        await logs.wait_for(lambda d: d.startswith("/qseow-qix-perf/"))
        await logs.wait_for(lambda d: d.startswith(("/qseow-engine/", "/qseow-proxy/", "/qseow-repository/")))
        # the scheduler runs tasks on their schedule (30x faster here), as INTERNAL\sa_scheduler
        async with asyncio.timeout(30):
            while not any(
                result.finished
                and result.created >= sim.model.started
                and not result.task.is_manually_triggered
                for result in list(sim.model.execution_results.values())
            ):
                await asyncio.sleep(0.1)
    assert sim.status()["activity"] == "running"
