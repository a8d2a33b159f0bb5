"""``sensebutler demo`` as a process, without flags: where each line comes from, what every sink did,
a failed reload early on, and that it says it stopped on Ctrl-C."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.demo import running_demo


def test_demo_without_flags_shows_origins_sinks_a_failed_reload_and_stopping(
    tmp_path: Path, simulator_certificates: Path
) -> None:
    with running_demo(tmp_path, simulator_certificates, "--activity-rate", "10") as demo:
        try:
            demo.wait_for(r"^sensebutler prometheus endpoint: http://127\.0\.0\.1:\d+/metrics")
            demo.wait_for(r"^Lines marked 'site' come from the simulated Qlik Sense site")
            demo.wait_for(r"^site +\d\d:\d\d:\d\d qlikserver\d +(INFO|WARN|ERROR)")
            # the demo makes a reload fail early; the site logs it and sensebutler receives it over UDP
            demo.wait_for(r"^site +\d\d:\d\d:\d\d qlikserver1 +ERROR .*Test failing reloads")
            demo.wait_for(r"^sensebutler received a task event: reload failed, 'Manually triggered reload")
            demo.wait_for(r"^site +-- \d+ sessions")
            prometheus = demo.wait_for(r"sink prometheus").string
            assert re.search(r"pull: \d+ events taken, served at http://127\.0\.0\.1:\d+/metrics", prometheus)
            influxdb = demo.wait_for(r"sink influxdb").string
            assert "off (sensebutler demo --influxdb-url" in influxdb
        finally:
            code, rest = demo.stop()
    assert code == 0, demo.stderr()
    assert rest[-1] == "Stopped: the simulated site and sensebutler shut down cleanly.\n", rest[-5:]
    assert "sensebutler stopping: flushing its sinks\n" in rest
