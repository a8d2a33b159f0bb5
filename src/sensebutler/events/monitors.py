"""Events made by the monitors (``monitors/``): services, restarts, licences, version, active users,
sensebutler's own uptime and the legacy log database.

Service events carry every value Butler's service templates, MQTT topics and webhooks use
(``template_context`` gives Butler's names), so the alert destinations can render them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import msgspec

from sensebutler.events import Event
from sensebutler.events.polled import ServerRef

#: the states Windows' ``sc.exe`` reports, and UNKNOWN when nothing could be learnt
ServiceStateName = Literal[
    "STOPPED",
    "START_PENDING",
    "STOP_PENDING",
    "RUNNING",
    "CONTINUE_PENDING",
    "PAUSE_PENDING",
    "PAUSED",
    "UNKNOWN",
]
#: Butler's ``state_num`` of ``win_service_state`` (sc.exe's numbers; -1 unknown)
STATE_NUMBERS: Mapping[str, int] = {
    "STOPPED": 1,
    "START_PENDING": 2,
    "STOP_PENDING": 3,
    "RUNNING": 4,
    "CONTINUE_PENDING": 5,
    "PAUSE_PENDING": 6,
    "PAUSED": 7,
}
#: Butler's ``startup_mode_num``
START_TYPE_NUMBERS: Mapping[str, int] = {
    "Automatic": 0,
    "Automatic (delayed start)": 1,
    "Manual": 2,
    "Disabled": 3,
}


class ServiceState(Event, frozen=True, kw_only=True):
    """One Windows service on one host, at one check (Butler: every check, changed or not)."""

    kind: ClassVar[str] = "service_state"
    host: str
    #: the Windows service name (``QlikSenseEngineService``)
    service_name: str
    display_name: str
    #: the name config gives it (Butler ``friendlyName``); the display name when none is given
    friendly_name: str
    state: ServiceStateName
    #: ``Automatic``, ``Manual``, ``Disabled``, ... ; "" when the source does not say (QRS)
    start_type: str = ""
    exe_path: str = ""
    dependencies: tuple[str, ...] = ()
    #: where the state came from: ``qrs`` (servicestatus) or ``sc_exe``
    source: str = "qrs"
    #: the QRS node name, when known
    node_name: str = ""

    def template_context(self) -> dict[str, Any]:
        """Butler's service monitor template fields (butler.md §7.3), without ``genericUrls``."""
        return {
            "host": self.host,
            "serviceStatus": self.state,
            "servicePrevStatus": "",
            "serviceName": self.service_name,
            "serviceDisplayName": self.display_name,
            "serviceFriendlyName": self.friendly_name,
            "serviceStartType": self.start_type,
            "serviceExePath": self.exe_path,
        }


class ServiceStateChanged(Event, frozen=True, kw_only=True):
    """A service went to RUNNING or STOPPED (the first check reports STOPPED only)."""

    kind: ClassVar[str] = "service_state_changed"
    current: ServiceState
    #: RUNNING, STOPPED, or UNKNOWN on the first check after startup
    previous: ServiceStateName
    first_check: bool = False

    @property
    def started(self) -> bool:
        return self.current.state == "RUNNING"

    def template_context(self) -> dict[str, Any]:
        context = self.current.template_context()
        context["servicePrevStatus"] = self.previous
        return context


class Restarted(Event, frozen=True, kw_only=True):
    """An engine restarted (its healthcheck ``started`` changed) or a whole node came back."""

    kind: ClassVar[str] = "restarted"
    #: ``engine``: the healthcheck's start time changed; ``node``: every watched service of a node
    #: was down and one runs again
    scope: Literal["engine", "node"]
    host: str
    server: ServerRef | None = None
    #: how long it was down, seconds: from the last time it was seen up (or first seen down) until
    #: it came back; an upper bound, since checks are periodic
    downtime_s: float
    #: the engine's ``started`` before and after (engine scope)
    previous_started: str = ""
    started: str = ""


@dataclass(frozen=True, slots=True)
class AccessCounts:
    """One ``AccessTypeOverview`` detail (professional or analyzer)."""

    enabled: bool
    total: int
    allocated: int
    used: int
    quarantined: int
    excess: int
    available: int


class LicenseUsage(Event, frozen=True, kw_only=True):
    """``GET /qrs/license/accesstypeoverview``."""

    kind: ClassVar[str] = "license_usage"
    professional: AccessCounts
    analyzer: AccessCounts
    analyzer_time: Mapping[str, float] = msgspec.field(default_factory=dict)
    login_tokens: Mapping[str, float] = msgspec.field(default_factory=dict)
    user_tokens: Mapping[str, float] = msgspec.field(default_factory=dict)
    tokens_enabled: bool = False
    available_tokens: float = 0.0
    total_tokens: float = 0.0


class LicenseReleased(Event, frozen=True, kw_only=True):
    """An unused professional or analyzer allocation released (or that would be, in a dry run)."""

    kind: ClassVar[str] = "license_released"
    license_type: Literal["professional", "analyzer"]
    #: ``DIR\\userId``
    user: str
    days_since_last_use: int
    dry_run: bool = False


class ServerLicense(Event, frozen=True, kw_only=True):
    """The server licence at one check. ``days_until_expiry`` is signed: negative once expired."""

    kind: ClassVar[str] = "server_license"
    expired: bool
    #: ``YYYY-MM-DD``, "" when the licence does not say
    expiry_date: str
    days_until_expiry: int | None

    def butler_json(self) -> dict[str, Any]:
        return {
            "licenseExpired": self.expired,
            "expiryDateStr": self.expiry_date,
            "daysUntilExpiry": self.days_until_expiry,
        }


class ServerLicenseAlert(Event, frozen=True, kw_only=True):
    """The server licence has expired, or expires within the threshold."""

    kind: ClassVar[str] = "server_license_alert"
    alert: Literal["expired", "expiring"]
    license: ServerLicense
    threshold_days: int

    @property
    def message(self) -> str:
        lic = self.license
        if self.alert == "expired":
            return f"Qlik Sense server license expired on {lic.expiry_date}"
        return (
            f"Qlik Sense server license is about to expire in {lic.days_until_expiry} days, "
            f"on {lic.expiry_date}"
        )


class SenseVersion(Event, frozen=True, kw_only=True):
    """The About service's ``/v1/systeminfo``."""

    kind: ClassVar[str] = "sense_version"
    host: str
    version: str
    product_name: str = ""
    deployment_type: str = ""
    release_label: str = ""
    content_hash: str = ""
    sense_id: str = ""
    deprecated_product_version: str = ""
    copyright_year_range: str = ""


class SenseVersionChanged(Event, frozen=True, kw_only=True):
    """The version a host runs changed since the previous check (an upgrade, usually)."""

    kind: ClassVar[str] = "sense_version_changed"
    host: str
    previous: str
    current: SenseVersion


class ActiveUsers(Event, frozen=True, kw_only=True):
    """Users with a proxy session, in total and per proxy host; published on every change."""

    kind: ClassVar[str] = "active_users"
    users: tuple[str, ...]
    #: proxy host → users with a session there
    per_host: Mapping[str, tuple[str, ...]] = msgspec.field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.users)


class Uptime(Event, frozen=True, kw_only=True):
    """sensebutler's own process (Butler's ``butler_memory_usage``), at ``monitors.uptime.frequency``."""

    kind: ClassVar[str] = "uptime"
    version: str
    instance: str
    iteration: int
    uptime_s: float
    #: MB, two decimals (Python has no separate heap: heap = resident set)
    heap_used: float
    heap_total: float
    external: float
    process_memory: float


class LogDbEntry(Event, frozen=True, kw_only=True):
    """One row of the legacy log database's ``public.log_entries``."""

    kind: ClassVar[str] = "log_db_entry"
    id: int
    host: str
    process: str
    level: str
    message: str
    server: ServerRef | None = None


__all__ = [
    "START_TYPE_NUMBERS",
    "STATE_NUMBERS",
    "AccessCounts",
    "ActiveUsers",
    "LicenseReleased",
    "LicenseUsage",
    "LogDbEntry",
    "Restarted",
    "SenseVersion",
    "SenseVersionChanged",
    "ServerLicense",
    "ServerLicenseAlert",
    "ServiceState",
    "ServiceStateChanged",
    "ServiceStateName",
    "Uptime",
]
