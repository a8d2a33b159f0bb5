"""``monitors:`` — services per node, restarts, licences, version, active users, heartbeat, uptime and
the legacy log database. Each monitor is off by default and needs nothing while off."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from sensebutler.config.base import FeatureSection, Section
from sensebutler.monitors.frequency import parse_frequency

Ternary = Literal["ignore", "yes", "no"]


class ScheduledMonitor(FeatureSection):
    #: ``every 30 seconds`` / ``every 6 hours`` (Butler's form), a number of seconds, or cron
    frequency: str | float = "every 24 hours"
    #: how long one check may take
    timeout_s: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str | float) -> str | float:
        parse_frequency(value)
        return value


class WatchedService(Section):
    #: the Windows service name (``QlikSenseEngineService``) or its short name (``engine``)
    name: str = Field(min_length=1, max_length=256)
    #: Butler's ``friendlyName``, shown in messages
    friendly_name: str = ""


class WatchedHost(Section):
    """Narrows what is watched on one host (its QRS host name, or the host ``sc.exe`` reaches)."""

    host: str = Field(min_length=1)
    services: list[WatchedService] = []


class ServiceMonitorConfig(ScheduledMonitor):
    frequency: str | float = "every 30 seconds"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: ``qrs``: QRS ``servicestatus`` (any OS; QRS knows which services each node runs);
    #: ``sc_exe``: Windows ``sc.exe`` (sensebutler on Windows only; needs ``hosts``)
    probe: Literal["qrs", "sc_exe"] = "qrs"
    #: hosts listed here are narrowed to their services; hosts not listed are watched in full (qrs)
    hosts: list[WatchedHost] = []


class RestartMonitorConfig(FeatureSection):
    """Restart events from the engine healthcheck (needs ``polling.health``) and from the service
    monitor (a node whose watched services were all down and come back)."""


class LicenseUsageConfig(ScheduledMonitor):
    frequency: str | float = "every 6 hours"


class UserKey(Section):
    directory: str
    user_id: str


class CustomPropertyValue(Section):
    name: str
    value: str


class NeverRelease(Section):
    """Users whose allocation is never released (Butler ``neverRelease``)."""

    users: list[UserKey] = []
    tags: list[str] = []
    custom_properties: list[CustomPropertyValue] = []
    user_directories: list[str] = []
    #: ``yes`` protects users with the flag set, ``no`` those without, ``ignore`` neither
    inactive: Ternary = "ignore"
    blocked: Ternary = "ignore"
    removed_externally: Ternary = "ignore"

    @field_validator("inactive", "blocked", "removed_externally", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class ReleaseRule(Section):
    enable: bool = True
    #: allocations unused for at least this many days are released
    release_threshold_days: int = Field(default=30, ge=1, le=3650)


class LicenseReleaseConfig(ScheduledMonitor):
    #: only log what would be released (on by default: releasing is not undoable)
    dry_run: bool = True
    professional: ReleaseRule = ReleaseRule()
    analyzer: ReleaseRule = ReleaseRule()
    never_release: NeverRelease = NeverRelease()


class ServerLicenseConfig(ScheduledMonitor):
    #: alert when the licence expires within this many days (or has expired)
    threshold_days: int = Field(default=60, ge=0, le=3650)


class VersionMonitorConfig(ScheduledMonitor):
    #: the About service's host; empty = ``qlik.qrs.host`` (its port is ``qlik.about_port``)
    host: str = ""


class ActiveUsersConfig(FeatureSection):
    """Users with a proxy session, from the user events (``udp.user_events``)."""

    #: ask every server's proxy for its sessions at startup, so the count is right at once
    seed_from_proxy: bool = True
    #: a user with no activity for this long is dropped (the proxy's session inactivity timeout)
    session_timeout_s: float = Field(default=1800.0, ge=1, le=7 * 86400)
    #: server name (``qlik.servers``) → the host name its proxy writes in user events (log4net
    #: ``%hostname``); default: the first label of the server's ``host``
    proxy_hosts: dict[str, str] = {}


class HeartbeatConfig(ScheduledMonitor):
    frequency: str | float = "every 60 seconds"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: GET here at start and at every ``frequency`` (a dead man's switch, healthchecks.io, ...)
    url: str = ""
    required_when_enabled = ("url",)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {value!r})")
        return value


class UptimeConfig(ScheduledMonitor):
    frequency: str | float = "every 15 minutes"


class LogDbConfig(ScheduledMonitor):
    """The legacy log database (Sense before late 2021): rows of ``public.log_entries``."""

    frequency: str | float = "every 60 seconds"
    host: str = ""
    port: int = Field(default=4432, ge=1, le=65535)
    database: str = "QLogs"
    user: str = "qlogs_reader"
    password: SecretStr | None = None
    #: ``entry_level`` values read
    levels: list[Literal["ERROR", "WARN", "INFO"]] = ["ERROR", "WARN"]
    #: rows read per query (the rest follow at the next check)
    batch: int = Field(default=1000, ge=1, le=100_000)
    #: ``disable`` | ``prefer`` | ``require`` (asyncpg's ssl modes)
    ssl: Literal["disable", "prefer", "require"] = "prefer"
    required_when_enabled = ("host",)

    @field_validator("levels", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        if isinstance(value, list):
            return [item.upper() if isinstance(item, str) else item for item in value]
        return value


class MonitorsConfig(Section):
    services: ServiceMonitorConfig = ServiceMonitorConfig()
    restarts: RestartMonitorConfig = RestartMonitorConfig()
    license_usage: LicenseUsageConfig = LicenseUsageConfig()
    license_release: LicenseReleaseConfig = LicenseReleaseConfig()
    server_license: ServerLicenseConfig = ServerLicenseConfig()
    version: VersionMonitorConfig = VersionMonitorConfig()
    active_users: ActiveUsersConfig = ActiveUsersConfig()
    heartbeat: HeartbeatConfig = HeartbeatConfig()
    uptime: UptimeConfig = UptimeConfig()
    log_db: LogDbConfig = LogDbConfig()
