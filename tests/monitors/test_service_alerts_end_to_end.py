"""The service monitor in the running service: simulator → sensebutler → mosquitto and influxd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from sensebutler.config import Config
from sensebutler.monitors.schedule import MonitorRunner
from sensebutler.simulator import Simulator
from sensebutler.simulator.monitoring_config import monitoring_config
from tests.fixtures.servers import InfluxdServer, MosquittoServer, MqttCollector, unique_name
from tests.integration.test_end_to_end import eventually, running

CENTRAL, RIM1 = "qlikserver1.lab.example.com", "qlikserver2.lab.example.com"


def _config(
    sim: Simulator, mosquitto: MosquittoServer, topic: str, influxd: InfluxdServer, db: str, tmp: Path
) -> Config:
    data: dict[str, Any] = monitoring_config(sim.info, state_dir=tmp / "state", interval_s=30)
    data["polling"] = {}
    data["self_metrics"] = {"enable": False}
    data["delivery"] = {"flush_interval_s": 0.05}
    data["monitors"] = {"services": {"enable": True, "frequency": 0.3}}
    data["mqtt"] = {
        "enable": True,
        "host": mosquitto.host,
        "port": mosquitto.port,
        "monitors": {
            "service_running": f"{topic}/running",
            "service_stopped": f"{topic}/stopped",
            "service_status": f"{topic}/status",
        },
    }
    data["influxdb"] = {"enable": True, "url": influxd.url, "v1": {"database": db}}
    return Config.model_validate(data)


async def test_stopped_and_started_services_reach_mqtt_and_influxdb_once(
    simulator: Simulator, mosquitto: MosquittoServer, influxd: InfluxdServer, influx_db: str, tmp_path: Path
) -> None:
    topic = unique_name("services")
    await simulator.stop_service("Rim1", "proxy")
    config = _config(simulator, mosquitto, topic, influxd, influx_db, tmp_path)
    async with (
        MqttCollector(mosquitto.host, mosquitto.port, f"{topic}/#") as mqtt,
        running(config) as runtime,
    ):
        runner = next(c for c in runtime.components if isinstance(c, MonitorRunner))

        def on(kind: str) -> list[Any]:
            return [orjson.loads(m.payload) for m in mqtt.messages if m.topic.startswith(f"{topic}/{kind}/")]

        # the first check: an alert for the stopped service only, none for the running ones
        first = await eventually(lambda: on("stopped"), what="the stopped alert of the first check")
        assert [(m["serviceHost"], m["serviceName"], m["servicePrevStatus"]) for m in first] == [
            (RIM1, "QlikSenseProxyService", "UNKNOWN")
        ]
        await eventually(lambda: runner.runs["services"] >= 3, what="three checks")
        assert on("running") == []
        statuses = on("status")
        assert {
            m["serviceStatus"] for m in statuses if m["serviceHost"] == RIM1 and "Proxy" in m["serviceName"]
        } == {"STOPPED"}

        await simulator.stop_service("Central", "engine")
        await eventually(lambda: len(on("stopped")) == 2, what="the engine's stopped alert")
        await simulator.start_service("Central", "engine")
        await eventually(lambda: on("running"), what="the engine's recovery")
        done = runner.runs["services"]
        await eventually(lambda: runner.runs["services"] >= done + 3, what="three more checks")
        assert [(m["serviceHost"], m["serviceName"], m["servicePrevStatus"]) for m in on("running")] == [
            (CENTRAL, "QlikSenseEngineService", "STOPPED")
        ]
        assert len(on("stopped")) == 2

    rows = influxd.query(
        influx_db,
        "SELECT state_num, state_text FROM win_service_state WHERE service_name = 'QlikSenseEngineService' AND host = 'qlikserver1.lab.example.com'",
    )
    assert {r["state_text"] for r in rows} == {"RUNNING", "STOPPED"}
    assert {r["state_num"] for r in rows} == {1.0, 4.0}
