"""A reload alert as Butler's outgoing-webhook fields (butler.md §8.8), and the request per webhook.

GET sends the fields as query parameters, POST and PUT as a JSON object. The user is ``DIR\\user``
(Butler collapses the doubled backslash). Beyond Butler's names, ``missing`` says what could not be
fetched from QRS (``app owner unavailable``; empty when nothing is missing).
"""

from __future__ import annotations

from urllib.parse import urlencode

import orjson

from sensebutler.alerts.context import missing_text
from sensebutler.events.alerts import ReloadAlert
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


def webhook_request(target: WebhookTarget, fields: dict[str, str]) -> HttpRequest:
    url = target.url.get_secret_value()
    if target.method == "GET":
        separator = "&" if "?" in url else "?"
        return HttpRequest("GET", f"{url}{separator}{urlencode(fields)}", tls=target.tls_profile())
    return HttpRequest(target.method, url, orjson.dumps(fields), tls=target.tls_profile())


__all__ = ["EVENT_TEXT", "webhook_fields", "webhook_request"]
