"""New Relic: Butler SOS's Metric API and Event API payloads, each kind routed to its own accounts,
Butler's reload-alert events and logs, routed per task, its service monitor events and logs, and the
server licence alert's events and logs (names of our own: license_alerts.py).

Names, routing and what differs from Butler SOS and Butler: docs/outputs.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from sensebutler.alerts.context import ContextOptions
from sensebutler.alerts.limits import AlertLimits
from sensebutler.events import Event
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicenseAlert, ServiceStateChanged
from sensebutler.events.polled import HealthSample, ProxySessions, SelfMetrics
from sensebutler.events.udp import LogEvent, UserEvent
from sensebutler.logs import RateLimitedLog
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import DeliverySink, Sink, kinds_for
from sensebutler.sinks.newrelic.client import NewRelicDestination
from sensebutler.sinks.newrelic.config import NewRelicSection
from sensebutler.sinks.newrelic.license_alerts import LicenseAlertItems
from sensebutler.sinks.newrelic.payloads import Item, Payloads
from sensebutler.sinks.newrelic.records import pack
from sensebutler.sinks.newrelic.reload_alerts import ReloadAlertItems, records_of
from sensebutler.sinks.newrelic.service_alerts import ServiceAlertItems, ServiceTarget

log = logging.getLogger(__name__)

SINK_NAME = "new_relic"
#: event kind → the ``routing`` list naming its accounts
ROUTING_KEYS = {
    HealthSample.kind: "health",
    ProxySessions.kind: "sessions",
    SelfMetrics.kind: "self_metrics",
    LogEvent.kind: "log_events",
    UserEvent.kind: "user_events",
}


def accounts_by_kind(section: NewRelicSection) -> dict[str, list[str]]:
    routing = section.routing.model_dump()
    return {kind: list(routing[key]) for kind, key in ROUTING_KEYS.items() if routing[key]}


class NewRelicSink(DeliverySink):
    """Reload alerts are admitted asynchronously: the rate limit (per task, event and log apart, as
    in Butler) lives in the state backend. Counters: a rate-limited item is
    ``dropped["rate_limited"]``; an account a task's custom property names but ``accounts`` does
    not is ``dropped["unknown_account"]``."""

    def __init__(self, runtime: Runtime, section: NewRelicSection, routes: Mapping[str, list[str]]) -> None:
        config = runtime.config
        self.routes = dict(routes)
        self.payloads = Payloads(
            section,
            config.polling.health.interval_s,
            config.polling.sessions.interval_s,
            config.self_metrics.interval_s,
            config.udp.log_events.tags,
            config.udp.user_events.tags,
        )
        self.alert_items = ReloadAlertItems(section, ContextOptions.from_config(config.alerts))
        supported = set(routes)
        if self.alert_items.targets:
            supported.add(ReloadAlert.kind)
        self.service_items = ServiceAlertItems(section)
        if self.service_items.targets:
            supported.add(ServiceStateChanged.kind)
        self.license_items = LicenseAlertItems(section)
        if self.license_items.targets:
            supported.add(ServerLicenseAlert.kind)
        super().__init__(
            SINK_NAME,
            kinds_for(SINK_NAME, section.events, supported),
            NewRelicDestination(section),
            section.delivery or config.delivery,
            runtime.state_dir / "spool",
        )
        self.known_accounts = frozenset(account.name for account in section.accounts)
        alerting = {ReloadAlert.kind, ServiceStateChanged.kind, ServerLicenseAlert.kind} & self.kinds
        self.limits = AlertLimits(runtime.state) if alerting else None
        self._pending: set[asyncio.Task[None]] = set()
        self._alert_log = RateLimitedLog(log, 60.0)

    def encode(self, event: Event) -> Iterable[bytes]:
        accounts = self.routes.get(event.kind, ())
        return [pack(api, account, item) for api, item in self.payloads.items(event) for account in accounts]

    #: alerts and state changes are admitted one at a time: a batch goes through ``submit``
    submit_many = Sink.submit_many

    def submit(self, event: Event) -> None:
        if isinstance(event, ServiceStateChanged):
            if event.kind in self.kinds and self.service_items.targets_for(event):
                self._start(self._admit_service(event))
            return
        if isinstance(event, ServerLicenseAlert):
            if event.kind in self.kinds and self.license_items.targets:
                self._start(self._admit_license(event))
            return
        if not isinstance(event, ReloadAlert):
            super().submit(event)
            return
        if not self.alert_items.targets_for(event):
            return
        self._start(self._admit(event))

    def _start(self, admitting: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(admitting)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _admit_service(self, change: ServiceStateChanged) -> None:
        """Rate limit per host|service (event and log apart), then one record per account."""
        key = f"{change.current.host}|{change.current.service_name}"
        targets = self.service_items.targets_for(change)
        await self._admit_monitor(
            targets, key, lambda target: self.service_items.item(target, change), "service"
        )

    async def _admit_license(self, alert: ServerLicenseAlert) -> None:
        """Rate limit per alert kind (event and log apart), then one record per account."""
        items = self.license_items
        await self._admit_monitor(
            items.targets, f"license-{alert.alert}", lambda target: items.item(target, alert), "licence"
        )

    async def _admit_monitor(
        self, targets: list[ServiceTarget], key: str, make: Callable[[ServiceTarget], Item], what: str
    ) -> None:
        stats = self.delivery.stats
        records: list[bytes] = []
        try:
            for target in targets:
                accounts = target.settings.accounts
                if not accounts:
                    continue
                assert self.limits is not None
                if not await self.limits.allow(
                    self.name, target.limit_name, key, window_s=target.shared.rate_limit_s
                ):
                    stats.received += len(accounts)
                    stats.dropped["rate_limited"] += len(accounts)
                    continue
                item = make(target)
                records += [pack(target.api, account, item) for account in accounts]
        except Exception as exc:
            stats.received += 1
            stats.dropped["encode_error"] += 1
            self._alert_log.log(
                logging.ERROR,
                "encode",
                "%s: cannot make the %s alert items: %r",
                self.name,
                what,
                exc,
                exc_info=True,
            )
            return
        if records:
            self.delivery.enqueue(records)

    async def _admit(self, alert: ReloadAlert) -> None:
        stats = self.delivery.stats
        records: list[bytes] = []
        try:
            for target, names in records_of(self.alert_items, alert):
                unknown = [name for name in names if name not in self.known_accounts]
                if unknown:
                    stats.received += len(unknown)
                    stats.dropped["unknown_account"] += len(unknown)
                    self._alert_log.log(
                        logging.WARNING,
                        "unknown_account",
                        "%s: task %s names New Relic account(s) %s in %s, which new_relic.accounts "
                        "does not have; not sent there",
                        self.name,
                        alert.source.task_id,
                        ", ".join(repr(name) for name in unknown),
                        target.custom_property,
                    )
                accounts = [name for name in names if name in self.known_accounts]
                if not accounts:
                    continue
                assert self.limits is not None
                window = target.shared.rate_limit_s
                if not await self.limits.allow(
                    self.name, target.limit_name, alert.source.task_id, window_s=window
                ):
                    stats.received += len(accounts)
                    stats.dropped["rate_limited"] += len(accounts)
                    continue
                item = self.alert_items.item(target, alert)
                records += [pack(target.api, account, item) for account in accounts]
        except Exception as exc:
            stats.received += 1
            stats.dropped["encode_error"] += 1
            self._alert_log.log(
                logging.ERROR,
                "encode",
                "%s: cannot make the reload alert items: %r",
                self.name,
                exc,
                exc_info=True,
            )
            return
        if records:
            self.delivery.enqueue(records)

    async def stop(self) -> None:
        """Let alerts being admitted reach the delivery (bounded by its shutdown timeout), then stop."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=self.delivery.config.shutdown_timeout_s)
        await super().stop()


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.new_relic
    if not section.enable:
        return []
    routes = accounts_by_kind(section)
    unrouted = [kind for kind in section.events if kind in ROUTING_KEYS and kind not in routes]
    if unrouted:
        names = ", ".join(f"new_relic.routing.{ROUTING_KEYS[kind]}" for kind in unrouted)
        raise StartupError(f"new_relic.events lists {', '.join(unrouted)}, but {names} names no account")
    try:
        return [NewRelicSink(runtime, section, routes)]
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
