"""``sensebutler simulator trigger ...`` and ``sensebutler demo``."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
from pathlib import Path

import typer
from rich.console import Console
from typer.testing import CliRunner, Result

from sensebutler.config import Config
from sensebutler.simulator import Simulator, SimulatorInfo, SimulatorOptions
from sensebutler.simulator.cli import register
from sensebutler.simulator.demo import run_demo
from sensebutler.simulator.monitoring_config import monitoring_config
from sensebutler.simulator.scenario import load_scenario
from tests.fixtures.net import free_udp_port
from tests.fixtures.servers import InfluxdServer


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


async def trigger(*args: str) -> Result:
    # the simulator runs on this event loop: the (synchronous) command must run in another thread
    return await asyncio.to_thread(CliRunner().invoke, cli(), ["simulator", *args])


async def test_trigger_commands_reach_the_simulator(simulator: Simulator) -> None:
    state = ["--state-dir", str(simulator.info.state_dir), "trigger"]
    done = await trigger(
        *state, "reload", "Reload of Sandbox", "--outcome", "aborted", "--duration", "0.05", "--wait"
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["status"] == 6
    added = await trigger(*state, "session-add", "Rim1", "--user", "LAB\\joe", "--apps", "1")
    session_id = json.loads(added.output)["SessionId"]
    assert simulator.model.proxy_sessions[session_id].user.user_id == "joe"
    stopped = await trigger(
        "trigger", "--control", simulator.info.control_url or "", "service", "Rim2", "engine", "stop"
    )
    assert stopped.exit_code == 0 and not simulator.model.node("Rim2").services["engine"].running
    assert (await trigger(*state, "fail", "Central", "engine", "--tls")).exit_code == 0
    status = json.loads((await trigger(*state, "status")).output)
    assert status["faults"][0]["mode"] == "tls" and status["services"][0]["node"] == "Rim2"
    assert (await trigger(*state, "clear-faults")).exit_code == 0
    assert (await trigger(*state, "engine-load", "Central", "--cpu", "99")).exit_code == 0
    assert simulator.model.central.engine.healthcheck(simulator.model.started)["saturated"] is True
    refused = await trigger(*state, "reload", "no such task")
    assert refused.exit_code == 1 and "unknown task" in refused.output


async def test_trigger_without_a_simulator_is_a_clear_error(tmp_path: Path) -> None:
    result = await trigger("--state-dir", str(tmp_path), "trigger", "status")
    assert result.exit_code == 3 and "no running simulator" in result.output


async def test_demo_narrates_what_happens(tmp_path: Path, simulator_certificates: Path) -> None:
    shutil.copytree(simulator_certificates, tmp_path / "certificates")
    output = io.StringIO()
    stop = asyncio.Event()
    options = SimulatorOptions(state_dir=tmp_path, background=True, activity_rate=40, seed=3)
    demo = asyncio.create_task(run_demo(options, Console(file=output, width=200), stop))
    async with asyncio.timeout(20):
        while "connection Opened for session" not in output.getvalue():
            await asyncio.sleep(0.05)
    stop.set()
    await demo
    text = output.getvalue()
    assert "Simulated Qlik Sense site" in text and "control API http://127.0.0.1:" in text
    assert "sessions," in text  # the closing summary line
    assert text.endswith("Stopped: the simulated site shut down cleanly.\n")
    names = {spec.name for spec in load_scenario(None).apps}
    opened = re.findall(r"connection Opened for session '[0-9a-f-]+' to app '([^']+)'", text)
    assert opened and set(opened) <= names  # app ids are shown as app names


async def test_demo_shows_what_the_monitoring_service_collects(
    tmp_path: Path, simulator_certificates: Path, influxd: InfluxdServer, influx_db: str
) -> None:
    shutil.copytree(simulator_certificates, tmp_path / "certificates")
    ports = (free_udp_port(), free_udp_port(), free_udp_port())
    options = SimulatorOptions(
        state_dir=tmp_path,
        background=True,
        activity_rate=40,
        seed=3,
        udp_log_target=f"127.0.0.1:{ports[0]}",
        udp_user_target=f"127.0.0.1:{ports[1]}",
        udp_task_target=f"127.0.0.1:{ports[2]}",
    )

    def service_config(info: SimulatorInfo) -> Config:
        data = monitoring_config(info, state_dir=tmp_path / "service", udp_ports=ports, interval_s=1)
        data["prometheus"] = {"enable": True}
        data["web"] = {"listeners": {"main": {"port": 0}}}
        data["influxdb"] = {"enable": True, "url": influxd.url, "v1": {"database": influx_db}}
        return Config.model_validate(data)

    output = io.StringIO()
    stop = asyncio.Event()
    demo = asyncio.create_task(
        run_demo(
            options, Console(file=output, width=200), stop, service_config=service_config, summary_every_s=1
        )
    )
    delivered = r"sink influxdb\s+│ [1-9]\d* delivered, \d+ spooled \(\d+ waiting in the spool\), 0 dropped"
    async with asyncio.timeout(60):
        while not (
            re.search(r"user events\s+│ .*Open connection [1-9]", output.getvalue())
            and re.search(delivered, output.getvalue())
        ):
            await asyncio.sleep(0.1)
    stop.set()
    await demo
    text = output.getvalue()
    assert "sensebutler prometheus endpoint: http://127.0.0.1:" in text
    assert re.search(r"sink prometheus\s+│ pull: [1-9]\d* events taken", text)
    assert text.endswith("Stopped: the simulated site and sensebutler shut down cleanly.\n")
    for node in load_scenario(None).nodes:
        assert re.search(rf"engine {node.name}\s+│ v[\d.]+, cpu", text), node.name
