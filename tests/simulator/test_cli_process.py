"""``sensebutler simulator`` as a process: one ready line on stdout, clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import ssl
import sys
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from sensebutler.simulator.cli import register

ZERO_PORTS = ["--qrs-port", "0", "--proxy-port", "0", "--engine-port", "0", "--about-port", "0"]


async def test_ready_line_then_clean_stop_on_sigterm(tmp_path: Path, simulator_certificates: Path) -> None:
    shutil.copytree(simulator_certificates, tmp_path / "certificates")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sensebutler.simulator",
        "--state-dir",
        str(tmp_path),
        *ZERO_PORTS,
        "--extra-engines",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        ready = json.loads(line)
        assert ready["ready"] is True and ready["pid"] == process.pid
        assert [node["name"] for node in ready["nodes"]] == ["Central", "Rim1", "Rim2"]
        assert len(ready["extra_engines"]) == 3
        certificates = ready["certificates"]
        assert Path(certificates["root"]).exists() and Path(certificates["client_key"]).exists()
        assert json.loads((tmp_path / "simulator.json").read_text())["qrs_port"] == ready["qrs_port"]
        context = ssl.create_default_context(cafile=certificates["root"])
        context.load_cert_chain(certificates["client"], certificates["client_key"])
        assert ready["lenient_certificates"] is False  # each node presents its own certificate
        node = ready["nodes"][0]
        async with httpx.AsyncClient(verify=context) as http:
            url = node["engine_url"] + "/engine/healthcheck"
            response = await http.get(url, extensions={"sni_hostname": node["host_name"]})
            assert response.status_code == 200
        async with httpx.AsyncClient(verify=context) as http:  # a new connection, asking for the address
            with pytest.raises(httpx.ConnectError, match=r"not valid for '127\.0\.0\.1'"):
                await http.get(url)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert stdout == b""  # nothing after the ready line
    assert b"ready" in stderr  # logs go to stderr


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["simulator", "--state-dir", str(tmp_path), "--udp-log-target", "nohost"])
    assert result.exit_code == 2 and "invalid UDP target" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: []\nbogus: 1\n")
    result = runner.invoke(app, ["simulator", "--state-dir", str(tmp_path), "--scenario", str(bad)])
    assert result.exit_code == 2 and "bogus" in result.output
