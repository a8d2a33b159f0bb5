"""Licence monitors: access-type usage (``qlik_sense_license``) and the server licence's expiry.

``days_until_expiry`` is signed: the whole days from today (UTC) to the expiry date, negative once
it has passed (Butler takes the absolute value, so an expired licence looked healthy).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

from pydantic import Field, TypeAdapter

from sensebutler.events import Event
from sensebutler.events.monitors import AccessCounts, LicenseUsage, ServerLicense, ServerLicenseAlert
from sensebutler.monitors.config import LicenseUsageConfig, ServerLicenseConfig
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.schedule import Check
from sensebutler.qlik.answers import Answer
from sensebutler.qlik.qrs import QrsClient

log = logging.getLogger(__name__)


class _Details(Answer):
    enabled: bool = False
    total: int = 0
    allocated: int = 0
    used: int = 0
    quarantined: int = 0
    excess: int = 0
    available: int = 0


class _Overview(Answer):
    total_tokens: float = Field(default=0, alias="totalTokens")
    available_tokens: float = Field(default=0, alias="availableTokens")
    tokens_enabled: bool = Field(default=False, alias="tokensEnabled")
    user_access: dict[str, object] = Field(default_factory=dict, alias="userAccess")
    login_access: dict[str, object] = Field(default_factory=dict, alias="loginAccess")
    professional: _Details = Field(alias="professionalAccess")
    analyzer: _Details = Field(alias="analyzerAccess")
    analyzer_time: dict[str, object] = Field(default_factory=dict, alias="analyzerTimeAccess")


_OVERVIEW = TypeAdapter(_Overview)
#: JSON name → Butler's field name, per token / capacity detail
_ANALYZER_TIME = {
    "allocatedMinutes": "allocated_minutes",
    "unavailableMinutes": "unavailable_minutes",
    "usedMinutes": "used_minutes",
}
_LOGIN = {
    "allocatedTokens": "allocated_tokens",
    "tokenCost": "token_cost",
    "unavailableTokens": "unavailable_tokens",
    "usedTokens": "used_tokens",
}
_USER = {
    "allocatedTokens": "allocated_tokens",
    "quarantinedTokens": "quarantined_tokens",
    "tokenCost": "token_cost",
    "usedTokens": "used_tokens",
}


def _numbers(detail: dict[str, object], names: dict[str, str]) -> dict[str, float]:
    if not detail.get("enabled"):
        return {}
    found: dict[str, float] = {}
    for key, name in names.items():
        value = detail.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = float(value)
    return found


def _counts(details: _Details) -> AccessCounts:
    return AccessCounts(
        details.enabled,
        details.total,
        details.allocated,
        details.used,
        details.quarantined,
        details.excess,
        details.available,
    )


class LicenseUsageMonitor(Check):
    name = "license_usage"

    def __init__(self, config: LicenseUsageConfig, qrs: QrsClient) -> None:
        self.qrs = qrs
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s

    async def check(self) -> Sequence[Event]:
        overview = await self.qrs.get("license/accesstypeoverview", _OVERVIEW)
        return [
            LicenseUsage(
                professional=_counts(overview.professional),
                analyzer=_counts(overview.analyzer),
                analyzer_time=_numbers(overview.analyzer_time, _ANALYZER_TIME),
                login_tokens=_numbers(overview.login_access, _LOGIN),
                user_tokens=_numbers(overview.user_access, _USER),
                tokens_enabled=overview.tokens_enabled,
                available_tokens=overview.available_tokens,
                total_tokens=overview.total_tokens,
            )
        ]


class _License(Answer):
    is_expired: bool = Field(default=False, alias="isExpired")
    key_details: str = Field(default="", alias="keyDetails")


_LICENSE = TypeAdapter(_License)
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d")
_VALID_TO = re.compile(r"^\s*Valid To\s*:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)


def expiry_date(key_details: str) -> date | None:
    """The date on the ``Valid To:`` line of ``keyDetails``; None when absent or unreadable."""
    match = _VALID_TO.search(key_details)
    if match is None:
        return None
    text = match.group(1)
    for candidate in (text[:10], text.split()[0] if text.split() else text):
        for pattern in _DATE_FORMATS:
            try:
                return datetime.strptime(candidate, pattern).date()
            except ValueError:
                continue
    return None


def days_until(expiry: date, today: date) -> int:
    return (expiry - today).days


class ServerLicenseMonitor(Check):
    name = "server_license"

    def __init__(self, config: ServerLicenseConfig, qrs: QrsClient) -> None:
        self.qrs = qrs
        self.threshold_days = config.threshold_days
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s
        self._unreadable_logged = False

    async def check(self) -> Sequence[Event]:
        answer = await self.qrs.get("license", _LICENSE)
        expiry = expiry_date(answer.key_details)
        days = days_until(expiry, datetime.now(UTC).date()) if expiry is not None else None
        if expiry is None and not self._unreadable_logged:
            self._unreadable_logged = True
            log.warning("server licence: no readable 'Valid To:' date in keyDetails; expiry unknown")
        expired = answer.is_expired or (days is not None and days < 0)
        status = ServerLicense(
            expired=expired, expiry_date=expiry.isoformat() if expiry else "", days_until_expiry=days
        )
        events: list[Event] = [status]
        if expired:
            events.append(
                ServerLicenseAlert(alert="expired", license=status, threshold_days=self.threshold_days)
            )
            log.error("the Qlik Sense server licence expired on %s", status.expiry_date or "an unknown date")
        elif days is not None and days <= self.threshold_days:
            events.append(
                ServerLicenseAlert(alert="expiring", license=status, threshold_days=self.threshold_days)
            )
            log.warning("the Qlik Sense server licence expires in %d days, on %s", days, status.expiry_date)
        return events
