"""The server licence alert as a New Relic event and log (Butler has none; the names are ours).

An event (Event API, ``eventType`` ``qs_serverLicenseEvent``) and a log (Log API, ``logtype``
``qs_serverLicenseLog``, message the alert's sentence, e.g. ``Qlik Sense server license expired on
2026-01-31``) carry ``butler_licenseAlert`` (``expired`` / ``expiring``), ``butler_licenseExpired``,
``butler_licenseExpiryDate``, ``butler_licenseDaysUntilExpiry`` (signed: negative once expired) and
``butler_licenseThresholdDays``, the static attributes and ``version``. The rate limit is per alert
kind (``license-expired`` / ``license-expiring``), event and log apart.
"""

from __future__ import annotations

from typing import Any

from sensebutler import __version__
from sensebutler.events.monitors import ServerLicenseAlert
from sensebutler.sinks.newrelic.config import NewRelicSection
from sensebutler.sinks.newrelic.payloads import Item
from sensebutler.sinks.newrelic.service_alerts import ServiceTarget


class LicenseAlertItems:
    """Makes the event and log items of server licence alerts; config is copied at construction."""

    def __init__(self, section: NewRelicSection) -> None:
        self.static = dict(section.static_attributes)
        self.targets = [
            ServiceTarget(event, api, shared, settings)
            for event, api, shared, settings in section.license_alerts.targets()
        ]

    def item(self, target: ServiceTarget, alert: ServerLicenseAlert) -> Item:
        lic = alert.license
        attributes: dict[str, Any] = {**self.static, **target.shared.attributes, **target.settings.attributes}
        attributes.update(
            {
                "version": __version__,
                "butler_licenseAlert": alert.alert,
                "butler_licenseExpired": lic.expired,
                "butler_licenseExpiryDate": lic.expiry_date,
                "butler_licenseDaysUntilExpiry": lic.days_until_expiry,
                "butler_licenseThresholdDays": alert.threshold_days,
            }
        )
        ms = alert.time_ns // 1_000_000
        if target.api == "event":
            return {"eventType": target.shared.event_type, "timestamp": ms, **attributes}
        attributes["logtype"] = target.shared.log_type
        return {"common": {"attributes": attributes}, "logs": [{"timestamp": ms, "message": alert.message}]}


__all__ = ["LicenseAlertItems"]
