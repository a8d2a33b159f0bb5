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


class NewRelicSection(SinkSection):
    accounts: list[NewRelicAccount] = []
    metric_url: str = "https://metric-api.eu.newrelic.com/metric/v1"
    event_url: str = "https://insights-collector.eu01.nr-data.net"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    headers: dict[str, str] = {}
    static_attributes: dict[str, str] = {}
    routing: NewRelicRouting = NewRelicRouting()
    metric_groups: NewRelicMetricGroups = NewRelicMetricGroups()
    log_events: NewRelicLogEvents = NewRelicLogEvents()
    #: hash user names in user events (Butler SOS: sendToNewRelic.scramble)
    scramble_users: bool = True
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
        if unknown:
            known = ", ".join(names) or "none"
            raise ValueError(f"unknown New Relic account(s) {', '.join(unknown)}; accounts are: {known}")
        return self
