"""The composition root: builds what the configuration enables, runs it, shuts it down.

Order matters: sinks start before sources (nothing is published into a closed sink) and stop after
them (everything a source produced is flushed or spooled).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from sensebutler import __version__
from sensebutler.config import Config
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Component, Runtime, StartupError
from sensebutler.sinks import influxdb, mqtt, newrelic, prometheus
from sensebutler.sinks.base import Sink
from sensebutler.sources import polling
from sensebutler.sources.udp import inputs as udp_inputs
from sensebutler.sources.udp.ingest_metrics import IngestMetrics

log = logging.getLogger(__name__)


def build(config: Config) -> Runtime:
    """Every sink and source the configuration enables (each builder returns nothing when off)."""
    runtime = Runtime(config=config, router=Router(), state_dir=Path(config.state.dir))
    for build_sinks in (influxdb.build, prometheus.build, mqtt.build, newrelic.build):
        for sink in build_sinks(runtime):
            runtime.router.add(sink)
    runtime.components.extend(polling.build(runtime))
    inputs = udp_inputs.build(runtime)
    runtime.components.extend(inputs)
    if inputs and config.udp.metrics.enable:
        runtime.components.append(IngestMetrics(runtime, inputs, config.udp.metrics.interval_s))
    return runtime


async def run(
    config: Config, stop: asyncio.Event, *, ready: Callable[[Runtime], Awaitable[None]] | None = None
) -> None:
    """Run until ``stop`` is set; raise :class:`StartupError` if something cannot start."""
    try:
        Path(config.state.dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create the state directory {config.state.dir!r}: {exc}") from exc
    runtime = build(config)
    started: list[Sink | Component] = []
    try:
        for item in [*runtime.router.sinks, *runtime.components]:
            try:
                await item.start()
            except StartupError:
                raise
            except Exception as exc:
                raise StartupError(f"{item.name} could not start: {str(exc) or type(exc).__name__}") from exc
            started.append(item)
        _announce(runtime)
        if ready is not None:
            await ready(runtime)
        await stop.wait()
        log.info("stopping")
    finally:
        # sources first, then sinks, each in reverse start order
        for item in reversed(started):
            try:
                await item.stop()
            except Exception:
                log.exception("%s did not stop cleanly", item.name)
    log.info("stopped")


def _announce(runtime: Runtime) -> None:
    log.info("sensebutler %s started (state in %s)", __version__, runtime.state_dir.resolve())
    if not runtime.router.sinks and not runtime.components:
        log.warning(
            "nothing is enabled in the configuration: sensebutler has nothing to do and idles until stopped"
        )
        return
    for sink in runtime.router.sinks:
        log.info("sink %s receives: %s", sink.name, ", ".join(sorted(sink.kinds)) or "-")
    for component in runtime.components:
        log.info("running %s", component.name)
