"""Alert → Slack / Teams / webhook / Signl4 delivered: what the destinations themselves cost.

The enricher is left out (``bench/alert_latency.py`` measures the whole path from the datagram):
fully enriched alerts (a 400-line script log with quotes and backslashes) are handed to each sink,
formatted with sensebutler's own templates, rate limit off, state in SQLite; an HTTP receiver in
process records when each request arrives (by the task name it carries).

* latency: ``--alerts`` alerts, one every ``--gap-ms``: p50/p99 from ``submit`` to arrival;
* throughput: ``--burst`` alerts submitted at once; alerts/s = burst / (last arrival − first submit).

Prints one JSON object. Run: ``.venv/bin/python bench/alert_channels.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from starlette.types import Receive, Scope, Send  # noqa: E402
from tests.alerts import samples  # noqa: E402
from tests.fixtures.servers import HttpReceiver  # noqa: E402

from sensebutler.config import Config  # noqa: E402
from sensebutler.pipeline.router import Router  # noqa: E402
from sensebutler.runtime import Runtime  # noqa: E402
from sensebutler.sinks.signl4 import sink as signl4  # noqa: E402
from sensebutler.sinks.slack import sink as slack  # noqa: E402
from sensebutler.sinks.teams import sink as teams  # noqa: E402
from sensebutler.sinks.webhook import sink as webhook  # noqa: E402

BUILDERS = {"slack": slack.build, "teams": teams.build, "webhook": webhook.build, "signl4": signl4.build}
LOG = "".join(f'{n:04d} LOAD "x" FROM [lib://Data\\f{n}.qvd] (qvd); // it\'s\r\n' for n in range(400))
MARK = re.compile(rb"bench-(\d+)-alert")


class TimedReceiver(HttpReceiver):
    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[int, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)
        now = time.perf_counter()
        request = self.requests.pop()
        found = MARK.search(request.body + request.query_string.encode())
        if found:
            self.arrived.setdefault(int(found.group(1)), now)


def section(destination: str, url: str) -> dict[str, Any]:
    if destination == "webhook":
        return {"enable": True, "webhooks": [{"url": f"{url}/hook"}], "reload_failed": {"rate_limit_s": 0}}
    if destination == "signl4":
        return {"enable": True, "url": f"{url}/signl4", "reload_failed": {"rate_limit_s": 0}}
    return {"enable": True, "webhook_url": f"{url}/{destination}", "reload_failed": {"rate_limit_s": 0}}


async def run(
    destination: str, receiver: TimedReceiver, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    config = Config.model_validate(
        {
            "alerts": {
                "qlik_urls": {"qmc": "https://q/qmc", "hub": "https://q/hub", "app_base": "https://q/app"}
            },
            destination: section(destination, receiver.url),
        }
    )
    runtime = Runtime(config, Router(), work / destination)
    (sink,) = BUILDERS[destination](runtime)
    await runtime.state.start()
    await sink.start()
    base = samples.alert(script_log=LOG)

    async def send(count: int, gap_s: float) -> dict[int, float]:
        receiver.arrived.clear()
        submitted: dict[int, float] = {}
        for n in range(count):
            alert = msgspec.structs.replace(
                base, source=msgspec.structs.replace(base.source, task_name=f"bench-{n}-alert")
            )
            submitted[n] = time.perf_counter()
            sink.submit(alert)
            await asyncio.sleep(gap_s)
        deadline = time.perf_counter() + 120
        while len(receiver.arrived) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        return submitted

    submitted = await send(args.alerts, args.gap_ms / 1000)
    latencies = sorted((receiver.arrived[n] - submitted[n]) * 1000 for n in receiver.arrived)
    submitted = await send(args.burst, 0)
    burst_delivered = len(receiver.arrived)
    span = max(receiver.arrived.values()) - min(submitted.values()) if receiver.arrived else float("nan")
    await sink.stop()
    await runtime.state.close()
    return {
        "destination": destination,
        "alerts": args.alerts,
        "delivered": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))], 1)
        if latencies
        else None,
        "burst": args.burst,
        "burst_delivered": burst_delivered,
        "alerts_per_s": round(burst_delivered / span, 1) if burst_delivered else None,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    receiver = TimedReceiver()
    receiver.start()
    try:
        rows = [await run(name, receiver, work, args) for name in args.destinations]
    finally:
        receiver.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {"bench": "alert_channels", "rows": rows}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--gap-ms", type=float, default=20)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--destinations", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
