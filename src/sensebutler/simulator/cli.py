"""``sensebutler simulator`` and ``sensebutler demo``.

* ``sensebutler simulator [OPTIONS]`` starts the fake Qlik Sense site, prints exactly one JSON line on
  stdout when every listener is up (URLs, ports, certificate paths, control API; also written to
  ``<state dir>/simulator.json``; with hundreds of extra engines the line is long, read it with a
  large buffer) and stops cleanly with exit code 0 on SIGTERM or SIGINT. Logs go to stderr.
  ``--write-config FILE`` also writes a sensebutler configuration that monitors the site (before
  the ready line, which then names it as ``config_file``).
* ``sensebutler simulator trigger COMMAND ...`` acts on a running simulator (see :mod:`trigger_cli`).
* ``sensebutler demo`` runs it with background activity and narrates what happens.

Exit codes: 2 bad arguments (invalid scenario, UDP target), 3 could not start (port in use, state
dir not writable).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sensebutler.config import Config, ConfigError, validate_config
from sensebutler.config.logging import LoggingConfig
from sensebutler.logs import setup_logging
from sensebutler.runtime import StartupError, install_stop_signals
from sensebutler.simulator.demo import (
    DEMO_MONITORS,
    ConsoleLogHandler,
    MailCatcher,
    WebhookReceiver,
    alert_config,
    run_demo,
)
from sensebutler.simulator.monitoring_config import config_yaml, monitoring_config, site_config
from sensebutler.simulator.scenario import ScenarioError, load_scenario
from sensebutler.simulator.simulator import Simulator, SimulatorInfo, SimulatorOptions
from sensebutler.simulator.trigger_cli import trigger_app
from sensebutler.simulator.udp import TargetError, parse_target

EXIT_USAGE = 2
EXIT_STARTUP = 3
DEFAULT_STATE_DIR = Path(".state/simulator")
#: where Sense's log4net appenders send log, user and task events (Butler SOS's defaults)
DEFAULT_UDP_PORTS = (9996, 9997, 9998)

log = logging.getLogger("sensebutler.simulator")


@dataclass(frozen=True)
class ConfigRequest:
    """``--write-config FILE`` and what goes into the file besides the site itself."""

    path: Path
    influxdb_url: str | None = None


def write_site_config(request: ConfigRequest, info: SimulatorInfo) -> Path:
    """Write a configuration that monitors the running site; it is validated first, so what
    ``config verify`` would refuse is never written."""
    path = request.path.resolve()
    data = site_config(info, state_dir=path.parent / "state", influxdb_url=request.influxdb_url)
    try:
        validate_config(data, str(path))
    except ConfigError as exc:  # a bug here, not the user's: say it plainly
        raise RuntimeError(f"the configuration for this site does not validate: {exc}") from None
    header = [
        "sensebutler configuration for the simulated Qlik Sense site started at "
        f"{datetime.now():%Y-%m-%d %H:%M} (simulator state: {info.state_dir.resolve()}).",
        f"  sensebutler config verify {path}",
        f"  sensebutler run --config {path}",
        "Annotated reference of every key: config/example.yaml.",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_yaml(data, header), encoding="utf-8")
    return path


async def _serve(options: SimulatorOptions, config_request: ConfigRequest | None = None) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop)
    simulator = Simulator(options)
    try:
        info = await simulator.start()
    except BaseException:
        await simulator.stop()
        raise
    try:
        ready = info.as_json()
        if config_request is not None:
            written = write_site_config(config_request, info)
            ready["config_file"] = str(written)
            log.info(
                "wrote a configuration for this site to %s; try: sensebutler config verify %s && "
                "sensebutler run --config %s",
                written,
                written,
                written,
            )
        sys.stdout.write(json.dumps(ready, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        await stop.wait()
        log.info("stopping")
    finally:
        await simulator.stop()


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"sensebutler simulator: {message}", err=True)
    return typer.Exit(code)


def build_options(
    state_dir: Path,
    host: str,
    ports: dict[str, int],
    targets: dict[str, str | None],
    scenario: Path | None,
    seed: int | None,
    background: bool,
    activity_rate: float,
    extra_engines: int,
    *,
    lenient_certificates: bool = False,
) -> SimulatorOptions:
    """Validate command-line values into options; raises ``typer.Exit`` with a clear message."""
    for name, value in targets.items():
        if value is not None:
            try:
                parse_target(value)
            except TargetError as exc:
                raise _fail(f"--udp-{name}-target: {exc}", EXIT_USAGE) from None
    for name, port in ports.items():
        if not 0 <= port < 65536:
            raise _fail(f"--{name}-port must be between 0 and 65535", EXIT_USAGE)
    if extra_engines < 0:
        raise _fail("--extra-engines must not be negative", EXIT_USAGE)
    if activity_rate <= 0:
        raise _fail("--activity-rate must be positive", EXIT_USAGE)
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    return SimulatorOptions(
        state_dir=state_dir,
        host=host,
        qrs_port=ports["qrs"],
        proxy_port=ports["proxy"],
        engine_port=ports["engine"],
        about_port=ports["about"],
        control_port=ports["control"],
        udp_log_target=targets["log"],
        udp_user_target=targets["user"],
        udp_task_target=targets["task"],
        scenario=loaded,
        seed=seed,
        background=background,
        activity_rate=activity_rate,
        extra_engines=extra_engines,
        lenient_certificates=lenient_certificates,
    )


def run_simulator(
    options: SimulatorOptions, log_level: str = "info", config_request: ConfigRequest | None = None
) -> None:
    try:
        logging_config = LoggingConfig.model_validate({"level": log_level.lower()})
    except ValueError:
        raise _fail("--log-level must be debug, info, warning or error", EXIT_USAGE) from None
    setup_logging(logging_config)
    try:
        asyncio.run(_serve(options, config_request))
    except OSError as exc:
        raise _fail(f"could not start: {exc}", EXIT_STARTUP) from None


StateDir = Annotated[Path, typer.Option("--state-dir", help="Certificates and state live here.")]
Port = Annotated[int, typer.Option(min=0, max=65535)]


def simulator_app() -> typer.Typer:
    app = typer.Typer(
        help="Run a fake Qlik Sense Enterprise on Windows site (QRS, proxy, engine, About, UDP log events).",
        invoke_without_command=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def simulator(
        ctx: typer.Context,
        state_dir: StateDir = DEFAULT_STATE_DIR,
        host: Annotated[str, typer.Option(help="Address every listener binds to.")] = "127.0.0.1",
        qrs_port: Annotated[int, typer.Option(help="QRS port (0 = any free port).")] = 4242,
        proxy_port: Annotated[int, typer.Option(help="Proxy port of the first node; next nodes +1.")] = 4243,
        engine_port: Annotated[
            int, typer.Option(help="Engine port of the first node; next nodes +1.")
        ] = 4747,
        about_port: Annotated[int, typer.Option(help="About service port.")] = 9032,
        control_port: Annotated[int, typer.Option(help="Plain-HTTP control API port on loopback.")] = 0,
        udp_log_target: Annotated[str | None, typer.Option(help="host:port for log events (9996).")] = None,
        udp_user_target: Annotated[str | None, typer.Option(help="host:port for user events (9997).")] = None,
        udp_task_target: Annotated[str | None, typer.Option(help="host:port for task events (9998).")] = None,
        scenario: Annotated[
            Path | None, typer.Option(help="Scenario YAML (default: the shipped one).")
        ] = None,
        seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
        background: Annotated[
            bool, typer.Option(help="Simulate users, log events and scheduled reloads.")
        ] = False,
        activity_rate: Annotated[
            float, typer.Option(help="Scale of background activity (1 = normal).")
        ] = 1.0,
        extra_engines: Annotated[int, typer.Option(help="Extra engine-only nodes for benchmarks.")] = 0,
        lenient_certificates: Annotated[
            bool,
            typer.Option(
                help="One server certificate naming every node, localhost and 127.0.0.1 "
                "(default: each node's own, naming only that node, as in Sense)."
            ),
        ] = False,
        log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
        write_config: Annotated[
            Path | None,
            typer.Option(
                help="Write a sensebutler configuration that monitors this site to FILE (UDP targets "
                "not given default to 127.0.0.1:9996/9997/9998).",
                metavar="FILE",
            ),
        ] = None,
        influxdb_url: Annotated[
            str | None,
            typer.Option(help="With --write-config: enable InfluxDB 1.x at this URL in the configuration."),
        ] = None,
    ) -> None:
        """Start the simulator (when no subcommand is given)."""
        if ctx.invoked_subcommand is not None:
            ctx.obj = {"state_dir": state_dir}
            return
        ports = {
            "qrs": qrs_port,
            "proxy": proxy_port,
            "engine": engine_port,
            "about": about_port,
            "control": control_port,
        }
        targets = {"log": udp_log_target, "user": udp_user_target, "task": udp_task_target}
        config_request = None
        if influxdb_url is not None and write_config is None:
            raise _fail("--influxdb-url goes with --write-config", EXIT_USAGE)
        if write_config is not None:
            if influxdb_url is not None and not influxdb_url.startswith(("http://", "https://")):
                raise _fail("--influxdb-url must start with http:// or https://", EXIT_USAGE)
            config_request = ConfigRequest(write_config, influxdb_url)
            state_dir = state_dir.resolve()  # the file names the certificates by absolute path
            targets = {
                name: target or f"127.0.0.1:{port}"
                for (name, target), port in zip(targets.items(), DEFAULT_UDP_PORTS, strict=True)
            }
        options = build_options(
            state_dir,
            host,
            ports,
            targets,
            scenario,
            seed,
            background,
            activity_rate,
            extra_engines,
            lenient_certificates=lenient_certificates,
        )
        run_simulator(options, log_level, config_request)

    app.add_typer(trigger_app(), name="trigger")
    return app


def demo(
    state_dir: Annotated[Path, typer.Option(help="Certificates and state live here.")] = Path(".state/demo"),
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
    activity_rate: Annotated[float, typer.Option(help="Scale of background activity (1 = normal).")] = 1.0,
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (default: the shipped one).")] = None,
    monitor: Annotated[bool, typer.Option(help="Run the sensebutler service against the site.")] = True,
    influxdb_url: Annotated[
        str | None,
        typer.Option(
            help="Also write to this InfluxDB 1.x (database 'senseops'), e.g. http://127.0.0.1:8086."
        ),
    ] = None,
    duration: Annotated[float, typer.Option(help="Stop after this many seconds (0 = until Ctrl+C).")] = 0.0,
    alerts: Annotated[
        bool,
        typer.Option(
            help="Send reload alerts to a local mail catcher and webhook receiver that print them "
            "(and show them on the dashboard)."
        ),
    ] = True,
    web_port: Annotated[
        int, typer.Option(help="Port of the dashboard and the API on 127.0.0.1 (0 = any free port).")
    ] = 0,
) -> None:
    """Run a simulated site with activity, monitored by sensebutler; show what it collects (Ctrl+C stops)."""
    ports = {"qrs": 0, "proxy": 0, "engine": 0, "about": 0, "control": 0}
    udp_ports = (free_udp_port(), free_udp_port(), free_udp_port()) if monitor else None
    targets: dict[str, str | None] = {"log": None, "user": None, "task": None}
    if udp_ports is not None:
        targets = {
            name: f"127.0.0.1:{port}" for name, port in zip(("log", "user", "task"), udp_ports, strict=True)
        }
    # lenient certificates: the demo's service config reaches every node at 127.0.0.1 and checks names
    options = build_options(
        state_dir,
        "127.0.0.1",
        ports,
        targets,
        scenario,
        seed,
        True,
        activity_rate,
        0,
        lenient_certificates=True,
    )
    console = Console()
    setup_logging(LoggingConfig(level="warning"))
    root = logging.getLogger()
    for handler in list(root.handlers):  # log lines go to the console, marked site or sensebutler
        root.removeHandler(handler)
    root.addHandler(ConsoleLogHandler(console))
    catcher = MailCatcher(console) if alerts and monitor else None
    hooks = WebhookReceiver(console) if catcher is not None else None

    def service_config(info: SimulatorInfo) -> Config:
        data = monitoring_config(info, state_dir=state_dir / "service", udp_ports=udp_ports, interval_s=5)
        data["prometheus"] = {"enable": True, "listener": "metrics"}
        data["monitors"] = DEMO_MONITORS
        data["web"] = {
            "listeners": {
                "metrics": {"host": "127.0.0.1", "port": 0},
                "main": {"host": "127.0.0.1", "port": web_port},
            }
        }
        # the API and the dashboard with a key made for this run (printed with the dashboard's URL)
        data["api"] = {"enable": True, "keys": [{"name": "demo", "key": secrets.token_urlsafe(24)}]}
        if catcher is not None and hooks is not None:
            data.update(alert_config(catcher.port, hooks.url))
        if influxdb_url:
            data["influxdb"] = {"enable": True, "url": influxdb_url}
        return validate_config(data, "the demo's configuration")

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        if duration > 0:
            asyncio.get_running_loop().call_later(duration, stop.set)
        if catcher is not None and hooks is not None:
            await hooks.start()
            console.print(
                f"  reload and service alerts are mailed to a local mail catcher on "
                f"127.0.0.1:{catcher.start()} and posted to a local webhook receiver at {hooks.url}"
            )
        try:
            await run_demo(
                options,
                console,
                stop,
                service_config=service_config if monitor else None,
                fail_a_reload_every_s=30.0 if catcher is not None else 0.0,
                receivers=[r for r in (catcher, hooks) if r is not None],
            )
        finally:
            if catcher is not None and hooks is not None:
                catcher.stop()
                await hooks.stop()

    try:
        asyncio.run(main())
    except (OSError, StartupError, ConfigError) as exc:
        raise _fail(f"could not start: {exc}", EXIT_STARTUP) from None


def free_udp_port() -> int:
    """A UDP port that is free now on 127.0.0.1 (the simulator needs it before the service binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def register(app: typer.Typer) -> None:
    """Add ``simulator`` (with ``simulator trigger``) and ``demo`` to the main command line."""
    app.add_typer(simulator_app(), name="simulator")
    app.command("demo")(demo)
