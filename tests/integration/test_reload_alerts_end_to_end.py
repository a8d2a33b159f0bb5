"""A reload fails in the simulator → its task datagram (UDP) → the reload-alert processor (QRS, script
log) → Butler's InfluxDB point in influxd and Butler's MQTT topics on mosquitto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sensebutler.simulator import Simulator
from tests.fixtures.net import free_udp_port
from tests.fixtures.servers import InfluxdServer, MosquittoServer, MqttCollector, unique_name
from tests.fixtures.service import eventually, running
from tests.integration.test_end_to_end import service_config


@pytest.fixture
async def site(simulator_factory: Any) -> tuple[Simulator, tuple[int, int, int]]:
    ports = (free_udp_port(), free_udp_port(), free_udp_port())
    sim = await simulator_factory(
        udp_log_target=f"127.0.0.1:{ports[0]}",
        udp_user_target=f"127.0.0.1:{ports[1]}",
        udp_task_target=f"127.0.0.1:{ports[2]}",
    )
    return sim, ports


async def test_a_failed_reload_reaches_influxdb_and_mqtt_as_butler_writes_it(
    site: tuple[Simulator, tuple[int, int, int]],
    influxd: InfluxdServer,
    influx_db: str,
    mosquitto: MosquittoServer,
    tmp_path: Path,
) -> None:
    sim, ports = site
    prefix = unique_name("sb")
    config = service_config(
        sim,
        ports,
        tmp_path,
        alerts={"enable": True},
        influxdb={
            "enable": True,
            "url": influxd.url,
            "v1": {"database": influx_db},
            "events": ["reload_alert"],
            "tasks": {"tags": {"butler_instance": "e2e"}},
        },
        mqtt={
            "enable": True,
            "host": mosquitto.host,
            "port": mosquitto.port,
            "events": ["reload_alert"],
            "task_topics": {
                "failure": {"topic": f"{prefix}/task_failure"},
                "failure_full": {"topic": f"{prefix}/task_failure_full"},
                "aborted": {"topic": f"{prefix}/task_aborted"},
                "aborted_full": {"topic": f"{prefix}/task_aborted_full"},
            },
        },
    )
    task = next(t for t in sim.model.tasks.values() if t.task_type == 0 and t.enabled)
    async with MqttCollector(mosquitto.host, mosquitto.port, f"{prefix}/#") as collector, running(config):
        session = await sim.trigger_reload(task.id, outcome="failed", duration=0.2)
        await sim.wait_for_task(session.id)

        rows = await eventually(
            lambda: influxd.query(influx_db, f"SELECT * FROM reload_task_failed WHERE task_id = '{task.id}'"),
            what="the failed reload's reload_task_failed point",
        )
        messages = await collector.wait_for(2, timeout=30)

    (row,) = rows
    assert row["task_name"] == task.name
    assert row["butler_instance"] == "e2e"
    assert row["task_exeuctionStatusText"] == "FinishedFail"
    assert row["task_executionStatusNum"] == "8"
    assert row["task_executionDuration_sec"] >= 0
    assert row["task_scriptLogSize"] > 0
    assert "Script log not available" not in row["scriptLog"], row["scriptLog"]
    assert "-------------------------------" in row["scriptLog"]

    by_topic = {message.topic: message.payload for message in messages}
    assert by_topic[f"{prefix}/task_failure"] == task.name.encode()
    full = json.loads(by_topic[f"{prefix}/task_failure_full"])
    assert full["taskId"] == task.id
    assert full["taskName"] == task.name
    assert full["missing"] == []
    assert full["qs_taskMetadata"]["taskType"] == 0
