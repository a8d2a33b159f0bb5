"""``sensebutler demo`` as a user starts it (``make demo`` after the install): how long until the
dashboard answers, until it has live data, and until the demo's promised events show on it.

Starts the demo (default activity rate) and asks the dashboard's data endpoints every half second.
Prints one JSON object, seconds from the start of the process (null: not seen before ``--deadline``):
``{"bench": "demo_first_data", "dashboard_url_s", "first_data_s" (a Site chart with points),
"failed_reload_s" (a failed reload with its script log on the Reloads page), "stopped_service_s"
(Services page), "alert_email_s", "alert_webhook_s" (what the mail catcher and webhook receiver
got, on the Reloads page), "loadavg"}``. The issue's targets: data within 30 s, a failed reload and a
stopped service within 120 s.

    .venv/bin/python bench/demo_first_data.py [--deadline 150] [--activity-rate 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

Check = Callable[[dict[str, Any]], bool]


def has_points(data: dict[str, Any]) -> bool:
    return any(points for chart in data.get("charts", []) for points in chart["series"].values())


def alert_on(channel: str) -> Check:
    return lambda data: any(row["level"] == channel for row in data.get("alerts", []))


CHECKS: dict[str, tuple[str, Check]] = {
    "first_data_s": ("site", has_points),
    "failed_reload_s": ("reloads", lambda data: bool(data.get("failures"))),
    "stopped_service_s": (
        "services",
        lambda data: any(r["level"] == "STOPPED" for r in data.get("changes", [])),
    ),
    "alert_email_s": ("reloads", alert_on("email")),
    "alert_webhook_s": ("reloads", alert_on("webhook")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deadline", type=float, default=150.0)
    parser.add_argument("--activity-rate", type=float, default=1.0)
    args = parser.parse_args()
    results: dict[str, float | None] = {"dashboard_url_s": None} | dict.fromkeys(CHECKS)
    with tempfile.TemporaryDirectory() as state:
        argv = [sys.executable, "-m", "sensebutler", "demo", "--state-dir", state]
        argv += ["--activity-rate", str(args.activity_rate)]
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                found = re.search(r"^sensebutler dashboard: (http://\S+)", line)
                if found and not url:
                    results["dashboard_url_s"] = round(time.monotonic() - started, 2)
                    url.append(found[1])

        threading.Thread(target=read, daemon=True).start()
        try:
            with httpx.Client(timeout=10) as client:
                while time.monotonic() - started < args.deadline and None in results.values():
                    time.sleep(0.5)
                    if not url:
                        continue
                    base, key = url[0].split("/login?key=")
                    pages: dict[str, dict[str, Any]] = {}
                    for name, (page, check) in CHECKS.items():
                        if results[name] is not None:
                            continue
                        if page not in pages:
                            answer = client.get(f"{base}/data/{page}?range=15m", headers={"X-API-Key": key})
                            pages[page] = answer.json()
                        if check(pages[page]):
                            results[name] = round(time.monotonic() - started, 2)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps({"bench": "demo_first_data", **results, "loadavg": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
