"""What the alert-destination tests share: a config, a started sink on its runtime, sample alerts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec

from sensebutler.config import Config
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicense, ServerLicenseAlert, ServiceState, ServiceStateChanged
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
        source = msgspec.structs.replace(source, task_id=task_id)
    return samples.alert(outcome=outcome, source=source, **changes)


SERVICE_HOST = "qlikserver2.lab.example.com"


def service_change(
    state: str = "STOPPED",
    previous: str = "RUNNING",
    *,
    host: str = SERVICE_HOST,
    service: str = "QlikSenseProxyService",
    display_name: str = "Qlik Sense Proxy Service",
    first_check: bool = False,
) -> ServiceStateChanged:
    """A service monitor event: ``service`` on ``host`` went from ``previous`` to ``state``."""
    current = ServiceState(
        host=host,
        service_name=service,
        display_name=display_name,
        friendly_name="Proxy" if "Proxy" in service else display_name,
        state=state,  # type: ignore[arg-type]
        start_type="Automatic",
        exe_path=r"C:\Program Files\Qlik\Sense\Proxy\Proxy.exe",
        node_name="Rim1",
    )
    return ServiceStateChanged(current=current, previous=previous, first_check=first_check)  # type: ignore[arg-type]


def license_alert(days: int, expiry: str = "2026-12-13") -> ServerLicenseAlert:
    """The licence monitor's alert: expired when ``days`` is negative, else expiring."""
    status = ServerLicense(expired=days < 0, expiry_date=expiry, days_until_expiry=days)
    return ServerLicenseAlert(alert="expired" if days < 0 else "expiring", license=status, threshold_days=30)
