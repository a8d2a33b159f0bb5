"""Failed-reload datagram → alert delivered (e-mail, outgoing webhook or Slack): latency and sustained
alerts per second.

Three processes, as on a real site: the simulator (its own process: a reload task really fails there
and the task ends; its QRS answers each call after about ``--qrs-delay-ms`` (20) and serves the
script log from ``--log-delay-ms`` (200) after the task ended), sensebutler (its own process, its
defaults but for the destination), and this one, which sends the simulator its orders, relays the
simulator's task datagrams to sensebutler (noting when each ``/scheduler-task-failed/`` one went
out) and runs the receiver: ``email`` (aiosmtpd), ``webhook`` (a POST webhook) or ``slack`` (a basic
Slack message) on an HTTP receiver. Latency is the time from the failure datagram to the alert's
arrival, with the whole enrichment (task, app, owner, the script log through the QRS reference call
and the download) in between. Each alert goes to one recipient, webhook or channel (no rate limit);
the bench tasks have no retries, so a failure ends the task at once.

* latency: ``--alerts`` failures, one every ``--gap-ms`` (not a burst): p50/p99;
* throughput: ``--burst`` failures at ``--burst-rate`` per second; alerts/s = delivered / (last
  arrival − first datagram), and whether every one arrived.

Prints one JSON object. Run: ``.venv/bin/python bench/alert_latency.py [--destination webhook]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Coroutine
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aiosmtpd.smtp import SMTP, Envelope, Session  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402
from tests.fixtures.net import free_udp_port  # noqa: E402
from tests.fixtures.servers import HttpReceiver, SmtpServer  # noqa: E402

from sensebutler import app  # noqa: E402
from sensebutler.config import Config  # noqa: E402
from sensebutler.runtime import Runtime  # noqa: E402
from sensebutler.simulator import Simulator, SimulatorOptions  # noqa: E402
from sensebutler.simulator.monitoring_config import monitoring_config  # noqa: E402
from sensebutler.simulator.runs import TaskBusy  # noqa: E402

FAILED = b"/scheduler-task-failed/"


def profiled(main: Coroutine[Any, Any, None], profile: Path | None) -> None:
    """Run ``main``; with ``profile``, under cProfile, its stats written there."""
    if profile is None:
        asyncio.run(main)
        return
    with cProfile.Profile() as profiler:
        asyncio.run(main)
    profiler.dump_stats(profile)


# -- the simulator's process -----------------------------------------------------------------------
def run_site(
    conn: Connection,
    state_dir: Path,
    task_target: str,
    qrs_delay: float,
    log_delay: float,
    profile: Path | None,
) -> None:
    profiled(_site(conn, state_dir, task_target, qrs_delay, log_delay), profile)


async def _site(
    conn: Connection, state_dir: Path, task_target: str, qrs_delay: float, log_delay: float
) -> None:
    """Fails one reload task (the next one not running) per order received; None stops."""
    sim = Simulator(
        SimulatorOptions(state_dir=state_dir, udp_task_target=task_target, script_log_delay=log_delay)
    )
    await sim.start()
    try:
        sim.set_slow("Central", "qrs", qrs_delay)
        tasks = [task for task in sim.model.tasks.values() if task.kind == "reload" and task.app is not None]
        for task in tasks:
            task.max_retries = 0
        conn.send(sim.info)
        loop = asyncio.get_running_loop()
        turn = 0
        while await loop.run_in_executor(None, conn.recv) is not None:
            for _ in range(len(tasks)):
                task, turn = tasks[turn % len(tasks)], turn + 1
                try:
                    sim.runner.start(task, outcome="failed", duration=0.0, manual=False)
                except TaskBusy:
                    continue
                break
            else:
                print("bench: every reload task is running; failure not started", file=sys.stderr)
    finally:
        await sim.stop()


# -- sensebutler's process -------------------------------------------------------------------------
def run_service(conn: Connection, data: dict[str, Any], profile: Path | None) -> None:
    profiled(_service(conn, data), profile)


async def _service(conn: Connection, data: dict[str, Any]) -> None:
    """Runs until told to stop (anything received)."""
    stop = asyncio.Event()
    ready: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()

    async def on_ready(runtime: Runtime) -> None:
        ready.set_result(runtime)

    service = asyncio.create_task(app.run(Config.model_validate(data), stop, ready=on_ready))
    await asyncio.wait_for(asyncio.shield(ready), 60)
    conn.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    stop.set()
    await asyncio.wait_for(service, 60)


def cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- this process: relay and receivers ---------------------------------------------------------------
class Relay(asyncio.DatagramProtocol):
    """Forwards the simulator's task datagrams to sensebutler; notes when each failure went by."""

    def __init__(self, to: tuple[str, int]) -> None:
        self.to = to
        self.sent: dict[str, float] = {}
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        now = time.perf_counter()
        self._out.sendto(data, self.to)
        if data.startswith(FAILED):
            fields = data.split(b";")
            if len(fields) > 9:
                self.sent.setdefault(fields[9].decode(), now)


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
        body = json.loads(await Request(scope, receive).body())
        now = time.perf_counter()
        execution = body.get("executionId") or body.get("text", "").split()[-1]
        self.arrived.setdefault(execution, now)
        await Response(status_code=200)(scope, receive, send)


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
    spawn = multiprocessing.get_context("spawn")
    smtp = TimedSmtp()
    smtp.start()
    receiver = TimedReceiver()
    receiver.start()
    recorder: TimedSmtp | TimedReceiver = smtp if args.destination == "email" else receiver
    loop = asyncio.get_running_loop()
    port = free_udp_port()
    transport, relay = await loop.create_datagram_endpoint(
        lambda: Relay(("127.0.0.1", port)), local_addr=("127.0.0.1", 0)
    )
    relay_port = transport.get_extra_info("sockname")[1]
    site_conn, site_end = spawn.Pipe()
    site = spawn.Process(
        target=run_site,
        args=(
            site_end,
            work / "sim",
            f"127.0.0.1:{relay_port}",
            args.qrs_delay_ms / 1000,
            args.log_delay_ms / 1000,
            args.profile / "simulator.prof" if args.profile else None,
        ),
    )
    site.start()
    service_conn, service_end = spawn.Pipe()
    service: multiprocessing.process.BaseProcess | None = None
    try:
        info = await loop.run_in_executor(None, site_conn.recv)
        data = monitoring_config(
            info, state_dir=work / "state", udp_ports=(free_udp_port(), free_udp_port(), port)
        )
        data["polling"] = {}
        data["self_metrics"] = {"enable": False}
        data["udp"] = {
            "metrics": {"enable": False},
            "task_events": {"enable": True, "host": "127.0.0.1", "port": port},
        }
        data["alerts"] = {"enable": True}
        data.update(destination_config(args.destination, smtp, receiver))
        profile = args.profile / "sensebutler.prof" if args.profile else None
        service = spawn.Process(target=run_service, args=(service_end, data, profile))
        service.start()
        await loop.run_in_executor(None, service_conn.recv)

        async def arrived(count: int, timeout: float) -> list[str]:
            """The execution ids of the next ``count`` failures once their alerts arrived (or timeout)."""
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline and (
                len(relay.sent) < count or not all(i in recorder.arrived for i in relay.sent)
            ):
                await asyncio.sleep(0.01)
            return list(relay.sent)

        # latency, failures spaced out
        for _ in range(args.alerts):
            site_conn.send(1)
            await asyncio.sleep(args.gap_ms / 1000)
        latency_ids = await arrived(args.alerts, 60)
        latencies = [
            (recorder.arrived[i] - relay.sent[i]) * 1000 for i in latency_ids if i in recorder.arrived
        ]
        # throughput, failures at a fixed rate
        relay.sent.clear()
        cpu_before = {
            "sensebutler": cpu_s(service.pid),
            "simulator": cpu_s(site.pid),
            "bench": cpu_s(os.getpid()),
        }
        interval = 1 / args.burst_rate
        began = time.perf_counter()
        for n in range(args.burst):
            site_conn.send(1)
            await asyncio.sleep(max(0.0, began + (n + 1) * interval - time.perf_counter()))
        burst_ids = await arrived(args.burst, 120)
        cpu_after = {
            "sensebutler": cpu_s(service.pid),
            "simulator": cpu_s(site.pid),
            "bench": cpu_s(os.getpid()),
        }
        cpu_ms = {
            name: round((cpu_after[name] - cpu_before[name]) * 1000 / max(1, len(burst_ids)), 1)
            for name in cpu_after
        }
        got = [recorder.arrived[i] for i in burst_ids if i in recorder.arrived]
        first = min(relay.sent[i] for i in burst_ids)
        span = (max(got) - first) if got else float("nan")
        failed_span = max(relay.sent[i] for i in burst_ids) - first
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
            "burst_failed": len(burst_ids),
            "burst_failed_per_s": round(len(burst_ids) / failed_span, 1) if failed_span > 0 else None,
            "burst_delivered": len(got),
            "alerts_per_s": round(len(got) / span, 1) if got else None,
            "burst_cpu_ms_per_alert": cpu_ms,
            "qrs_delay_ms": args.qrs_delay_ms,
            "script_log_delay_ms": args.log_delay_ms,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        if service is not None:
            service_conn.send(None)
            service.join(60)
        site_conn.send(None)
        site.join(60)
        transport.close()
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
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="cProfile both processes into DIR/sensebutler.prof and DIR/simulator.prof",
    )
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
