"""Failed and aborted reloads as Butler's New Relic incident events and logs (butler.md §8.6).

An event (Event API, ``eventType`` ``qs_reloadTaskFailedEvent`` / ``qs_reloadTaskAbortedEvent``)
carries the task event's fields as ``qs_*`` attributes; a log (Log API, ``logtype``
``qs_reloadTaskFailedLog`` / ``qs_reloadTaskAbortedLog``) adds the execution and has the execution
details and the script log's tail as its message. Each goes to the accounts its target names
always, plus those the task's custom property names (Butler's per-task account routing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sensebutler import __version__
from sensebutler.alerts.context import ContextOptions, missing_text, template_context
from sensebutler.alerts.event_names import event_name
from sensebutler.events.alerts import ReloadAlert
from sensebutler.sinks.newrelic.config import (
    AlertApi,
    NewRelicAlertTarget,
    NewRelicReloadAlert,
    NewRelicSection,
)
from sensebutler.sinks.newrelic.payloads import Item

#: Butler's names per event: (event type, log type, custom property of event accounts, of log accounts)
BUTLER_NAMES = {
    "reload-failed": (
        "qs_reloadTaskFailedEvent",
        "qs_reloadTaskFailedLog",
        "Butler_FailedTask_Event_NewRelicAccount",
        "Butler_FailedTask_Log_NewRelicAccount",
    ),
    "reload-aborted": (
        "qs_reloadTaskAbortedEvent",
        "qs_reloadTaskAbortedLog",
        "Butler_AbortedTask_Event_NewRelicAccount",
        "Butler_AbortedTask_Log_NewRelicAccount",
    ),
}
NO_SCRIPT_LOG = "Script log not available"
_SEPARATOR = "-------------------------------"


@dataclass(frozen=True)
class AlertTarget:
    """One enabled event or log of one reload outcome, with Butler's defaults filled in."""

    event: str
    api: AlertApi
    settings: NewRelicAlertTarget
    shared: NewRelicReloadAlert
    #: ``eventType`` of events, ``logtype`` of logs
    type_name: str
    custom_property: str

    @property
    def limit_name(self) -> str:
        """Event and log of an outcome are rate-limited apart, as in Butler."""
        return f"{self.event}:{self.api}"


def alert_targets(section: NewRelicSection) -> dict[str, list[AlertTarget]]:
    """Alert event (``reload-failed``) → its enabled targets."""
    found: dict[str, list[AlertTarget]] = {}
    for event, api, settings in section.reload_alerts.targets():
        shared = (
            section.reload_alerts.reload_failed
            if event == "reload-failed"
            else section.reload_alerts.reload_aborted
        )
        event_type, log_type, event_property, log_property = BUTLER_NAMES[event]
        if api == "event":
            type_name, default_property = shared.event_type or event_type, event_property
        else:
            type_name, default_property = shared.log_type or log_type, log_property
        target = AlertTarget(
            event, api, settings, shared, type_name, settings.custom_property or default_property
        )
        found.setdefault(event, []).append(target)
    return found


def custom_property_values(alert: ReloadAlert, name: str) -> list[str]:
    """The task's values of custom property ``name`` (none when the task could not be fetched)."""
    if alert.task is None:
        return []
    return [item.value for item in alert.task.custom_properties if item.name == name]


def accounts_for(target: AlertTarget, alert: ReloadAlert) -> list[str]:
    """Account names: those named always, then the task's custom property values; each once."""
    names = list(target.settings.accounts)
    if target.settings.by_custom_property:
        names += custom_property_values(alert, target.custom_property)
    return list(dict.fromkeys(name for name in names if name))


class ReloadAlertItems:
    """Makes the event and log items of reload alerts; config is copied at construction."""

    def __init__(self, section: NewRelicSection, context: ContextOptions) -> None:
        self.static = dict(section.static_attributes)
        self.context = context
        self.targets = alert_targets(section)

    def targets_for(self, alert: ReloadAlert) -> list[AlertTarget]:
        if alert.task_type != "reload":
            return []  # Butler sends reload tasks only
        return self.targets.get(event_name(alert), [])

    def item(self, target: AlertTarget, alert: ReloadAlert) -> Item:
        attributes = self._attributes(target, alert)
        ms = alert.time_ns // 1_000_000
        if target.api == "event":
            return {"eventType": target.type_name, "timestamp": ms, **attributes}
        return self._log(target, alert, attributes, ms)

    def _attributes(self, target: AlertTarget, alert: ReloadAlert) -> dict[str, Any]:
        source = alert.source
        attributes: dict[str, Any] = {**self.static, **target.shared.attributes, **target.settings.attributes}
        attributes["version"] = __version__
        attributes.update(
            {
                "qs_hostName": source.host,
                "qs_user": source.user.replace("\\", "/"),
                "qs_taskName": source.task_name,
                "qs_taskId": source.task_id,
                "qs_appName": source.app_name,
                "qs_appId": source.app_id,
                "qs_logTimeStamp": source.log_timestamp,
                "qs_logLevel": source.level,
                "qs_executionId": source.execution_id,
                "qs_logMessage": source.message,
            }
        )
        if target.settings.use_task_tags and alert.task is not None:
            attributes.update((f"qs_taskTag_{tag}", "true") for tag in alert.task.tags)
        if target.settings.use_app_tags and alert.app is not None:
            attributes.update((f"qs_appTag_{tag}", "true") for tag in alert.app.tags)
        if alert.missing:
            attributes["qs_missing"] = missing_text(alert.missing)
        return attributes

    def _log(self, target: AlertTarget, alert: ReloadAlert, attributes: dict[str, Any], ms: int) -> Item:
        context = template_context(alert, self.context, head_lines=0, tail_lines=target.settings.tail_lines)
        attributes["logtype"] = target.type_name
        attributes.update(
            {
                "qs_executingNodeName": context["executingNodeName"],
                "qs_executionStartTime": context["executionStartTime"],
                "qs_executionStopTime": context["executionStopTime"],
                "qs_executionDuration": context["executionDuration"],
                "qs_executionStatusNum": context["executionStatusNum"],
                "qs_exeuctionStatusText": context["executionStatusText"],  # sic: Butler's name
                "qs_scriptLogSize": context["scriptLogSize"],
                "qs_scriptLogTailCount": context["scriptLogTailCount"],
            }
        )
        tail = context["scriptLogTail"] if alert.script_log is not None else NO_SCRIPT_LOG
        message = f"{context['executionDetailsConcatenated']}\r\n{_SEPARATOR}\r\n\r\n{tail}"
        return {"common": {"attributes": attributes}, "logs": [{"timestamp": ms, "message": message}]}


def records_of(items: ReloadAlertItems, alert: ReloadAlert) -> Iterator[tuple[AlertTarget, list[str]]]:
    """Each target of ``alert`` with its account names (possibly none)."""
    for target in items.targets_for(alert):
        yield target, accounts_for(target, alert)


__all__ = [
    "BUTLER_NAMES",
    "AlertTarget",
    "ReloadAlertItems",
    "accounts_for",
    "alert_targets",
    "custom_property_values",
    "records_of",
]
