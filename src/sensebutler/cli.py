"""The ``sensebutler`` command line.

Exit codes: 0 success · 1 invalid configuration · 2 wrong usage (unknown option, bad argument) ·
3 could not start (port in use, unreadable certificate, state directory not writable).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from ruamel.yaml import YAML

from sensebutler import __version__
from sensebutler.config import Config, ConfigError, load_config, secret_values
from sensebutler.logs import setup_logging
from sensebutler.runtime import Runtime, StartupError, install_stop_signals

EXIT_CONFIG = 1
EXIT_STARTUP = 3

#: modules that add their own commands through ``register(app)``; imported only when needed, so
#: ``run`` does not pay for the simulator's imports (start-up time, memory)
COMMAND_MODULES = ("sensebutler.simulator.cli", "sensebutler.simulator.send_udp")
CORE_COMMANDS = ("run", "config", "version")

app = typer.Typer(
    name="sensebutler",
    help="Monitoring, alerting and integration for Qlik Sense Enterprise on Windows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check and show configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigPath = Annotated[Path, typer.Argument(help="The YAML configuration file.")]


def _load(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"{exc.source}: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


@config_app.command("verify")
def config_verify(path: ConfigPath) -> None:
    """Exit 0 when FILE is valid; otherwise print every problem and exit 1."""
    _load(path)
    typer.echo(f"{path}: valid")


@config_app.command("show")
def config_show(path: ConfigPath) -> None:
    """Print the effective configuration (defaults, substitutions, overrides) with secrets masked."""
    config = _load(path)
    data = config.model_dump(mode="json")
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.dump(data, sys.stdout)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"sensebutler {__version__}")


@app.command()
def run(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")],
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", "-l", help="Override logging.level (debug, info, warning, error)."),
    ] = None,
) -> None:
    """Run the service until SIGINT or SIGTERM, then shut down gracefully."""
    config = _load(config_path)
    if log_level is not None:
        if log_level.lower() not in ("debug", "info", "warning", "error"):
            typer.echo(f"--log-level must be debug, info, warning or error, not {log_level!r}", err=True)
            raise typer.Exit(2)
        config.logging.level = log_level.lower()  # type: ignore[assignment]
    setup_logging(config.logging, secret_values(config))
    _use_uvloop()
    try:
        asyncio.run(_run_until_signalled(config))
    except StartupError as exc:
        logging.getLogger("sensebutler").error("%s", exc)
        raise typer.Exit(EXIT_STARTUP) from None


async def _run_until_signalled(config: Config) -> None:
    # imported here, not at the top: a UDP worker process started from the ``sensebutler`` script
    # imports this module again (multiprocessing's spawn re-runs the main script), and it needs
    # none of the app's modules (~7 MB of memory in each worker)
    from sensebutler.app import run as run_app

    stop = asyncio.Event()
    install_stop_signals(stop)
    await run_app(config, stop, ready=_freeze_startup_objects)


async def _freeze_startup_objects(runtime: Runtime) -> None:
    """What start-up made (config models, routes, templates, compiled regexes) lives as long as the
    process: ``gc.freeze`` keeps the collector from scanning it again and again, which otherwise
    stalls the loop for tens of milliseconds at every full collection."""
    gc.freeze()


def _use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(app)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in CORE_COMMANDS:
        _register_commands()
    app()
