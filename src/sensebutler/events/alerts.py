"""Alerts: what the processors make from task events (and later service, licence and SLA events).

A :class:`ReloadAlert` is one task outcome, enriched once from QRS and shared by every destination
(Butler repeats the QRS calls per destination). What could not be fetched is ``None`` and named in
``missing``, so every destination still sends what is known and says what is not. Times are
Qlik's ISO 8601 UTC strings as QRS gives them (``1753-01-01T00:00:00.000Z`` is Qlik's null date);
destinations format them (``alerts/context.py`` gives Butler's template fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from sensebutler.events import Event
from sensebutler.events.udp import TaskEvent

TaskType = Literal["reload", "external_program", "user_sync", "distribute", "preload"]
#: QRS ``taskType`` numbers
TASK_TYPES: dict[int, TaskType] = {
    0: "reload",
    1: "external_program",
    2: "user_sync",
    3: "distribute",
    4: "preload",
}
Outcome = Literal["failed", "aborted", "success"]


@dataclass(frozen=True, slots=True)
class NameValue:
    """A custom property value (``customProperties[].definition.name`` and ``value``)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskInfo:
    """``GET /qrs/task/full?filter=id eq <id>``."""

    task_type: TaskType
    tags: tuple[str, ...] = ()
    custom_properties: tuple[NameValue, ...] = ()
    is_manually_triggered: bool = False
    is_partial_reload: bool = False
    max_retries: int = 0
    modified_by_username: str = ""
    modified_date: str = ""
    session_timeout: int = 0
    #: ``operational.nextExecution`` (Qlik's null date when there is none)
    next_execution: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AppInfo:
    """``GET /qrs/app/full?filter=id eq <id>``."""

    description: str = ""
    file_size: int = 0
    last_reload_time: str = ""
    modified_date: str = ""
    modified_by_username: str = ""
    publish_time: str = ""
    published: bool = False
    stream_name: str = ""
    tags: tuple[str, ...] = ()
    custom_properties: tuple[NameValue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AppOwner:
    """The app's owner (``app/<id>`` → ``owner``) and the e-mail attributes of that user."""

    name: str = ""
    user_id: str = ""
    user_directory: str = ""
    emails: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionDetail:
    created: str
    message: str
    details_type: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Execution:
    """``operational.lastExecutionResult`` of the task (``GET /qrs/reloadtask/<id>`` or the type's own)."""

    result_id: str = ""
    executing_node_name: str = ""
    #: 0 NeverStarted … 7 FinishedSuccess, 8 FinishedFail, 6 Aborted, 10 Retry, 11 Error (butler.md §7.1)
    status: int = -1
    start_time: str = ""
    stop_time: str = ""
    duration_ms: int = 0
    details: tuple[ExecutionDetail, ...] = ()
    script_log_size: int = 0
    file_reference_id: str = ""


class ReloadAlert(Event, frozen=True, kw_only=True):
    """One task outcome for the alert destinations (``time_ns`` = the task event's)."""

    kind: ClassVar[str] = "reload_alert"

    outcome: Outcome
    task_type: TaskType
    #: the datagram's fields: host, task and app names and ids, user, log timestamp/level/message
    source: TaskEvent
    task: TaskInfo | None = None
    app: AppInfo | None = None
    owner: AppOwner | None = None
    execution: Execution | None = None
    #: the whole script log as Qlik serves it (CRLF lines); None when it could not be fetched
    script_log: str | None = None
    #: what could not be fetched, in words for the message: "script log", "app", "app owner", ...
    missing: tuple[str, ...] = ()


class AlertReceived(Event, frozen=True, kw_only=True):
    """An alert that arrived at a receiver sensebutler runs itself (the demo's mail catcher and
    webhook receiver), so the dashboard shows what went out and where it arrived."""

    kind: ClassVar[str] = "alert_received"

    #: ``email`` or ``webhook``
    channel: str
    #: the recipients, or the method and path the webhook called
    to: str
    subject: str
    body: str


__all__ = [
    "TASK_TYPES",
    "AlertReceived",
    "AppInfo",
    "AppOwner",
    "Execution",
    "ExecutionDetail",
    "NameValue",
    "Outcome",
    "ReloadAlert",
    "TaskInfo",
    "TaskType",
]
