"""MQTT publish, the MQTT task-start topic, Slack messages and active users over HTTP."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiomqtt

from sensebutler.simulator import Simulator
from tests.api.support import api_config, client, eventually, running
from tests.fixtures.servers import HttpReceiver, MosquittoServer, MqttCollector

SWITCHES = {
    "mqtt_publish_message": True,
    "slack_post_message": True,
    "active_user_count": True,
    "active_users": True,
}


def _config(tmp_path: Path, mosquitto: MosquittoServer | None = None, **api: Any) -> dict[str, Any]:
    config = api_config(tmp_path, **api)
    config["api"]["endpoints"] = {**config["api"]["endpoints"], **SWITCHES}
    if mosquitto is not None:
        config["mqtt"] = {"enable": True, "host": mosquitto.host, "port": mosquitto.port}
    return config


async def test_mqtt_publish(tmp_path: Path, mosquitto: MosquittoServer) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    body = {"topic": f"{prefix}/new_data_notification/sales", "message": "dt=20201028"}
    async with (
        MqttCollector(mosquitto.host, mosquitto.port, f"{prefix}/#") as collector,
        running(_config(tmp_path, mosquitto)) as runtime,
        client(runtime) as c,
    ):

        async def published() -> bool:
            r = await c.put("/v4/mqttpublishmessage", json=body)
            assert r.status_code in (201, 503), r.text
            return r.status_code == 201 and r.json() == body

        await eventually(published, what="a publish once the API's MQTT connection is up")
        messages = await collector.wait_for(1, timeout=30)
        assert messages[0].topic == body["topic"] and messages[0].payload == b"dt=20201028"
        bad = await c.put("/v4/mqttpublishmessage", json={"topic": "a/#", "message": "x"})
        assert bad.status_code == 400


async def test_mqtt_off_is_503_not_silence(tmp_path: Path) -> None:
    async with running(_config(tmp_path)) as runtime, client(runtime) as c:
        r = await c.put("/v4/mqttpublishmessage", json={"topic": "a/b", "message": "x"})
        assert r.status_code == 503 and "mqtt.enable" in r.json()["message"]


async def test_mqtt_task_start_topic(
    tmp_path: Path, mosquitto: MosquittoServer, simulator: Simulator
) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}/start_task"
    sandbox = next(t for t in simulator.model.tasks.values() if t.name == "Reload of Sandbox")
    other = next(t for t in simulator.model.tasks.values() if t.name == "Reload of Call center")
    before = other.last_result
    config = _config(
        tmp_path,
        mosquitto,
        sim=simulator,
        mqtt_task_start={"enable": True, "topic": topic},
        start_task={"filter": {"enable": True, "allow_task": {"task_id": [sandbox.id]}}},
    )
    async with running(config) as runtime, client(runtime) as c:
        assert runtime.config.api.mqtt_task_start.enable
        bridge = next(s for s in runtime.components if getattr(s, "name", "") == "api mqtt")

        async def connected() -> bool:
            return bool(bridge.connected)  # type: ignore[attr-defined]

        await eventually(connected, what="the API's MQTT connection")
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sender:
            await sender.publish(topic, b"not-a-task-id", qos=1)
            await sender.publish(topic, other.id.encode(), qos=1)
            await sender.publish(topic, sandbox.id.encode(), qos=1)

        async def handled() -> bool:
            return bool(bridge.started + bridge.refused >= 3)  # type: ignore[attr-defined]

        await eventually(handled, what="three task-start messages handled")
        assert (bridge.started, bridge.refused) == (1, 2)  # type: ignore[attr-defined]
        assert sandbox.session is not None or sandbox.last_result is not None
        assert other.last_result is before and other.session is None
        assert (await c.get("/v4/butlerping")).status_code == 200


async def test_slack_post_message(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    config = _config(tmp_path, slack_message={"webhook_url": http_receiver.url + "/hook"})
    body = {
        "channel": "#reload-notification",
        "from_user": "Butler the Bot",
        "msg": "Hello",
        "emoji": "thumbsup",
    }
    async with running(config) as runtime, client(runtime) as c:
        r = await c.put("/v4/slackpostmessage", json=body)
        assert r.status_code == 201 and r.json() == body
        sent = (await http_receiver.wait_for(1, path="/hook", timeout=30))[0].json()
        assert sent == {
            "username": "Butler the Bot",
            "channel": "#reload-notification",
            "icon_emoji": "thumbsup",
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "Hello"}}],
        }
        http_receiver.respond("/hook", 500)
        assert (await c.put("/v4/slackpostmessage", json=body)).status_code == 502
        assert (await c.put("/v4/slackpostmessage", json={"channel": "#x"})).status_code == 400


async def test_active_users(tmp_path: Path) -> None:
    async with running(_config(tmp_path)) as runtime, client(runtime) as c:
        assert (await c.get("/v4/activeusercount")).json() == {"response": 0}
        runtime.active_users.session_started("node1", "INTERNAL\\anna")
        runtime.active_users.session_started("node2", "INTERNAL\\joe")
        assert (await c.get("/v4/activeusercount")).json() == {"response": 2}
        assert (await c.get("/v4/activeusers")).json() == {"response": ["INTERNAL\\anna", "INTERNAL\\joe"]}
        assert (await c.get("/v4/activeusers", params={"host": "node2"})).json() == {
            "response": ["INTERNAL\\joe"]
        }
