"""``sensebutler demo`` as a process, without flags: where each line comes from, what every sink did,
a failed reload early on, and that it says it stopped on Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

DEADLINE_S = 90  # generous: two cores shared by several test runs


def test_demo_without_flags_shows_origins_sinks_a_failed_reload_and_stopping(
    tmp_path: Path, simulator_certificates: Path
) -> None:
    shutil.copytree(simulator_certificates, tmp_path / "certificates")
    argv = [
        sys.executable,
        "-m",
        "sensebutler",
        "demo",
        "--state-dir",
        str(tmp_path),
        "--activity-rate",
        "10",
    ]
    env = {**os.environ, "COLUMNS": "250"}  # rich wraps table cells at 80 columns in a pipe
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []

    def wait_for(pattern: str) -> str:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(seen)[-4000:]}")

    try:
        wait_for(r"^sensebutler prometheus endpoint: http://127\.0\.0\.1:\d+/metrics")
        wait_for(r"^Lines marked 'site' come from the simulated Qlik Sense site")
        wait_for(r"^site +\d\d:\d\d:\d\d qlikserver\d +(INFO|WARN|ERROR)")
        # the demo makes a reload fail early; the site logs it and sensebutler receives it over UDP
        wait_for(r"^site +\d\d:\d\d:\d\d qlikserver1 +ERROR .*Test failing reloads")
        wait_for(r"^sensebutler received a task event: reload failed, 'Manually triggered reload")
        wait_for(r"^site +-- \d+ sessions")
        prometheus = wait_for(r"sink prometheus")
        assert re.search(r"pull: \d+ events taken, served at http://127\.0\.0\.1:\d+/metrics", prometheus)
        influxdb = wait_for(r"sink influxdb")
        assert "off (sensebutler demo --influxdb-url" in influxdb
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    rest = []
    while (line := lines.get(timeout=10)) is not None:
        rest.append(line)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert rest[-1] == "Stopped: the simulated site and sensebutler shut down cleanly.\n", rest[-5:]
    assert "sensebutler stopping: flushing its sinks\n" in rest
