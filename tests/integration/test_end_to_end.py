"""The whole service against the simulator: polling and UDP ingest into a real influxd and mosquitto.

This is what an admin runs: ``app.run`` with a configuration pointing at a (simulated) Sense site.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sensebutler.config import Config
from sensebutler.simulator import Simulator
from sensebutler.simulator.monitoring_config import monitoring_config
from sensebutler.simulator.send_udp import send_async
from sensebutler.simulator.udp_samples import KINDS
from tests.fixtures.net import free_udp_port
from tests.fixtures.servers import InfluxdServer, MosquittoServer, MqttCollector
from tests.fixtures.service import eventually, running


@pytest.fixture
async def site(simulator_factory: Any) -> tuple[Simulator, tuple[int, int, int]]:
    ports = (free_udp_port(), free_udp_port(), free_udp_port())
    sim = await simulator_factory(
        udp_log_target=f"127.0.0.1:{ports[0]}",
        udp_user_target=f"127.0.0.1:{ports[1]}",
        udp_task_target=f"127.0.0.1:{ports[2]}",
    )
    return sim, ports


def service_config(sim: Simulator, ports: tuple[int, int, int], tmp_path: Path, **sinks: Any) -> Config:
    data = monitoring_config(sim.info, state_dir=tmp_path / "state", udp_ports=ports, interval_s=1)
    data["delivery"] = {"flush_interval_s": 0.1}
    data.update(sinks)
    return Config.model_validate(data)


async def test_polling_and_udp_events_arrive_in_influxdb(
    site: tuple[Simulator, tuple[int, int, int]], influxd: InfluxdServer, influx_db: str, tmp_path: Path
) -> None:
    sim, ports = site
    config = service_config(
        sim, ports, tmp_path, influxdb={"enable": True, "url": influxd.url, "v1": {"database": influx_db}}
    )
    async with running(config):
        # polled: one sense_server point per simulated node, with its server tags
        def servers() -> set[str]:
            rows = influxd.query(influx_db, 'SELECT last("version") FROM sense_server GROUP BY server_name')
            return {row["server_name"] for row in rows}

        expected = {node.name for node in sim.info.nodes}
        assert await eventually(lambda: servers() >= expected, what="a health point per node")
        assert await eventually(lambda: influxd.query(influx_db, "SELECT * FROM user_session_summary"))

        # a failed reload in the simulator: its scheduler log datagram ends up in log_event
        task = next(t for t in sim.model.tasks.values() if t.task_type == 0 and t.enabled)
        session = await sim.trigger_reload(task.id, outcome="failed", duration=0.2)
        await sim.wait_for_task(session.id)
        rows = await eventually(
            lambda: influxd.query(
                influx_db,
                f"SELECT * FROM log_event WHERE source = 'qseow-scheduler' AND task_id = '{task.id}'",
            ),
            what="the failed reload's scheduler log event",
        )
        assert rows[0]["task_name"] == task.name

        # every log-event source and user event kind sent as the appenders send them
        for kind in ("engine", "proxy", "repository", "scheduler", "qix-perf"):
            await send_async(f"127.0.0.1:{ports[0]}", kind, count=3)
        for kind in ("user-session", "user-connection"):
            await send_async(f"127.0.0.1:{ports[1]}", kind, count=3)

        def sources() -> set[str]:
            rows = influxd.query(influx_db, 'SELECT count("log_row") FROM log_event GROUP BY "source"')
            return {row["source"] for row in rows}

        assert await eventually(
            lambda: (
                sources()
                >= {"qseow-engine", "qseow-proxy", "qseow-repository", "qseow-scheduler", "qseow-qix-perf"}
            ),
            what="log events of every source",
        )
        assert await eventually(
            lambda: influxd.query(influx_db, "SELECT * FROM user_events"), what="user events"
        )


async def test_influxdb_down_during_polling_loses_nothing(
    site: tuple[Simulator, tuple[int, int, int]], influxd_factory: Callable[[], InfluxdServer], tmp_path: Path
) -> None:
    sim, ports = site
    influx = influxd_factory()
    config = service_config(
        sim,
        ports,
        tmp_path,
        influxdb={
            "enable": True,
            "url": influx.url,
            "v1": {"database": "outage"},
            "events": ["health"],
            "delivery": {"flush_interval_s": 0.1, "retry": {"initial_s": 0.05, "max_s": 0.5}},
        },
    )
    async with running(config) as runtime:
        sink = runtime.router.sinks[0]
        await eventually(lambda: sink.stats() and sink.stats().delivered > 0, what="first points")  # type: ignore[union-attr]
        influx.stop()
        await asyncio.sleep(30)  # the outage: polls go on every second while InfluxDB is down
        stats = sink.stats()
        assert stats is not None
        await eventually(lambda: stats.spool_records > 0, what="points waiting in the spool")
        influx.start()
        await eventually(lambda: stats.spool_records == 0 and stats.queued == 0, what="spool replayed")
        polled = stats.received
        assert stats.spooled > 0
        assert not stats.dropped

    # every health point the sink received is in InfluxDB: nothing lost while it was down
    rows = influx.query("outage", "SELECT count(*) FROM /.*/")
    written = sum(max(v for k, v in row.items() if k.startswith("count_") and v is not None) for row in rows)
    assert written == polled


async def test_mqtt_receives_health_and_log_events(
    site: tuple[Simulator, tuple[int, int, int]], mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    sim, ports = site
    base = f"e2e-{ports[0]}/"
    config = service_config(
        sim,
        ports,
        tmp_path,
        mqtt={"enable": True, "host": mosquitto.host, "port": mosquitto.port, "base_topic": base},
    )
    async with (
        MqttCollector(mosquitto.host, mosquitto.port, f"{base}#") as health,
        MqttCollector(mosquitto.host, mosquitto.port, "qliksense/logevent/#") as logs,
        running(config),
    ):
        await health.wait_for(len(sim.info.nodes) * 5, timeout=20)
        await send_async(f"127.0.0.1:{ports[0]}", "engine", count=2)
        await logs.wait_for(2, timeout=20)
    topics = {m.topic for m in health.messages}
    assert any(t.endswith("/cpu/total") for t in topics)
    assert any(t.endswith("/mem/comitted") for t in topics)
    assert any(m.topic.startswith("qliksense/logevent") for m in logs.messages)


def test_every_sample_kind_is_accepted_by_the_inputs() -> None:
    """The simulator's samples and our parsers agree on every kind (no socket needed)."""
    from sensebutler.sources.udp import parse_log_datagram, parse_task_datagram, parse_user_datagram

    parsers = {9996: parse_log_datagram, 9997: parse_user_datagram, 9998: parse_task_datagram}
    for name, kind in KINDS.items():
        if name == "malformed":
            continue
        for i in range(5):
            event = parsers[kind.port](kind.datagram(i, seed=3), 0)
            assert event is not None, name
