"""Alerts as Butler's outgoing-webhook fields (butler.md §8.8), and the request per webhook.

GET sends the fields as query parameters, POST and PUT as a JSON object.

* reload alerts: the user is ``DIR\\user`` (Butler collapses the doubled backslash). Beyond Butler's
  names, ``missing`` says what could not be fetched from QRS (``app owner unavailable``; empty when
  nothing is missing).
* service alerts: ``event`` ``Windows service monitor`` and the service's state; a GET uses Butler's
  lower-case parameter names (``servicestatus``, ``prevstate``, ...).
* server licence alerts: ``licenseExpired``, ``expiryDateStr`` and the signed ``daysUntilExpiry``
  (negative once expired; null when the licence has no expiry date).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from sensebutler.alerts.context import missing_text
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicense, ServerLicenseAlert, ServiceStateChanged
from sensebutler.sinks.webhook.config import WebhookTarget
from sensebutler.sinks.webhook.request import HttpRequest

EVENT_TEXT = {
    "reload-failed": "Qlik Sense reload failed",
    "reload-aborted": "Qlik Sense reload aborted",
}


def webhook_fields(alert: ReloadAlert, event: str) -> dict[str, str]:
    """Butler's fields, in Butler's order."""
    source, owner = alert.source, alert.owner
    return {
        "event": EVENT_TEXT.get(event, f"Qlik Sense {event.replace('-', ' ')}"),
        "hostName": source.host,
        "user": source.user.replace("\\\\", "\\"),
        "taskName": source.task_name,
        "taskId": source.task_id,
        "appName": source.app_name,
        "appId": source.app_id,
        "appOwnerName": owner.name if owner else "",
        "appOwnerUserDirectory": owner.user_directory if owner else "",
        "appOwnerUserId": owner.user_id if owner else "",
        "appOwnerEmail": owner.emails[0] if owner and owner.emails else "",
        "logTimeStamp": source.log_timestamp,
        "logLevel": source.level,
        "executionId": source.execution_id,
        "logMessage": source.message,
        "missing": missing_text(alert.missing),
    }


SERVICE_EVENT_TEXT = "Windows service monitor"
LICENSE_EVENT_TEXT = {
    "expired": "server license has expired alert",
    "expiring": "server license about to expire alert",
}


def service_fields(change: ServiceStateChanged) -> dict[str, Any]:
    """Butler's service monitor body, in Butler's order."""
    service = change.current
    return {
        "event": SERVICE_EVENT_TEXT,
        "host": service.host,
        "serviceStatus": service.state,
        "serviceName": service.service_name,
        "serviceDisplayName": service.display_name,
        "serviceStartType": service.start_type,
        "prevState": change.previous,
        "currState": service.state,
        "stateChanged": True,
    }


def service_query(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A GET's parameters: Butler writes the service fields' names in lower case."""
    return {key.lower(): value for key, value in fields.items()}


def license_fields(alert: ServerLicenseAlert) -> dict[str, Any]:
    return {"event": LICENSE_EVENT_TEXT[alert.alert], **alert.license.butler_json()}


def license_status_fields(status: ServerLicense) -> dict[str, Any]:
    """The recurring ``server license status`` webhook of every check."""
    return {"event": "server license status", **status.butler_json()}


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def webhook_request(
    target: WebhookTarget, fields: Mapping[str, Any], query: Mapping[str, Any] | None = None
) -> HttpRequest:
    """The request to ``target``: ``query`` (default ``fields``) as a GET's parameters, else
    ``fields`` as JSON."""
    url = target.url.get_secret_value()
    if target.method == "GET":
        separator = "&" if "?" in url else "?"
        params = {key: _query_value(value) for key, value in (fields if query is None else query).items()}
        return HttpRequest("GET", f"{url}{separator}{urlencode(params)}", tls=target.tls_profile())
    return HttpRequest(target.method, url, orjson.dumps(dict(fields)), tls=target.tls_profile())


__all__ = [
    "EVENT_TEXT",
    "LICENSE_EVENT_TEXT",
    "SERVICE_EVENT_TEXT",
    "license_fields",
    "license_status_fields",
    "service_fields",
    "service_query",
    "webhook_fields",
    "webhook_request",
]
