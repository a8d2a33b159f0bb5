"""Task outcomes (:class:`ReloadAlert`) as Butler's InfluxDB points (butler.md §8.5, §7.8).

``reload_task_failed``, ``reload_task_success`` (and sensebutler's own ``reload_task_aborted``) carry
the execution and an excerpt of the script log; ``<type>_task_failed`` / ``<type>_task_success`` of
external program, user sync, distribute and preload tasks carry the execution. Butler's names are
kept, including its misspelt ``task_exeuctionStatusText`` tag, so its dashboards keep working.

Every number is written as a float, as Butler's InfluxDB clients do in all three versions.
"""

from __future__ import annotations

from typing import Any

import orjson

from sensebutler.alerts.context import ContextOptions, template_context
from sensebutler.alerts.event_names import event_name
from sensebutler.events.alerts import ReloadAlert
from sensebutler.sinks.influxdb.config import ReloadSuccessPoints, TaskPoints, TaskPointsSection
from sensebutler.sinks.influxdb.line_protocol import FieldValue
from sensebutler.sinks.influxdb.schema import TASK_MEASUREMENTS

#: Butler's words for a script log that could not be fetched
NO_SCRIPT_LOG = "Script log not available"
#: what Butler writes into the execution tags when it knows nothing about the execution
UNKNOWN_EXECUTION = {
    "task_executingNodeName": "unknown",
    "task_executionStatusNum": "-1",
    "task_exeuctionStatusText": NO_SCRIPT_LOG,  # sic
}
_SEPARATOR = "-------------------------------"


def measurement_of(alert: ReloadAlert) -> str:
    return f"{alert.task_type}_task_{alert.outcome}"


def custom_property_values(alert: ReloadAlert, name: str) -> list[str]:
    """The task's values of custom property ``name`` (none when the task could not be fetched)."""
    if alert.task is None:
        return []
    return [item.value for item in alert.task.custom_properties if item.name == name]


def wanted(block: TaskPoints, alert: ReloadAlert) -> bool:
    """Successful reloads only for every task or for those the custom property names."""
    if not isinstance(block, ReloadSuccessPoints):
        return True
    gate = block.by_custom_property
    return block.all_tasks or (gate.enable and gate.value in custom_property_values(alert, gate.name))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class TaskPointMaker:
    """Builds the tags and fields of one task outcome's point."""

    def __init__(self, section: TaskPointsSection, context: ContextOptions) -> None:
        self.section = section
        self.context = context

    def point(self, alert: ReloadAlert) -> tuple[str, dict[str, str], dict[str, FieldValue]] | None:
        """``(measurement, tags, fields)``, or None when config leaves this outcome out."""
        block = self.section.block(event_name(alert))
        if block is None or measurement_of(alert) not in TASK_MEASUREMENTS or not wanted(block, alert):
            return None
        reload = alert.task_type == "reload"
        context = template_context(
            alert,
            self.context,
            head_lines=block.head_lines if alert.outcome == "success" else 0,
            tail_lines=block.tail_lines,
        )
        source = alert.source
        own: dict[str, str] = {
            "host": source.host,
            "user": source.user.replace("\\", "/"),
            "task_id": source.task_id,
            "task_name": source.task_name,
            "app_id": source.app_id,
            "app_name": source.app_name,
            "log_level": source.level,
        }
        fields: dict[str, FieldValue] = {
            "log_timestamp": source.log_timestamp,
            "execution_id": source.execution_id,
            "log_message": source.message,
        }
        if alert.execution is not None:
            own["task_executingNodeName"] = context["executingNodeName"]
            own["task_executionStatusNum"] = str(context["executionStatusNum"])
            own["task_exeuctionStatusText"] = context["executionStatusText"]  # sic
            fields.update(self._execution_fields(context))
        elif reload:
            own.update(UNKNOWN_EXECUTION)
        if reload:
            fields.update(self._script_log_fields(alert, context))
        tags = {key: value for key, value in self.section.tags.items() if key not in own}
        tags.update(own)
        if block.use_app_tags and alert.app is not None:
            tags.update((f"appTag_{tag}", "true") for tag in alert.app.tags)
        if block.use_task_tags and alert.task is not None:
            tags.update((f"taskTag_{tag}", "true") for tag in alert.task.tags)
        tags.update((key, value) for key, value in block.tags.items() if key not in own)
        return measurement_of(alert), tags, fields

    @staticmethod
    def _execution_fields(context: dict[str, Any]) -> dict[str, FieldValue]:
        duration = context["executionDuration"]
        seconds = duration["hours"] * 3600 + duration["minutes"] * 60 + duration["seconds"]
        return {
            "task_executionStartTime_json": _json(context["executionStartTime"]),
            "task_executionStopTime_json": _json(context["executionStopTime"]),
            "task_executionDuration_json": _json(duration),
            "task_executionDuration_sec": float(seconds),
            "task_executionDuration_min": seconds / 60,
            "task_executionDuration_h": seconds / 3600,
        }

    @staticmethod
    def _script_log_fields(alert: ReloadAlert, context: dict[str, Any]) -> dict[str, FieldValue]:
        details = context["executionDetailsConcatenated"]
        available = alert.script_log is not None
        tail = context["scriptLogTail"] if available else NO_SCRIPT_LOG
        if alert.outcome == "success" and available:
            head_count, tail_count = context["scriptLogHeadCount"], context["scriptLogTailCount"]
            text = (
                f"{details}\r\n---------- SCRIPT LOG HEAD ({head_count} lines) ----------\r\n"
                f"{context['scriptLogHead']}\r\n\r\n"
                f"---------- SCRIPT LOG TAIL ({tail_count} lines) ----------\r\n{tail}"
            )
        else:
            text = f"{details}\r\n{_SEPARATOR}\r\n\r\n{tail}" if details else tail
        fields: dict[str, FieldValue] = {"task_scriptLogSize": float(context["scriptLogSize"])}
        if alert.outcome == "success":
            fields["task_scriptLogHeadCount"] = float(context["scriptLogHeadCount"])
        fields["task_scriptLogTailCount"] = float(context["scriptLogTailCount"])
        fields["scriptLog"] = text
        fields["reload_log"] = text
        return fields


__all__ = [
    "NO_SCRIPT_LOG",
    "UNKNOWN_EXECUTION",
    "TaskPointMaker",
    "custom_property_values",
    "measurement_of",
    "wanted",
]
