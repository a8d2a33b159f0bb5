"""``sensebutler simulator --write-config FILE`` + ``config verify`` + ``run``: the newcomer's path
from the simulator to monitoring it, each command a real process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from ruamel.yaml import YAML
from typer.testing import CliRunner

from sensebutler.simulator.cli import register
from tests.fixtures.net import free_udp_port
from tests.fixtures.servers import InfluxdServer

ZERO_PORTS = ["--qrs-port", "0", "--proxy-port", "0", "--engine-port", "0", "--about-port", "0"]
SENSEBUTLER = [sys.executable, "-m", "sensebutler"]
DEADLINE_S = 90  # generous: two cores shared by several test runs


@contextmanager
def process(argv: list[str], **kwargs: object) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(argv, text=True, **kwargs)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_rows(influxd: InfluxdServer, db: str, query: str, done: object) -> list[dict[str, object]]:
    deadline = time.monotonic() + DEADLINE_S
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        try:
            rows = influxd.query(db, query)
        except Exception:  # the database is created by sensebutler at start
            rows = []
        if done(rows):  # type: ignore[operator]
            return rows
        time.sleep(0.5)
    raise AssertionError(f"{query!r}: not there within {DEADLINE_S} s; last rows: {rows}")


def test_simulator_writes_a_config_that_verifies_and_runs(
    tmp_path: Path, simulator_certificates: Path, influxd: InfluxdServer, influx_db: str
) -> None:
    shutil.copytree(simulator_certificates, tmp_path / "sim" / "certificates")
    config = tmp_path / "my-config.yaml"
    udp = {kind: free_udp_port() for kind in ("log", "user", "task")}
    targets = [arg for kind, port in udp.items() for arg in (f"--udp-{kind}-target", f"127.0.0.1:{port}")]
    simulator_argv = [*SENSEBUTLER, "simulator", "--state-dir", str(tmp_path / "sim"), *ZERO_PORTS, *targets]
    simulator_argv += ["--write-config", str(config), "--influxdb-url", influxd.url]
    with process(simulator_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as simulator:
        assert simulator.stdout is not None
        ready = json.loads(simulator.stdout.readline() or "{}")
        assert ready.get("config_file") == str(config), ready

        written = YAML(typ="safe").load(config.read_text())
        assert [s["name"] for s in written["qlik"]["servers"]] == ["Central", "Rim1", "Rim2"]
        assert [s["engine_port"] for s in written["qlik"]["servers"]] == [
            n["engine_port"] for n in ready["nodes"]
        ]
        assert written["qlik"]["qrs"]["port"] == ready["qrs_port"]
        assert written["qlik"]["certificates"]["ca"] == ready["certificates"]["root"]
        assert {kind: written["udp"][f"{kind}_events"]["port"] for kind in udp} == udp
        assert written["prometheus"] == {"enable": True, "listener": "metrics"}
        assert written["web"] == {"listeners": {"metrics": {"host": "127.0.0.1", "port": 9842}}}
        assert written["influxdb"]["enable"] is True and written["influxdb"]["url"] == influxd.url

        verified = subprocess.run(
            [*SENSEBUTLER, "config", "verify", str(config)], capture_output=True, text=True
        )
        assert verified.returncode == 0 and "valid" in verified.stdout, verified.stderr

        # the documented overrides: our own database, and any free port for /metrics
        env = {
            **os.environ,
            "SENSEBUTLER__INFLUXDB__V1__DATABASE": influx_db,
            "SENSEBUTLER__WEB__LISTENERS__METRICS__PORT": "0",
        }
        run_argv = [*SENSEBUTLER, "run", "--config", str(config)]
        with process(run_argv, env=env, stderr=subprocess.PIPE) as service:
            health = wait_for_rows(
                influxd,
                influx_db,
                "SELECT * FROM sense_server GROUP BY *",
                lambda rows: {r["server_name"] for r in rows} >= {"Central", "Rim1", "Rim2"},
            )
            assert all(row["version"] for row in health)
            # a failed reload on the site arrives over the UDP input the file configured
            trigger = [*SENSEBUTLER, "simulator", "--state-dir", str(tmp_path / "sim"), "trigger"]
            reload = subprocess.run(
                [
                    *trigger,
                    "reload",
                    "Reload of Sandbox",
                    "--outcome",
                    "failed",
                    "--duration",
                    "0.1",
                    "--wait",
                ],
                capture_output=True,
                text=True,
            )
            assert reload.returncode == 0, reload.stdout + reload.stderr
            wait_for_rows(
                influxd,
                influx_db,
                "SELECT * FROM log_event WHERE source = 'qseow-scheduler' GROUP BY *",
                lambda rows: any("Sandbox" in str(row.get("task_name", "")) for row in rows),
            )
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=60) == 0
        simulator.send_signal(signal.SIGTERM)
        assert simulator.wait(timeout=60) == 0


def test_influxdb_url_needs_write_config(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app, ["simulator", "--state-dir", str(tmp_path), "--influxdb-url", "http://127.0.0.1:8086"]
    )
    assert result.exit_code == 2 and "--influxdb-url goes with --write-config" in result.output
