"""Services that stopped or started as Butler's New Relic service events and logs (butler.md §8.6).

An event (Event API, ``eventType`` ``qs_serviceStateEvent``) and a log (Log API, ``logtype``
``qs_serviceStateLog``, message ``Windows service "<display name>" on host "<host>" is <STATE>.``)
carry ``butler_serviceHost``, ``butler_serviceName``, ``butler_serviceDisplayName`` and
``butler_serviceStatus``, the static attributes and ``version``. Each goes to the accounts its target
names; the rate limit is per host|service, for stopped and started, event and log apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sensebutler import __version__
from sensebutler.alerts.event_names import service_event_name
from sensebutler.events.monitors import ServiceStateChanged
from sensebutler.sinks.newrelic.config import (
    AlertApi,
    NewRelicSection,
    NewRelicServiceAlert,
    NewRelicServiceTarget,
)
from sensebutler.sinks.newrelic.payloads import Item


@dataclass(frozen=True)
class ServiceTarget:
    """One enabled event or log of service-stopped, service-started (or server-license-alert)."""

    event: str
    api: AlertApi
    shared: NewRelicServiceAlert
    settings: NewRelicServiceTarget

    @property
    def limit_name(self) -> str:
        return f"{self.event}:{self.api}"


def log_message(change: ServiceStateChanged) -> str:
    service = change.current
    return f'Windows service "{service.display_name}" on host "{service.host}" is {service.state}.'


class ServiceAlertItems:
    """Makes the event and log items of service alerts; config is copied at construction."""

    def __init__(self, section: NewRelicSection) -> None:
        self.static = dict(section.static_attributes)
        self.targets: dict[str, list[ServiceTarget]] = {}
        for event, api, shared, settings in section.service_alerts.targets():
            self.targets.setdefault(event, []).append(ServiceTarget(event, api, shared, settings))

    def targets_for(self, change: ServiceStateChanged) -> list[ServiceTarget]:
        return self.targets.get(service_event_name(change), [])

    def item(self, target: ServiceTarget, change: ServiceStateChanged) -> Item:
        service = change.current
        attributes: dict[str, Any] = {**self.static, **target.shared.attributes, **target.settings.attributes}
        attributes.update(
            {
                "version": __version__,
                "butler_serviceHost": service.host,
                "butler_serviceName": service.service_name,
                "butler_serviceDisplayName": service.display_name,
                "butler_serviceStatus": service.state,
            }
        )
        ms = change.time_ns // 1_000_000
        if target.api == "event":
            return {"eventType": target.shared.event_type, "timestamp": ms, **attributes}
        attributes["logtype"] = target.shared.log_type
        return {
            "common": {"attributes": attributes},
            "logs": [{"timestamp": ms, "message": log_message(change)}],
        }


__all__ = ["ServiceAlertItems", "ServiceTarget", "log_message"]
