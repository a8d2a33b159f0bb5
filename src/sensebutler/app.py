"""The composition root: builds what the configuration enables, runs it, shuts it down.

:data:`FEATURES` is the ordered registry of feature builders (``build(runtime) -> list``, empty when
the feature is off): sinks, then processors, then sources, then the web server, which opens the
listeners the others mounted paths on. A sink or processor is also registered with the router.

Start order: shared services (the Qlik client, the state backend), then the features in registry
order; stop in reverse. So nothing is published into a stopped consumer, and everything a source
produced is processed and then flushed or spooled before the services close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from importlib import import_module
from pathlib import Path

from sensebutler import __version__, hotpath
from sensebutler.config import Config
from sensebutler.monitors import feature as monitors
from sensebutler.pipeline.processor import Processor
from sensebutler.pipeline.router import Router
from sensebutler.processors import reload_alerts
from sensebutler.runtime import Component, Runtime, StartupError
from sensebutler.sinks.base import Sink
from sensebutler.sinks.influxdb import sink as influxdb
from sensebutler.sinks.prometheus import sink as prometheus
from sensebutler.sinks.script_log_files import sink as script_log_files
from sensebutler.sinks.store import sink as store
from sensebutler.sources import polling
from sensebutler.sources.udp import ingest_metrics
from sensebutler.sources.udp import inputs as udp_inputs
from sensebutler.sources.udp import workers as udp_workers
from sensebutler.web import server as web

log = logging.getLogger(__name__)

Builder = Callable[[Runtime], Sequence[Component]]


def when_enabled(section: str, module: str) -> Builder:
    """The builder of ``module``, imported only when the config section ``section`` is enabled.

    For features with heavy imports (FastAPI, the Handlebars compiler): a service that does not use
    them does not pay their memory (~20 MB in all) or start-up time, nor do its UDP worker processes.
    """

    def build(runtime: Runtime) -> Sequence[Component]:
        if not getattr(runtime.config, section).enable:
            return []
        builder: Builder = import_module(module).build
        return builder(runtime)

    build.__qualname__ = build.__name__ = f"when_enabled({section!r}, {module!r})"
    return build


def _dashboard(runtime: Runtime) -> Sequence[Component]:
    """The dashboard's builder, imported (with FastAPI for its sign-in) only when it can run: it is
    on by default but stays off until ``api.keys`` has a key (or anonymous access is allowed)."""
    api = runtime.config.api
    if runtime.config.dashboard.enable and not api.keys and not api.allow_anonymous:
        logging.getLogger("sensebutler.web.dashboard.app").info(
            "dashboard: off until api.keys has a key to sign in with"
        )
        return []
    return when_enabled("dashboard", "sensebutler.web.dashboard.app")(runtime)


#: every feature, in start order; a new destination or source is one line here
FEATURES: tuple[Builder, ...] = (
    # sinks
    influxdb.build,
    prometheus.build,
    when_enabled("mqtt", "sensebutler.sinks.mqtt.sink"),
    when_enabled("new_relic", "sensebutler.sinks.newrelic.sink"),
    when_enabled("email", "sensebutler.sinks.email.sink"),
    when_enabled("slack", "sensebutler.sinks.slack.sink"),
    when_enabled("teams", "sensebutler.sinks.teams.sink"),
    when_enabled("webhook", "sensebutler.sinks.webhook.sink"),
    when_enabled("signl4", "sensebutler.sinks.signl4.sink"),
    script_log_files.build,
    store.build,
    # processors
    reload_alerts.build,
    # sources
    polling.build,
    ingest_metrics.build,  # before the inputs: its last report follows their stop
    udp_inputs.build,
    udp_workers.build,  # after the inputs: stopped before them, so its last counts are merged in time
    monitors.build,
    # the REST API (and its scheduler)
    when_enabled("api", "sensebutler.api.app"),
    # last: the listeners the features above mounted paths on
    _dashboard,  # mounts /dashboard; needs the store sink
    web.build,
)


def build(config: Config, features: Sequence[Builder] = FEATURES) -> Runtime:
    """Every component the configuration enables; ``features`` defaults to the registry."""
    runtime = Runtime(config=config, router=Router(), state_dir=Path(config.state.dir))
    for feature in features:
        for component in feature(runtime):
            if isinstance(component, Sink | Processor):
                runtime.router.add(component)
            runtime.components.append(component)
    return runtime


async def run(
    config: Config,
    stop: asyncio.Event,
    *,
    ready: Callable[[Runtime], Awaitable[None]] | None = None,
    features: Sequence[Builder] = FEATURES,
) -> None:
    """Run until ``stop`` is set; raise :class:`StartupError` if something cannot start."""
    try:
        Path(config.state.dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create the state directory {config.state.dir!r}: {exc}") from exc
    runtime = build(config, features)
    started: list[Component] = []
    try:
        for item in [*runtime.services, *runtime.components]:
            try:
                await item.start()
            except StartupError:
                raise
            except Exception as exc:
                raise StartupError(f"{item.name} could not start: {exc or type(exc).__name__}") from exc
            started.append(item)
        _announce(runtime)
        if ready is not None:
            await ready(runtime)
        await stop.wait()
        log.info("stopping")
    finally:
        for item in reversed(started):
            try:
                await item.stop()
            except Exception:
                log.exception("%s did not stop cleanly", item.name)
    log.info("stopped")


def _announce(runtime: Runtime) -> None:
    log.info("sensebutler %s started (state in %s)", __version__, runtime.state_dir.resolve())
    quiet = hotpath.COMPILED or hotpath.STATUS == hotpath.FORCED_PURE
    log.log(logging.INFO if quiet else logging.WARNING, "UDP hot path: %s", hotpath.STATUS)
    if not runtime.components:
        log.warning(
            "nothing is enabled in the configuration: sensebutler has nothing to do and idles until stopped"
        )
        return
    for sink in runtime.router.sinks:
        log.info("sink %s receives: %s", sink.name, ", ".join(sorted(sink.kinds)) or "-")
    for processor in runtime.router.processors:
        log.info(
            "processor %s takes %s, makes %s",
            processor.name,
            ", ".join(sorted(processor.kinds)),
            ", ".join(sorted(processor.emits)) or "-",
        )
    for component in runtime.components:
        if not isinstance(component, Sink | Processor):
            log.info("running %s", component.name)
