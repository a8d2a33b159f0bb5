"""``new_relic:`` — New Relic's Metric and Event APIs, per-account routing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from sensebutler.config.base import Section
from sensebutler.config.sinks import SinkSection


class NewRelicAccount(Section):
    name: str = Field(min_length=1, pattern=r"^[^\r\n]+$")
    account_id: str = Field(pattern=r"^[0-9]+$")
    insert_api_key: SecretStr

    @field_validator("account_id", mode="before")
    @classmethod
    def _number_is_fine(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class NewRelicRouting(Section):
    """Which accounts (by name) receive each kind of data."""

    health: list[str] = []
    sessions: list[str] = []
    self_metrics: list[str] = []
    log_events: list[str] = []
    user_events: list[str] = []


class NewRelicMetricGroups(Section):
    """Which health metrics are sent (Butler SOS ``newRelic.metric.dynamic.*.enable``)."""

    memory: bool = True
    cpu: bool = True
    calls: bool = True
    selections: bool = True
    sessions: bool = True
    users: bool = True
    saturated: bool = True
    doc_count: bool = True
    cache: bool = True


class NewRelicLogEvents(Section):
    """Which log events become ``qs_logEvent`` (Butler SOS ``logEvents.sendToNewRelic.source``)."""

    sources: list[Literal["engine", "proxy", "repository", "scheduler"]] = [
        "engine",
        "proxy",
        "repository",
        "scheduler",
    ]
    levels: list[Literal["warn", "error", "fatal"]] = ["warn", "error", "fatal"]


AlertApi = Literal["event", "log"]


class NewRelicAlertTarget(Section):
    """The event or the log of one reload outcome (Butler ``destination.event`` / ``destination.log``).

    A block written in the config is on unless it says ``enable: false``.
    """

    enable: bool = True
    #: accounts that receive every alert (Butler ``sendToAccount.always.account``)
    accounts: list[str] = []
    #: also the accounts named by the task's custom property (Butler ``sendToAccount.byCustomProperty``)
    by_custom_property: bool = False
    #: that custom property; empty = Butler's (``Butler_FailedTask_Event_NewRelicAccount``, ...)
    custom_property: str = ""
    #: static attributes (Butler ``attribute.static``)
    attributes: dict[str, str] = {}
    #: ``qs_appTag_<tag>`` / ``qs_taskTag_<tag>`` = ``"true"`` for each tag of the app / task
    use_app_tags: bool = True
    use_task_tags: bool = True
    #: log only: script log lines at the end of the message
    tail_lines: int = Field(default=20, ge=0, le=10_000)


def _target_off() -> NewRelicAlertTarget:
    return NewRelicAlertTarget(enable=False)


class NewRelicReloadAlert(Section):
    """Failed or aborted reloads as New Relic events and logs (Butler ``incidentTool.newRelic.<event>``)."""

    event: NewRelicAlertTarget = Field(default_factory=_target_off)
    log: NewRelicAlertTarget = Field(default_factory=_target_off)
    #: at most one event (and one log) per task in this many seconds; 0 = no limit
    #: (Butler ``sharedSettings.rateLimit``); kept in the state backend
    rate_limit_s: float = Field(default=300.0, ge=0, le=30 * 86_400)
    #: static attributes of both (Butler ``sharedSettings.attribute.static``)
    attributes: dict[str, str] = {}
    #: New Relic event type and log type; empty = Butler's (``qs_reloadTaskFailedEvent``, ...)
    event_type: str = Field(default="", pattern=r"^[A-Za-z0-9_:]*$")
    log_type: str = ""


class NewRelicReloadAlerts(Section):
    """``reload_alert`` events (``alerts.enable`` must be on): Butler's New Relic incident events and logs."""

    reload_failed: NewRelicReloadAlert = NewRelicReloadAlert()
    reload_aborted: NewRelicReloadAlert = NewRelicReloadAlert()

    def targets(self) -> list[tuple[str, AlertApi, NewRelicAlertTarget]]:
        """``(event, api, target)`` of every enabled target (``("reload-failed", "event", ...)``)."""
        found: list[tuple[str, AlertApi, NewRelicAlertTarget]] = []
        for event, alert in (("reload-failed", self.reload_failed), ("reload-aborted", self.reload_aborted)):
            pairs: tuple[tuple[AlertApi, NewRelicAlertTarget], ...] = (
                ("event", alert.event),
                ("log", alert.log),
            )
            for api, target in pairs:
                if target.enable:
                    found.append((event, api, target))
        return found


class NewRelicServiceTarget(Section):
    """The event or the log of a service alert (Butler ``serviceMonitor.destination.event|log``)."""

    enable: bool = True
    #: the accounts that receive it (Butler ``sendToAccount``)
    accounts: list[str] = []
    #: static attributes of this one (Butler ``attribute.static``)
    attributes: dict[str, str] = {}


def _service_target_off() -> NewRelicServiceTarget:
    return NewRelicServiceTarget(enable=False)


class NewRelicServiceAlert(Section):
    """A service that stopped or started as a New Relic event and/or log (Butler ``serviceMonitor``,
    whose ``monitorServiceState.stopped|running`` become these two blocks)."""

    event: NewRelicServiceTarget = Field(default_factory=_service_target_off)
    log: NewRelicServiceTarget = Field(default_factory=_service_target_off)
    #: at most one event (and one log) per host|service in this many seconds; 0 = no limit
    rate_limit_s: float = Field(default=300.0, ge=0, le=30 * 86_400)
    #: static attributes of both
    attributes: dict[str, str] = {}
    #: New Relic event type and log type (Butler's by default)
    event_type: str = Field(default="qs_serviceStateEvent", pattern=r"^[A-Za-z0-9_:]+$")
    log_type: str = Field(default="qs_serviceStateLog", min_length=1)


class NewRelicServiceAlerts(Section):
    """``service_state_changed`` events (the service monitor): stopped and started apart."""

    service_stopped: NewRelicServiceAlert = NewRelicServiceAlert()
    service_started: NewRelicServiceAlert = NewRelicServiceAlert()

    def targets(self) -> list[tuple[str, AlertApi, NewRelicServiceAlert, NewRelicServiceTarget]]:
        """``(event, api, alert, target)`` of every enabled target (``("service-stopped", "event", ...)``)."""
        found: list[tuple[str, AlertApi, NewRelicServiceAlert, NewRelicServiceTarget]] = []
        for event, alert in (
            ("service-stopped", self.service_stopped),
            ("service-started", self.service_started),
        ):
            pairs: tuple[tuple[AlertApi, NewRelicServiceTarget], ...] = (
                ("event", alert.event),
                ("log", alert.log),
            )
            found += [(event, api, alert, target) for api, target in pairs if target.enable]
        return found


class NewRelicLicenseAlert(NewRelicServiceAlert):
    """The server licence alert (expired, or expiring within the threshold) as a New Relic event
    and/or log. Butler has none; the names are ours in Butler's style."""

    #: at most one event (and one log) per alert kind (``license-expired`` / ``license-expiring``)
    rate_limit_s: float = Field(default=300.0, ge=0, le=30 * 86_400)
    event_type: str = Field(default="qs_serverLicenseEvent", pattern=r"^[A-Za-z0-9_:]+$")
    log_type: str = Field(default="qs_serverLicenseLog", min_length=1)


class NewRelicLicenseAlerts(Section):
    """``server_license_alert`` events (the server licence monitor)."""

    server_license_alert: NewRelicLicenseAlert = NewRelicLicenseAlert()

    def targets(self) -> list[tuple[str, AlertApi, NewRelicLicenseAlert, NewRelicServiceTarget]]:
        """``("server-license-alert", api, alert, target)`` of every enabled target."""
        alert = self.server_license_alert
        pairs: tuple[tuple[AlertApi, NewRelicServiceTarget], ...] = (
            ("event", alert.event),
            ("log", alert.log),
        )
        return [("server-license-alert", api, alert, target) for api, target in pairs if target.enable]


class NewRelicSection(SinkSection):
    accounts: list[NewRelicAccount] = []
    metric_url: str = "https://metric-api.eu.newrelic.com/metric/v1"
    event_url: str = "https://insights-collector.eu01.nr-data.net"
    #: Log API (reload alerts' logs); US: https://log-api.newrelic.com/log/v1
    log_url: str = "https://log-api.eu.newrelic.com/log/v1"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    headers: dict[str, str] = {}
    static_attributes: dict[str, str] = {}
    routing: NewRelicRouting = NewRelicRouting()
    metric_groups: NewRelicMetricGroups = NewRelicMetricGroups()
    log_events: NewRelicLogEvents = NewRelicLogEvents()
    #: hash user names in user events (Butler SOS: sendToNewRelic.scramble)
    scramble_users: bool = True
    reload_alerts: NewRelicReloadAlerts = NewRelicReloadAlerts()
    service_alerts: NewRelicServiceAlerts = NewRelicServiceAlerts()
    license_alerts: NewRelicLicenseAlerts = NewRelicLicenseAlerts()
    required_when_enabled = ("accounts",)

    @model_validator(mode="after")
    def _routes_name_known_accounts(self) -> NewRelicSection:
        names = [account.name for account in self.accounts]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"account names must be unique; repeated: {', '.join(repeated)}")
        if not self.enable:
            return self
        unknown = [
            f"routing.{kind}: {name!r}"
            for kind, targets in self.routing.model_dump().items()
            for name in targets
            if name not in names
        ]
        unknown += [
            f"reload_alerts.{event.replace('-', '_')}.{api}.accounts: {name!r}"
            for event, api, target in self.reload_alerts.targets()
            for name in target.accounts
            if name not in names
        ]
        unknown += [
            f"service_alerts.{event.replace('-', '_')}.{api}.accounts: {name!r}"
            for event, api, _, service_target in self.service_alerts.targets()
            for name in service_target.accounts
            if name not in names
        ]
        unknown += [
            f"service_alerts.{event.replace('-', '_')}.{api}.accounts: none (name at least one)"
            for event, api, _, service_target in self.service_alerts.targets()
            if not service_target.accounts
        ]
        unknown += [
            f"license_alerts.server_license_alert.{api}.accounts: {name!r}"
            for _, api, _, license_target in self.license_alerts.targets()
            for name in license_target.accounts
            if name not in names
        ]
        unknown += [
            f"license_alerts.server_license_alert.{api}.accounts: none (name at least one)"
            for _, api, _, license_target in self.license_alerts.targets()
            if not license_target.accounts
        ]
        if unknown:
            known = ", ".join(names) or "none"
            raise ValueError(f"unknown New Relic account(s) {', '.join(unknown)}; accounts are: {known}")
        return self
