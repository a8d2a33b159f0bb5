"""What the alert-destination tests share: a config, a started sink on its runtime, sample alerts."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sensebutler.config import Config
from sensebutler.events.alerts import ReloadAlert
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.sinks.base import Sink
from sensebutler.sources.udp import parse_task_datagram
from tests.alerts import samples

FAST_DELIVERY = {"retry": {"initial_s": 0.02, "max_s": 0.1, "attempts_before_spool": 3}}
QLIK_URLS = {
    "qmc": "https://qlik.lab.example.com/qmc",
    "hub": "https://qlik.lab.example.com/hub",
    "app_base": "https://qlik.lab.example.com/sense/app",
}
COMPAT_TEMPLATES = Path(__file__).resolve().parents[2] / ".." / "shared" / "compat" / "butler" / "templates"


def config(**sections: Any) -> Config:
    return Config.model_validate(
        {
            "alerts": {"qlik_urls": QLIK_URLS, "time_zone": "Europe/Stockholm"},
            "delivery": FAST_DELIVERY,
            **sections,
        }
    )


@contextlib.asynccontextmanager
async def running(
    made: Config, state_dir: Path, build: Callable[[Runtime], list[Sink]], state: Any = None
) -> AsyncIterator[Any]:
    """The one sink ``build`` makes from ``made``, started (with the runtime's state backend, or
    ``state``: a backend of the test's ``state_store``), and stopped at the end."""
    runtime = Runtime(made, Router(), state_dir, _state=state)
    (sink,) = build(runtime)
    if state is None:
        await runtime.state.start()
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()
        if state is None:
            await runtime.state.close()


def alert(outcome: str = "failed", task_id: str = samples.TASK_ID, **changes: Any) -> ReloadAlert:
    """The sample alert (fully enriched) for ``outcome``, optionally for another task."""
    source = parse_task_datagram(samples.datagram(outcome), 0)
    if task_id != samples.TASK_ID:
        source = dataclasses.replace(source, task_id=task_id)
    return samples.alert(outcome=outcome, source=source, **changes)
