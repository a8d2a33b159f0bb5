from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from sensebutler import hotpath
from sensebutler.cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_verify_example_exits_0() -> None:
    result = runner.invoke(app, ["config", "verify", str(REPO / "config" / "example.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_verify_bad_file_exits_1_and_names_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("udp:\n  log_events:\n    port: 'nine'\n    alowed_sources: []\n")
    result = subprocess.run(
        [sys.executable, "-m", "sensebutler", "config", "verify", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "line 3: udp.log_events.port: expected an integer, got 'nine'" in result.stderr
    assert "did you mean 'allowed_sources'?" in result.stderr


def test_verify_missing_file_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "verify", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1


def test_show_masks_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mqtt:\n  password: ${MQTT_PASSWORD}\n")
    result = subprocess.run(
        [sys.executable, "-m", "sensebutler", "config", "show", str(cfg)],
        capture_output=True,
        text=True,
        env={**os.environ, "MQTT_PASSWORD": "hunter2-secret"},
    )
    assert result.returncode == 0, result.stderr
    assert "hunter2-secret" not in result.stdout
    assert "password: '**********'" in result.stdout
    assert "base_topic: butler-sos/" in result.stdout


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith("sensebutler ")


def test_run_all_disabled_starts_says_so_and_stops_on_sigterm(tmp_path: Path) -> None:
    cfg = tmp_path / "off.yaml"
    cfg.write_text(
        f"state:\n  dir: {tmp_path / 'state'}\nself_metrics:\n  enable: false\nstore:\n  enable: false\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensebutler", "run", "--config", str(cfg)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 30
    while "nothing is enabled" not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert "nothing is enabled" in seen, seen
    assert f"UDP hot path: {hotpath.STATUS}" in seen, seen  # what runs, compiled or pure, and why
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = proc.wait(timeout=10)
    assert code == 0, proc.stderr.read()
    assert time.monotonic() - started < 2


def test_run_with_invalid_config_exits_1(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("polling: 3\n")
    result = runner.invoke(app, ["run", "--config", str(cfg)])
    assert result.exit_code == 1


def test_run_with_unwritable_state_dir_exits_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"state:\n  dir: {blocker / 'sub'}\n")
    result = subprocess.run(
        [sys.executable, "-m", "sensebutler", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3
    assert "cannot create the state directory" in result.stderr
