"""Active users end to end: the simulator's sessions, its user datagrams, sensebutler, mosquitto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from sensebutler.config import Config
from sensebutler.services.active_users import ActiveUsers
from sensebutler.simulator import Simulator
from sensebutler.simulator.monitoring_config import monitoring_config
from tests.fixtures.net import free_udp_port
from tests.fixtures.servers import MosquittoServer, MqttCollector, unique_name
from tests.fixtures.service import eventually, running

PROXY_HOSTS = {"Central": "qlikserver1", "Rim1": "qlikserver2", "Rim2": "qlikserver3"}


def _config(sim: Simulator, user_port: int, mosquitto: MosquittoServer, topic: str, tmp_path: Path) -> Config:
    data: dict[str, Any] = monitoring_config(sim.info, state_dir=tmp_path / "state", interval_s=30)
    data["polling"] = {}
    data["self_metrics"] = {"enable": False}
    data["udp"] = {"user_events": {"enable": True, "host": "127.0.0.1", "port": user_port}}
    data["monitors"] = {"active_users": {"enable": True, "proxy_hosts": PROXY_HOSTS}}
    data["delivery"] = {"flush_interval_s": 0.05}
    data["mqtt"] = {
        "enable": True,
        "host": mosquitto.host,
        "port": mosquitto.port,
        "events": ["active_users"],
        "monitors": {
            "active_user_count": f"{topic}/count",
            "active_users": f"{topic}/usernames",
            "active_users_per_server": f"{topic}/perserver",
        },
    }
    return Config.model_validate(data)


def site_users(sim: Simulator) -> set[str]:
    return {f"{s.user.directory}\\{s.user.user_id}" for s in sim.model.proxy_sessions.values()}


def last(collector: MqttCollector, topic: str) -> bytes | None:
    found = [m.payload for m in collector.messages if m.topic == topic]
    return found[-1] if found else None


async def test_the_mqtt_count_follows_the_sites_sessions(
    simulator_factory: Any, mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    user_port = free_udp_port()
    sim: Simulator = await simulator_factory(
        udp_user_target=f"127.0.0.1:{user_port}", background=True, activity_rate=20
    )
    sim.pause_activity()
    for node in ("Central", "Rim1", "Rim1"):
        await sim.add_session(node)
    existing = site_users(sim)
    assert existing
    topic = unique_name("users")
    async with (
        MqttCollector(mosquitto.host, mosquitto.port, f"{topic}/#") as collector,
        running(_config(sim, user_port, mosquitto, topic, tmp_path)) as runtime,
    ):
        # right from the start: seeded from the proxies, before any user event
        await collector.wait_for(2, timeout=20)
        first = next(m for m in collector.messages if m.topic == f"{topic}/usernames")
        assert set(orjson.loads(first.payload)) == existing

        sim.resume_activity()
        await eventually(lambda: len(collector.messages) > 20, what="a busy site's changes")
        sim.pause_activity()

        def agrees() -> bool:
            users = site_users(sim)
            return (
                last(collector, f"{topic}/count") == str(len(users)).encode()
                and set(orjson.loads(last(collector, f"{topic}/usernames") or b"[]")) == users
                and runtime.active_users.users() == users
            )

        assert await eventually(agrees, what="the MQTT count to equal the site's users")
        per_host = {
            m.topic.split("/")[-2]: int(m.payload)
            for m in collector.messages
            if m.topic.startswith(f"{topic}/perserver/")
        }
        for node in sim.model.nodes:
            users = {
                f"{s.user.directory}\\{s.user.user_id}"
                for s in sim.model.proxy_sessions.values()
                if s.node is node
            }
            assert per_host.get(node.short_name, 0) == len(users)


def test_expiry_drops_idle_users_only() -> None:
    now = [0.0]
    active = ActiveUsers(clock=lambda: now[0])
    changes: list[int] = []
    active.listeners.append(lambda: changes.append(active.count()))
    active.session_started("p1", "LAB\\a")
    active.session_started("p1", "LAB\\b")
    now[0] = 100.0
    active.touch("p1", "LAB\\b")
    now[0] = 150.0
    assert active.expire(120.0) == [("p1", "LAB\\a")]
    assert active.users() == {"LAB\\b"}
    active.seed("p2", {"LAB\\c": 2, "LAB\\d": 0})
    assert active.per_host() == {"p1": ("LAB\\b",), "p2": ("LAB\\c",)}
    active.session_stopped("p2", "LAB\\c")
    assert active.count("p2") == 1  # two sessions: one stopped
    assert changes == [1, 2, 1, 2, 2]
