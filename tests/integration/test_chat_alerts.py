"""Reload alerts end to end: the simulator fails a reload → UDP → sensebutler → local HTTP receivers
standing in for Slack, Teams, outgoing webhooks and Signl4; the task's next success resolves Signl4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensebutler.config import Config
from sensebutler.simulator import Simulator
from sensebutler.simulator.monitoring_config import monitoring_config
from tests.fixtures.net import async_wait_until, free_udp_port
from tests.fixtures.servers import HttpReceiver, RecordedRequest
from tests.fixtures.service import running

TASK = "Reload of Sales dashboard"


def chat_config(sim: Simulator, port: int, url: str, state: Path) -> dict[str, Any]:
    data = monitoring_config(sim.info, state_dir=state, udp_ports=(free_udp_port(), free_udp_port(), port))
    data["polling"] = {}
    data["self_metrics"] = {"enable": False}
    data["udp"] = {
        "metrics": {"enable": False},
        "task_events": {"enable": True, "host": "127.0.0.1", "port": port},
    }
    data["delivery"] = {"retry": {"initial_s": 0.1, "max_s": 0.5, "attempts_before_spool": 2}}
    data["alerts"] = {
        "enable": True,
        "qlik_urls": {"qmc": "https://qlik.lab.example.com/qmc", "hub": "https://qlik.lab.example.com/hub"},
        "script_log": {"attempts": 2, "retry_delay_s": 0.1, "download_wait_s": 3},
    }
    data["slack"] = {"enable": True, "webhook_url": f"{url}/slack"}
    data["teams"] = {
        "enable": True,
        "webhook_url": f"{url}/teams",
        "reload_failed": {"message_type": "basic"},
    }
    data["webhook"] = {
        "enable": True,
        "webhooks": [
            {"url": f"{url}/hook-get", "method": "GET"},
            {"url": f"{url}/hook-post", "method": "POST"},
            {"url": f"{url}/hook-put", "method": "PUT"},
        ],
    }
    data["signl4"] = {"enable": True, "url": f"{url}/signl4"}
    return data


def one(receiver: HttpReceiver, path: str) -> RecordedRequest:
    (request,) = receiver.requests_to(path)
    return request


async def test_a_failed_reload_reaches_every_chat_destination_and_its_success_resolves_signl4(
    simulator_factory: Any, http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    port = free_udp_port()
    sim = await simulator_factory(udp_task_target=f"127.0.0.1:{port}")
    task = sim.model.task(TASK)
    config = Config.model_validate(chat_config(sim, port, http_receiver.url, tmp_path / "state"))
    async with running(config):
        session = await sim.trigger_reload(TASK, outcome="failed", duration=0.1)
        failed = await sim.wait_for_task(session.id)
        await http_receiver.wait_for(6, timeout=30)
        session = await sim.trigger_reload(TASK, outcome="success", duration=0.1)
        await sim.wait_for_task(session.id)
        await http_receiver.wait_for(1, "/signl4", timeout=30)
        await http_receiver.wait_for(2, "/signl4", timeout=30)
        await async_wait_until(lambda: len(http_receiver.requests) == 7, 10, "seven requests")

    slack = one(http_receiver, "/slack").json()
    assert slack["text"] == f"Reload failed: {TASK}"
    (error_line,) = [line for line in failed.script_log.split("\r\n") if "Error:" in line]
    (tail,) = [
        block["text"]["text"]
        for block in slack["blocks"]
        if "Script log" in block.get("text", {}).get("text", "")
    ]
    assert error_line in tail

    teams = one(http_receiver, "/teams").json()
    assert teams["@type"] == "MessageCard" and teams["title"] == f'Qlik Sense reload failed: "{TASK}"'

    get = one(http_receiver, "/hook-get").query
    post = one(http_receiver, "/hook-post").json()
    put = one(http_receiver, "/hook-put").json()
    assert get == post == put
    assert post["event"] == "Qlik Sense reload failed"
    assert post["taskId"] == task.id and post["taskName"] == TASK
    assert task.app is not None and post["appId"] == task.app.id
    assert post["appOwnerName"] == "Anna Lindqvist" and post["missing"] == ""

    alert, resolved = (request.json() for request in http_receiver.requests_to("/signl4"))
    assert (alert["X-S4-Status"], alert["X-S4-ExternalID"]) == ("new", task.id)
    assert (resolved["X-S4-Status"], resolved["X-S4-ExternalID"]) == ("resolved", task.id)
