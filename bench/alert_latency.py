"""Failed-reload datagram → alert delivered (e-mail, outgoing webhook or Slack): latency and sustained
alerts per second.

The simulator's QRS answers each call after about ``--qrs-delay-ms`` (20) and serves a script log
``--log-delay-ms`` (200) after it is asked for it; ``--destination`` says what receives the alerts:
``email`` (aiosmtpd in process), ``webhook`` (a POST webhook) or ``slack`` (a basic Slack message),
the last two an HTTP receiver in process. For each
alert a ``/scheduler-task-failed/`` datagram for a reload task with a script log is sent to
sensebutler's task-events port; latency is the time from sending it to the mail's arrival, with the
whole enrichment (task, app, owner, script log through both QRS calls and the download) in between.
Each alert goes to one recipient, webhook or channel (no rate limit).

* latency: ``--alerts`` alerts, one every ``--gap-ms`` (not a burst): p50/p99;
* throughput: ``--burst`` alerts sent at ``--burst-rate`` per second; alerts/s = delivered / (last
  arrival − first send), and whether every one arrived.

Prints one JSON object. Run: ``.venv/bin/python bench/alert_latency.py [--destination webhook]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aiosmtpd.smtp import SMTP, Envelope, Session  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402
from tests.fixtures.net import free_udp_port  # noqa: E402
from tests.fixtures.servers import HttpReceiver, SmtpServer  # noqa: E402

from sensebutler import app  # noqa: E402
from sensebutler.config import Config  # noqa: E402
from sensebutler.runtime import Runtime  # noqa: E402
from sensebutler.simulator import Simulator, SimulatorOptions  # noqa: E402
from sensebutler.simulator.ids import EMPTY_GUID  # noqa: E402
from sensebutler.simulator.monitoring_config import monitoring_config  # noqa: E402


class TimedSmtp(SmtpServer):
    """Records when each mail arrived, by the execution id in its subject."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = time.perf_counter()
        raw = envelope.original_content or b""
        for line in raw.split(b"\r\n"):
            if line.startswith(b"Subject: alert "):
                self.arrived.setdefault(line.split()[-1].decode(), now)
        return "250 Message accepted"


class TimedReceiver(HttpReceiver):
    """Records when each webhook or Slack call arrived, by the execution id it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)
        now = time.perf_counter()
        body = json.loads(self.requests[-1].body)
        execution = body.get("executionId") or body.get("text", "").split()[-1]
        self.arrived.setdefault(execution, now)
        self.requests.clear()


def destination_config(destination: str, smtp: SmtpServer, receiver: HttpReceiver) -> dict[str, Any]:
    """The config section that sends every alert to ``destination`` once, unlimited."""
    if destination == "webhook":
        hook = {"url": f"{receiver.url}/hook", "method": "POST"}
        return {"webhook": {"enable": True, "webhooks": [hook], "reload_failed": {"rate_limit_s": 0}}}
    if destination == "slack":
        block = {"message_type": "basic", "basic_template": "alert {{executionId}}", "rate_limit_s": 0}
        return {"slack": {"enable": True, "webhook_url": f"{receiver.url}/slack", "reload_failed": block}}
    return {
        "email": {
            "enable": True,
            "from_address": "sensebutler@example.com",
            "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"},
            "reload_failed": {
                "recipients": ["ops@example.com"],
                "recipients_custom_property": "",
                "rate_limit_s": 0,
                "subject": "alert {{executionId}}",
            },
        }
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    smtp = TimedSmtp()
    smtp.start()
    receiver = TimedReceiver()
    receiver.start()
    recorder: TimedSmtp | TimedReceiver = smtp if args.destination == "email" else receiver
    port = free_udp_port()
    sim = Simulator(SimulatorOptions(state_dir=work / "sim", script_log_delay=args.log_delay_ms / 1000))
    await sim.start()
    try:
        sim.set_slow("Central", "qrs", args.qrs_delay_ms / 1000)
        tasks = [
            task
            for task in sim.model.tasks.values()
            if task.kind == "reload"
            and task.app is not None
            and task.last_result is not None
            and task.last_result.file_reference_id != EMPTY_GUID
        ]
        data = monitoring_config(
            sim.info, state_dir=work / "state", udp_ports=(free_udp_port(), free_udp_port(), port)
        )
        data["polling"] = {}
        data["self_metrics"] = {"enable": False}
        data["udp"] = {
            "metrics": {"enable": False},
            "task_events": {"enable": True, "host": "127.0.0.1", "port": port},
        }
        data["alerts"] = {"enable": True}
        data.update(destination_config(args.destination, smtp, receiver))
        config = Config.model_validate(data)
        stop = asyncio.Event()
        ready: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()

        async def on_ready(runtime: Runtime) -> None:
            ready.set_result(runtime)

        service = asyncio.create_task(app.run(config, stop, ready=on_ready))
        await asyncio.wait_for(asyncio.shield(ready), 60)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent: dict[str, float] = {}

        def send(n: int) -> None:
            task = tasks[n % len(tasks)]
            assert task.app is not None
            execution = str(uuid.uuid4())
            datagram = (
                f"/scheduler-task-failed/;qlikserver1;{task.name};{task.app.name};LAB\\goran;{task.id};"
                f"{task.app.id};2024-01-05 11:22:11,123;ERROR;{execution};Max retries reached"
            ).encode()
            sent[execution] = time.perf_counter()
            sock.sendto(datagram, ("127.0.0.1", port))

        async def arrived(ids: list[str], timeout: float) -> None:
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline and not all(i in recorder.arrived for i in ids):
                await asyncio.sleep(0.01)

        # latency, alerts spaced out
        for n in range(args.alerts):
            send(n)
            await asyncio.sleep(args.gap_ms / 1000)
        latency_ids = list(sent)
        await arrived(latency_ids, 60)
        latencies = [(recorder.arrived[i] - sent[i]) * 1000 for i in latency_ids if i in recorder.arrived]
        # throughput, a burst at a fixed rate
        sent.clear()
        interval = 1 / args.burst_rate
        began = time.perf_counter()
        for n in range(args.burst):
            send(n)
            await asyncio.sleep(max(0.0, began + (n + 1) * interval - time.perf_counter()))
        burst_ids = list(sent)
        await arrived(burst_ids, 120)
        got = [recorder.arrived[i] for i in burst_ids if i in recorder.arrived]
        span = (max(got) - min(sent.values())) if got else float("nan")
        stop.set()
        await asyncio.wait_for(service, 60)
        sock.close()
        return {
            "bench": "alert_latency",
            "destination": args.destination,
            "alerts": args.alerts,
            "delivered": len(latencies),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
            "max_ms": round(max(latencies), 1) if latencies else None,
            "burst": args.burst,
            "burst_rate": args.burst_rate,
            "burst_delivered": len(got),
            "alerts_per_s": round(len(got) / span, 1) if got else None,
            "qrs_delay_ms": args.qrs_delay_ms,
            "script_log_delay_ms": args.log_delay_ms,
        }
    finally:
        await sim.stop()
        smtp.stop()
        receiver.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--destination", choices=["email", "webhook", "slack"], default="email")
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--gap-ms", type=float, default=150)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--burst-rate", type=float, default=60)
    parser.add_argument("--qrs-delay-ms", type=float, default=20)
    parser.add_argument("--log-delay-ms", type=float, default=200)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
