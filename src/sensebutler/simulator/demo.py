"""``sensebutler demo``: the simulator with background activity, monitored by sensebutler.

It prints where everything is (URLs, certificates, control API, the service's Prometheus endpoint),
then one line per thing that happens on the site (sessions, app connections, reloads and their
outcome, warnings and errors), and every ten seconds a table of what the monitoring service
collected: engine health per node, proxy sessions, log/user/task events, and what each sink did.
QIX performance rows are only counted, they are too many to print. Every line says where it comes
from: ``site`` (the simulated Qlik Sense) or ``sensebutler`` (the monitoring service). Early on the
demo makes a reload fail, so a failed reload shows within the first minute; on stop it says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import html
import logging
import re
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sensebutler import app as service
from sensebutler.config import Config
from sensebutler.config.web import WebListener
from sensebutler.events import Event
from sensebutler.events.alerts import AlertReceived
from sensebutler.runtime import Runtime
from sensebutler.simulator.control import ControlError
from sensebutler.simulator.demo_view import DemoView
from sensebutler.simulator.log4net import LogRecord
from sensebutler.simulator.runs import TaskBusy
from sensebutler.simulator.simulator import Simulator, SimulatorInfo, SimulatorOptions
from sensebutler.simulator.udp import Datagram
from sensebutler.web.mounts import WebMounts
from sensebutler.web.server import WebServer

_LEVEL_STYLE = {"WARN": "yellow", "ERROR": "bold red", "FATAL": "bold red"}
_QUIET_LOGGERS = ("QixPerformance.",)
#: the first column of every line: where it comes from
SITE = "site       "
SERVICE = "sensebutler"
#: a task of the default scenario that always fails; any task with an app otherwise
FAILING_TASK = "Manually triggered reload of Test failing reloads"
#: seconds (at activity rate 1) until the demo makes a reload fail
FAILED_RELOAD_AFTER_S = 20.0
#: the service the demo stops, and when (seconds at activity rate 1) and for how long
STOPPED_SERVICE = ("Rim1", "printing")
SERVICE_STOPPED_AFTER_S = 45.0
SERVICE_DOWN_S = 60.0
#: the monitors the demo runs: service states every 5 s, so a stopped service shows at once
DEMO_MONITORS: dict[str, Any] = {
    "services": {"enable": True, "frequency": 5},
    "restarts": {"enable": True},
    "license_usage": {"enable": True, "frequency": 60},
    "server_license": {"enable": True, "frequency": 60},
    "version": {"enable": True, "frequency": 300},
}
_STATE_LINES = (
    "Execution State Change to Triggered",
    "Execution State Change to Started",
    "Execution State Change to AbortInitiated",
    "Execution State Change to Aborted",
)


def say(console: Console, origin: str, text: str, style: str = "") -> None:
    console.print(f"{origin} {text}", style=style, markup=False, highlight=False, soft_wrap=True)


class ConsoleLogHandler(logging.Handler):
    """Log records on the demo's console, marked with where they come from (the simulator's own
    loggers are the site's; everything else is sensebutler's)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        origin = SITE if record.name.startswith("sensebutler.simulator") else SERVICE
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        try:
            text = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        except Exception:  # a bad format string must not end the demo
            text = f"{when} {record.levelname:<7} {record.name}: {record.msg!r}"
        say(self.console, origin, text, _LEVEL_STYLE.get(record.levelname[:4], "yellow"))


Publish = Callable[[Event], None]


_BREAKS = re.compile(r"<(?:br|/p|/div|/tr|/h\d|/li)\b[^>]*>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(style|script|head)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
_CELLS = re.compile(r"</t[dh]>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_text(text: str) -> str:
    """An HTML mail body as plain lines, for the dashboard (the mail catcher shows, it never renders)."""
    text = _TAGS.sub("", _CELLS.sub(" ", _BREAKS.sub("\n", _HIDDEN.sub("", text))))
    return _BLANK_LINES.sub("\n", html.unescape(text)).strip()


class MailCatcher:
    """The demo's local SMTP server (aiosmtpd, in process): prints every alert mail it receives and,
    once ``publish`` is set (the service's router), hands it to the dashboard as an
    :class:`AlertReceived`."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.received = 0
        self.port = 0
        self.publish: Publish | None = None
        self._controller: Any = None

    def start(self) -> int:
        from aiosmtpd.controller import Controller  # only the demo needs it

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        self.received += 1
        recipients = ", ".join(envelope.rcpt_tos)
        when = datetime.now().strftime("%H:%M:%S")
        say(self.console, SERVICE, f"{when} alert mail to {recipients}: {message['Subject']}", "bold magenta")
        if self.publish is not None:
            part = message.get_body(("plain", "html"))
            body = "" if part is None else part.get_content()
            if part is not None and part.get_content_subtype() == "html":
                body = html_text(body)
            subject = str(message["Subject"]).strip()
            self.publish(AlertReceived(channel="email", to=recipients, subject=subject, body=body))
        return "250 Message accepted"


class WebhookReceiver:
    """The demo's outgoing-webhook target: an HTTP server on 127.0.0.1 that prints every call and,
    once ``publish`` is set, hands it to the dashboard as an :class:`AlertReceived`."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.received = 0
        self.publish: Publish | None = None
        mounts = WebMounts()
        mounts.mount(
            "/",
            Starlette(routes=[Route("/{path:path}", self._call, methods=["GET", "POST", "PUT"])]),
            name="webhooks",
            listener="webhooks",
            exact=False,
        )
        self._server = WebServer("webhooks", WebListener(host="127.0.0.1", port=0), mounts)

    @property
    def url(self) -> str:
        return f"{self._server.url}/reload-alerts"

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    async def _call(self, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        try:
            fields = orjson.loads(body) if body else dict(request.query_params)
        except orjson.JSONDecodeError:
            fields = {}
        if not isinstance(fields, dict):
            fields = {}
        subject = (
            " ".join(str(fields.get(key, "")) for key in ("event", "taskName")).strip() or "(no subject)"
        )
        if fields:
            body = orjson.dumps(fields, option=orjson.OPT_INDENT_2).decode()
        to = f"{request.method} {request.url.path}"
        self.received += 1
        when = datetime.now().strftime("%H:%M:%S")
        say(self.console, SERVICE, f"{when} alert webhook {to}: {subject}", "bold magenta")
        if self.publish is not None:
            self.publish(AlertReceived(channel="webhook", to=to, subject=subject, body=body))
        return Response(status_code=204)


def alert_config(smtp_port: int, webhook_url: str) -> dict[str, Any]:
    """Config blocks that turn reload alerts on, mailed to the demo's mail catcher and posted to its
    webhook receiver."""
    block = {"recipients": ["qlik-admins@lab.example.com"], "app_owner": {"enable": True}, "rate_limit_s": 60}
    hook = {"rate_limit_s": 60}
    service = {"recipients": ["qlik-admins@lab.example.com"], "rate_limit_s": 60}
    return {
        "webhook": {
            "enable": True,
            "webhooks": [{"description": "the demo's receiver", "url": webhook_url, "method": "POST"}],
            "reload_failed": hook,
            "reload_aborted": hook,
            "service_stopped": hook,
            "service_started": hook,
        },
        "alerts": {
            "enable": True,
            "qlik_urls": {
                "qmc": "https://qlik.lab.example.com/qmc",
                "hub": "https://qlik.lab.example.com/hub",
                "app_base": "https://qlik.lab.example.com/sense/app",
            },
        },
        "email": {
            "enable": True,
            "from_address": "sensebutler-demo@lab.example.com",
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"},
            "reload_failed": block,
            "reload_aborted": block,
            "service_stopped": service,
            "service_started": service,
        },
    }


def describe(info: SimulatorInfo) -> list[str]:
    lines = ["Simulated Qlik Sense site:"]
    for node in info.nodes:
        line = f"  {node.name:<8} {node.host_name:<30} engine {node.engine_url}  proxy {node.proxy_url}"
        if node.qrs_url:
            line += f"  QRS {node.qrs_url}  About {node.about_url}"
        lines.append(line)
    paths = info.certificates
    lines.append(f"  client certificate {paths.client}, key {paths.client_key}, CA {paths.root}")
    control = info.control_url
    lines.append(f"  control API {control} (try: sensebutler simulator trigger --control {control} status)")
    targets = info.udp_targets.as_json()
    lines.append(
        f"  UDP: log events -> {targets['log']}, user events -> {targets['user']}, "
        f"task events -> {targets['task']}"
    )
    return lines


class Narrator:
    """Turns what the site logs into console lines."""

    def __init__(self, console: Console, app_names: dict[str, str]) -> None:
        self.console = console
        self.app_names = app_names
        self.qix_rows = 0

    def __call__(self, record: LogRecord, datagrams: list[Datagram]) -> None:
        if record.logger.startswith(_QUIET_LOGGERS):
            self.qix_rows += 1
            return
        audit = record.logger.startswith("AuditActivity")
        if record.message in _STATE_LINES or (record.level == "INFO" and not datagrams and not audit):
            return
        text = record.message
        task = record.properties.get("TaskName")
        if task and task not in text:
            text = f"{task}: {text}"
        if audit:
            text = text.split(" UserAgent:", 1)[0]
        for app_id, name in self.app_names.items():
            text = text.replace(app_id, name)
        say(
            self.console,
            SITE,
            f"{record.time.strftime('%H:%M:%S')} {record.hostname:<12} {record.level:<5} {text}",
            _LEVEL_STYLE.get(record.level, ""),
        )


def dashboard_url(runtime: Runtime) -> str:
    """The dashboard's sign-in URL with the first API key, when the dashboard is mounted."""
    listener = runtime.config.dashboard.listener
    mounted = any(m.path == "/dashboard" for m in runtime.web.mounts.get(listener, []))
    port = runtime.web.port(listener)
    keys = runtime.config.api.keys
    if not mounted or port is None or not keys:
        return ""
    key = keys[0].key.get_secret_value()
    return f"http://127.0.0.1:{port}/dashboard/login?key={key}"


async def fail_a_reload(sim: Simulator, console: Console, after_s: float) -> None:
    """Start a reload that fails, ``after_s`` into the demo, so a failure shows early."""
    await asyncio.sleep(after_s)
    tasks = [task for task in sim.model.tasks.values() if task.name == FAILING_TASK]
    tasks = tasks or [task for task in sim.model.tasks.values() if task.app is not None]
    if not tasks:
        return
    name = tasks[0].name
    try:
        await sim.trigger_reload(name, outcome="failed", duration=2.0)
    except (ControlError, TaskBusy) as exc:
        say(console, SITE, f"(the demo could not start {name!r} to show a failed reload: {exc})", "dim")
        return
    say(console, SITE, f"(the demo starts {name!r}, which will fail, to show a failed reload)", "dim")


async def stop_a_service(sim: Simulator, console: Console, after_s: float, down_s: float) -> None:
    """Stop a service ``after_s`` into the demo and start it again ``down_s`` later, so the service
    monitor (and its alerts) show a stopped service early."""
    node, service = STOPPED_SERVICE
    await asyncio.sleep(after_s)
    try:
        await sim.stop_service(node, service)
        say(console, SITE, f"(the demo stops the {service} service on {node}, for {down_s:g} s)", "dim")
        await asyncio.sleep(down_s)
        await sim.start_service(node, service)
    except ControlError as exc:
        say(console, SITE, f"(the demo could not stop and start {service} on {node}: {exc})", "dim")
        return
    say(console, SITE, f"(the demo starts the {service} service on {node} again)", "dim")


async def run_demo(
    options: SimulatorOptions,
    console: Console,
    stop: asyncio.Event,
    *,
    service_config: Callable[[SimulatorInfo], Config] | None = None,
    summary_every_s: float = 10.0,
    failed_reload_after_s: float | None = None,
    fail_a_reload_every_s: float = 0.0,
    receivers: Sequence[MailCatcher | WebhookReceiver] = (),
) -> None:
    """Run the narrated simulator, and the monitoring service when ``service_config`` is given,
    until ``stop`` is set. A reload is made to fail after ``failed_reload_after_s`` (default
    :data:`FAILED_RELOAD_AFTER_S` divided by the activity rate)."""
    if failed_reload_after_s is None:
        failed_reload_after_s = FAILED_RELOAD_AFTER_S / options.activity_rate
    async with Simulator(options) as sim:
        narrator = Narrator(console, {app.id: app.name for app in sim.model.apps.values()})
        sim.udp.observe(narrator)
        for line in describe(sim.info):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        view = DemoView(lambda text: say(console, SERVICE, text, "bold"))
        monitoring: asyncio.Task[None] | None = None
        runtime: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()
        if service_config is not None:

            async def ready(rt: Runtime) -> None:
                rt.router.add(view)
                loop = asyncio.get_running_loop()

                def publish(event: Event) -> None:  # the mail catcher runs on a thread of its own
                    loop.call_soon_threadsafe(rt.router.publish, event)

                for receiver in receivers:  # what they receive goes to the dashboard
                    receiver.publish = publish
                runtime.set_result(rt)

            monitoring = asyncio.create_task(service.run(service_config(sim.info), stop, ready=ready))
            waiting: set[asyncio.Future[object]] = {monitoring, runtime}  # type: ignore[arg-type]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if monitoring.done():
                monitoring.result()  # raises why it could not start
            for sink in runtime.result().router.sinks:
                port = getattr(sink, "port", None)
                if port:
                    say(console, SERVICE, f"{sink.name} endpoint: http://127.0.0.1:{port}/metrics")
            url = dashboard_url(runtime.result())
            if url:
                say(console, SERVICE, f"dashboard: {url}", "bold")
        console.print(
            f"Lines marked '{SITE.strip()}' come from the simulated Qlik Sense site, lines marked "
            f"'{SERVICE}' from the monitoring service. Press Ctrl+C to stop.\n",
            markup=False,
            highlight=False,
        )
        failing = asyncio.create_task(fail_a_reload(sim, console, failed_reload_after_s))
        stopping = asyncio.create_task(
            stop_a_service(
                sim,
                console,
                SERVICE_STOPPED_AFTER_S / options.activity_rate,
                SERVICE_DOWN_S / options.activity_rate,
            )
        )
        repeating: asyncio.Task[None] | None = None
        if fail_a_reload_every_s > 0:
            repeating = asyncio.create_task(_fail_reloads(sim, fail_a_reload_every_s, stop))
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), summary_every_s)
                status = sim.status()
                say(
                    console,
                    SITE,
                    f"-- {status['proxy_sessions']} sessions, {status['engine_connections']} app "
                    f"connections, {len(status['running_tasks'])} tasks running, "
                    f"{narrator.qix_rows} QIX rows, {sum(status['udp']['sent'].values())} datagrams sent",
                    "dim",
                )
                if runtime.done():
                    console.print(view.table(runtime.result().router))
        finally:
            stop.set()
            for task in (failing, stopping):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if repeating is not None:
                repeating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await repeating
            if monitoring is not None:
                say(console, SERVICE, "stopping: flushing its sinks")
                await monitoring
    what = "the simulated site and sensebutler" if service_config is not None else "the simulated site"
    console.print(f"Stopped: {what} shut down cleanly.", markup=False, highlight=False)


async def _fail_reloads(sim: Simulator, every_s: float, stop: asyncio.Event) -> None:
    """Fail a reload now and then, so the demo shows its alerts (the first one after a few seconds)."""
    reloads = [task for task in sim.model.tasks.values() if task.kind == "reload" and task.app is not None]
    turn = 0
    delay = min(5.0, every_s)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return
        delay = every_s
        task = reloads[turn % len(reloads)]
        turn += 1
        with contextlib.suppress(Exception):  # busy (already running): the next turn takes another
            await sim.trigger_reload(task.id, outcome="failed", duration=1.0)
