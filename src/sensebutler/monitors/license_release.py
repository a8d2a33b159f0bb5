"""Release of unused professional and analyzer allocations (Butler's ``licenseRelease``).

Per type (professional, then analyzer): allocations not used for ``release_threshold_days`` are
listed from QRS; each holder is looked up and skipped when a never-release rule protects them;
the rest are released (``DELETE``), or only logged in a dry run. A QRS error on one allocation is
logged and counted, and the run goes on with the next (Butler stops the whole run).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pydantic import Field, TypeAdapter

from sensebutler.events import Event
from sensebutler.events.monitors import LicenseReleased
from sensebutler.monitors.config import LicenseReleaseConfig, NeverRelease, Ternary
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.schedule import Check
from sensebutler.qlik.answers import Answer
from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.qrs import QrsClient

log = logging.getLogger(__name__)

TYPES = {"professional": "professionalaccesstype", "analyzer": "analyzeraccesstype"}


class _UserRef(Answer):
    id: str
    user_id: str = Field(default="", alias="userId")
    user_directory: str = Field(default="", alias="userDirectory")


class _Allocation(Answer):
    id: str
    user: _UserRef | None = None
    last_used: datetime = Field(alias="lastUsed")
    quarantined: bool = False


class _Name(Answer):
    name: str = ""


class _CustomValue(Answer):
    definition: _Name = _Name()
    value: str = ""


class _User(Answer):
    user_id: str = Field(alias="userId")
    user_directory: str = Field(alias="userDirectory")
    inactive: bool = False
    blacklisted: bool = False
    removed_externally: bool = Field(default=False, alias="removedExternally")
    tags: list[_Name] = []
    custom_properties: list[_CustomValue] = Field(default_factory=list, alias="customProperties")


_ALLOCATIONS = TypeAdapter(list[_Allocation])
_USER = TypeAdapter(_User)


def _flag_protects(rule: Ternary, value: bool) -> bool:
    return (rule == "yes" and value) or (rule == "no" and not value)


def protected_because(user: _User, rules: NeverRelease) -> str | None:
    """Why a never-release rule protects ``user``; None when none does."""
    directory, user_id = user.user_directory.casefold(), user.user_id.casefold()
    if any(u.directory.casefold() == directory and u.user_id.casefold() == user_id for u in rules.users):
        return "listed user"
    if directory in {d.casefold() for d in rules.user_directories}:
        return f"user directory {user.user_directory}"
    tags = {tag.name.casefold() for tag in user.tags}
    for tag in rules.tags:
        if tag.casefold() in tags:
            return f"tag {tag}"
    values = {(v.definition.name.casefold(), v.value.casefold()) for v in user.custom_properties}
    for prop in rules.custom_properties:
        if (prop.name.casefold(), prop.value.casefold()) in values:
            return f"custom property {prop.name}={prop.value}"
    for name, rule, value in (
        ("inactive", rules.inactive, user.inactive),
        ("blocked", rules.blocked, user.blacklisted),
        ("removed externally", rules.removed_externally, user.removed_externally),
    ):
        if _flag_protects(rule, value):
            return f"{name} is {'yes' if value else 'no'}"
    return None


class LicenseReleaseMonitor(Check):
    name = "license_release"

    def __init__(self, config: LicenseReleaseConfig, qrs: QrsClient) -> None:
        self.config = config
        self.qrs = qrs
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s
        #: allocations whose release failed (a QRS error), over the process's life
        self.failed = 0

    async def check(self) -> Sequence[Event]:
        events: list[Event] = []
        for license_type, path in TYPES.items():
            rule = getattr(self.config, license_type)
            if rule.enable:
                events.extend(await self._release(license_type, path, rule.release_threshold_days))
        return events

    async def _release(self, license_type: str, path: str, threshold_days: int) -> list[Event]:
        now = datetime.now(UTC)
        cutoff = (now - timedelta(days=threshold_days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        allocations = await self.qrs.get(
            f"license/{path}/full", _ALLOCATIONS, {"filter": f"lastUsed le '{cutoff}'"}
        )
        released: list[Event] = []
        for allocation in allocations:
            if allocation.quarantined or allocation.user is None:
                continue
            try:
                event = await self._one(license_type, path, allocation, now)
            except QlikError as exc:
                self.failed += 1
                log.error(
                    "licence release: %s allocation %s of %s\\%s not released: %s",
                    license_type,
                    allocation.id,
                    allocation.user.user_directory,
                    allocation.user.user_id,
                    exc,
                )
                continue
            if event is not None:
                released.append(event)
        return released

    async def _one(
        self, license_type: str, path: str, allocation: _Allocation, now: datetime
    ) -> LicenseReleased | None:
        assert allocation.user is not None
        user = await self.qrs.get(f"user/{allocation.user.id}", _USER)
        name = f"{user.user_directory}\\{user.user_id}"
        why = protected_because(user, self.config.never_release)
        if why is not None:
            log.info("licence release: %s allocation of %s kept (never release: %s)", license_type, name, why)
            return None
        last_used = (
            allocation.last_used if allocation.last_used.tzinfo else allocation.last_used.replace(tzinfo=UTC)
        )
        days = math.floor((now - last_used).total_seconds() / 86400)
        if self.config.dry_run:
            log.info(
                "licence release (dry run): would release %s allocation of %s, unused for %d days",
                license_type,
                name,
                days,
            )
        else:
            await self.qrs.delete(f"license/{path}/{allocation.id}")
            log.info(
                "licence release: released %s allocation of %s, unused for %d days", license_type, name, days
            )
        return LicenseReleased(
            license_type="professional" if license_type == "professional" else "analyzer",
            user=name,
            days_since_last_use=days,
            dry_run=self.config.dry_run,
        )
