"""The service monitor in the running service: simulator → sensebutler → mosquitto and influxd, and
the alert destinations (webhooks, Slack, Teams, e-mail)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from sensebutler.config import Config
from sensebutler.monitors.schedule import MonitorRunner
from sensebutler.simulator import Simulator
from sensebutler.simulator.monitoring_config import monitoring_config
from tests.fixtures.servers import (
    HttpReceiver,
    InfluxdServer,
    MosquittoServer,
    MqttCollector,
    SmtpServer,
    unique_name,
)
from tests.fixtures.service import eventually, running

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


async def test_a_stopped_service_reaches_every_alert_destination_once_and_so_does_its_recovery(
    simulator: Simulator, http_receiver: HttpReceiver, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    data: dict[str, Any] = monitoring_config(simulator.info, state_dir=tmp_path / "state", interval_s=30)
    data["polling"] = {}
    data["self_metrics"] = {"enable": False}
    data["delivery"] = {"flush_interval_s": 0.05}
    data["monitors"] = {"services": {"enable": True, "frequency": 0.3}}
    both = {"service_stopped": {}, "service_started": {}}
    data["webhook"] = {"enable": True, "webhooks": [{"url": f"{http_receiver.url}/webhook"}], **both}
    data["slack"] = {"enable": True, "webhook_url": f"{http_receiver.url}/slack", **both}
    data["teams"] = {"enable": True, "webhook_url": f"{http_receiver.url}/teams", **both}
    data["email"] = {
        "enable": True,
        "from_address": "sensebutler@example.com",
        "smtp": {"host": smtp_server.host, "port": smtp_server.port, "security": "none"},
        "service_stopped": {"recipients": ["ops@example.com"]},
        "service_started": {"recipients": ["ops@example.com"]},
    }
    config = Config.model_validate(data)
    paths = ("/webhook", "/slack", "/teams")

    def webhook_states() -> list[tuple[str, str, str]]:
        return [
            (b["host"], b["serviceName"], b["currState"])
            for b in (r.json() for r in http_receiver.requests_to("/webhook"))
        ]

    async with running(config) as runtime:
        runner = next(c for c in runtime.components if isinstance(c, MonitorRunner))
        # every service runs: the first checks alert nobody
        await eventually(lambda: runner.runs["services"] >= 3, what="three checks")
        assert http_receiver.requests == [] and smtp_server.messages == []

        await simulator.stop_service("Central", "engine")
        for path in paths:
            await http_receiver.wait_for(1, path, timeout=60)
        await smtp_server.wait_for(1, 60)
        await simulator.start_service("Central", "engine")
        for path in paths:
            await http_receiver.wait_for(2, path, timeout=60)
        await smtp_server.wait_for(2, 60)
        done = runner.runs["services"]
        await eventually(lambda: runner.runs["services"] >= done + 3, what="three more checks")

    assert webhook_states() == [
        (CENTRAL, "QlikSenseEngineService", "STOPPED"),
        (CENTRAL, "QlikSenseEngineService", "RUNNING"),
    ]
    for path in ("/slack", "/teams"):
        assert len(http_receiver.requests_to(path)) == 2
    slack_texts = [r.json()["text"] for r in http_receiver.requests_to("/slack")]
    assert slack_texts[0].startswith(f"Service stopped on {CENTRAL}")
    assert slack_texts[1].startswith(f"Service running again on {CENTRAL}")
    subjects = [m.message["Subject"] for m in smtp_server.messages]
    assert [s.split(" on host")[0] for s in subjects] == ["❌ Service stopped", "✅ Service started"]
    assert all(CENTRAL in s for s in subjects)
