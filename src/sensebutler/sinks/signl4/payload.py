"""Signl4 webhook bodies (butler.md §8.7): Butler's alert, and the resolution Butler never sends.

The task id is ``X-S4-ExternalID``, so Signl4 keeps one alert per task and the resolution (same
id, ``X-S4-Status: resolved``) closes it.
"""

from __future__ import annotations

from typing import Any

from sensebutler.events.alerts import ReloadAlert
from sensebutler.sinks.signl4.config import Signl4EventBlock

TITLES = {
    "reload-failed": "Qlik Sense reload task failed",
    "reload-aborted": "Qlik Sense task aborted",
}
RESOLVED_TITLE = "Qlik Sense reload task succeeded"


def signl4_alert(alert: ReloadAlert, event: str, block: Signl4EventBlock) -> dict[str, Any]:
    return {
        "Title": TITLES.get(event, f"Qlik Sense {event.replace('-', ' ')}"),
        "Message": f"Task: {alert.source.task_name}",
        "Severity": block.severity,
        "X-S4-Service": block.service_name,
        "X-S4-ExternalID": alert.source.task_id,
        "X-S4-Status": "new",
    }


def signl4_resolution(alert: ReloadAlert, service_name: str) -> dict[str, Any]:
    return {
        "Title": RESOLVED_TITLE,
        "Message": f"Task: {alert.source.task_name}",
        "X-S4-Service": service_name,
        "X-S4-ExternalID": alert.source.task_id,
        "X-S4-Status": "resolved",
    }


__all__ = ["RESOLVED_TITLE", "TITLES", "signl4_alert", "signl4_resolution"]
