"""New Relic: Butler SOS's Metric API and Event API payloads, each kind routed to its own accounts.

Names, routing and what differs from Butler SOS: docs/outputs.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sensebutler.events import Event
from sensebutler.events.polled import HealthSample, ProxySessions, SelfMetrics
from sensebutler.events.udp import LogEvent, UserEvent
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import DeliverySink, Sink, kinds_for
from sensebutler.sinks.newrelic.client import NewRelicDestination
from sensebutler.sinks.newrelic.config import NewRelicSection
from sensebutler.sinks.newrelic.payloads import Payloads
from sensebutler.sinks.newrelic.records import pack

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
        super().__init__(
            "new_relic",
            kinds_for("new_relic", section.events, routes),
            NewRelicDestination(section),
            section.delivery or config.delivery,
            runtime.state_dir / "spool",
        )

    def encode(self, event: Event) -> Iterable[bytes]:
        accounts = self.routes.get(event.kind, ())
        return [pack(api, account, item) for api, item in self.payloads.items(event) for account in accounts]


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
