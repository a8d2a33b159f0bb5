"""Licence usage, release of unused allocations and the server licence, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from sensebutler.events.monitors import LicenseReleased, LicenseUsage, ServerLicense, ServerLicenseAlert
from sensebutler.monitors.license_release import LicenseReleaseMonitor
from sensebutler.monitors.licenses import LicenseUsageMonitor, ServerLicenseMonitor, days_until, expiry_date
from sensebutler.qlik.service import QlikService
from sensebutler.simulator import Simulator
from sensebutler.simulator.model import Allocation
from tests.monitors.support import monitors_config, qlik_for


@pytest.fixture
async def qlik(simulator: Simulator) -> AsyncIterator[QlikService]:
    service = qlik_for(monitors_config(simulator))
    yield service
    await service.stop()


async def test_usage_is_the_access_type_overview(simulator: Simulator, qlik: QlikService) -> None:
    config = monitors_config(simulator, license_usage={"enable": True})
    (usage,) = await LicenseUsageMonitor(config.monitors.license_usage, qlik.qrs).check()
    assert isinstance(usage, LicenseUsage)
    professional = [a for a in simulator.model.allocations.values() if a.kind == "professional"]
    assert usage.professional.enabled
    assert usage.professional.allocated == sum(1 for a in professional if not a.quarantined)
    assert usage.professional.quarantined == sum(1 for a in professional if a.quarantined)
    assert usage.analyzer.total == simulator.model.scenario.analyzer.total  # type: ignore[union-attr]


def _professional(sim: Simulator) -> list[Allocation]:
    return [a for a in sim.model.allocations.values() if a.kind == "professional" and not a.quarantined]


def _prepare(sim: Simulator) -> tuple[Allocation, Allocation, Allocation]:
    """Every professional allocation recent except three unused for 40 days: a plain user's, a
    protected user's (tag NeverRelease) and one whose QRS user lookup will fail."""
    now = datetime.now(UTC)
    allocations = _professional(sim)
    for allocation in allocations:
        allocation.last_used = now - timedelta(days=1)
    protected = next(a for a in allocations if any(t.name == "NeverRelease" for t in a.user.tags))
    plain = [
        a for a in allocations if not a.user.tags and not a.user.custom_properties and not a.user.inactive
    ]
    stale, failing = plain[0], plain[1]
    for allocation in (protected, stale, failing):
        allocation.last_used = now - timedelta(days=40, hours=2)
    return stale, protected, failing


def _release_monitor(sim: Simulator, qlik: QlikService, *, dry_run: bool) -> LicenseReleaseMonitor:
    config = monitors_config(
        sim,
        license_release={
            "enable": True,
            "dry_run": dry_run,
            "analyzer": {"enable": False},
            "never_release": {"tags": ["NeverRelease"]},
        },
    )
    return LicenseReleaseMonitor(config.monitors.license_release, qlik.qrs)


async def test_a_dry_run_releases_nothing(simulator: Simulator, qlik: QlikService) -> None:
    stale, protected, failing = _prepare(simulator)
    before = set(simulator.model.allocations)
    events = await _release_monitor(simulator, qlik, dry_run=True).check()
    assert {(e.user, e.dry_run, e.days_since_last_use) for e in events if isinstance(e, LicenseReleased)} == {
        (f"{a.user.directory}\\{a.user.user_id}", True, 40) for a in (stale, failing)
    }
    assert set(simulator.model.allocations) == before
    assert not any(a.quarantined for a in (stale, protected, failing))


async def test_unused_allocations_are_released_except_protected_ones_and_past_a_failing_user(
    simulator: Simulator, qlik: QlikService
) -> None:
    stale, protected, failing = _prepare(simulator)
    await simulator.set_failing("Central", "qrs", 500, f"/qrs/user/{failing.user.id}")
    monitor = _release_monitor(simulator, qlik, dry_run=False)
    events = [e for e in await monitor.check() if isinstance(e, LicenseReleased)]
    assert [(e.license_type, e.user, e.days_since_last_use, e.dry_run) for e in events] == [
        ("professional", f"{stale.user.directory}\\{stale.user.user_id}", 40, False)
    ]
    assert monitor.failed == 1
    assert stale.id not in simulator.model.allocations  # unused for 40 days: removed, not quarantined
    assert protected.id in simulator.model.allocations and not protected.quarantined
    assert failing.id in simulator.model.allocations and not failing.quarantined


def test_expiry_date_from_key_details() -> None:
    assert expiry_date("Serial: 1\nValid From: 2022-01-01\nValid To: 2026-12-31") == date(2026, 12, 31)
    assert expiry_date("Valid To: 12/31/2026 00:00") == date(2026, 12, 31)
    assert expiry_date("Serial: 1") is None
    assert expiry_date("Valid To: soon") is None
    assert days_until(date(2026, 1, 1), date(2026, 1, 11)) == -10


@pytest.mark.parametrize(
    ("valid_days", "alert", "expired"),
    [(10, "expiring", False), (-5, "expired", True), (200, None, False), (60, "expiring", False)],
)
async def test_server_licence_days_are_signed_and_alert_under_the_threshold(
    simulator: Simulator, qlik: QlikService, valid_days: int, alert: str | None, expired: bool
) -> None:
    simulator.set_license_expiry(valid_days)
    config = monitors_config(simulator, server_license={"enable": True, "threshold_days": 60})
    events = await ServerLicenseMonitor(config.monitors.server_license, qlik.qrs).check()
    status = next(e for e in events if isinstance(e, ServerLicense))
    assert (status.days_until_expiry, status.expired) == (valid_days, expired)
    assert status.butler_json()["daysUntilExpiry"] == valid_days
    alerts = [e for e in events if isinstance(e, ServerLicenseAlert)]
    assert [a.alert for a in alerts] == ([alert] if alert else [])
    if alert == "expired":
        assert alerts[0].message == f"Qlik Sense server license expired on {status.expiry_date}"
    elif alert:
        assert f"about to expire in {valid_days} days" in alerts[0].message
