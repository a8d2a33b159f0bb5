"""Events parsed from the log4net UDP datagrams Qlik Sense sends (butler-sos.md §2, butler.md §6).

Field names are Butler SOS's, so sinks can keep its InfluxDB/MQTT/New Relic names. A field a source
does not send is ``""`` (strings) or its numeric sentinel. GUIDs are lower case or ``""``.
``time_ns`` is the event's own timestamp when the datagram carries a valid one, else the time the
datagram was received.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from sensebutler.events import Event

LogSource = Literal["engine", "proxy", "repository", "scheduler"]
TaskEventType = Literal["failed", "aborted", "success", "distribute"]
UserMessageType = Literal["qseow-proxy-session", "qseow-proxy-connection"]


class LogEvent(Event, frozen=True, gc=False):
    """A WARN/ERROR/FATAL row from the engine, proxy, repository or scheduler appender.

    Not ``kw_only`` (unlike other events): the UDP parser builds it with positional arguments in
    field order (``time_ns``, from the base, stays keyword-only and comes last), which msgspec does
    in a fifth of the time thirty keyword arguments take. Elsewhere, pass fields by keyword.
    """

    kind: ClassVar[str] = "log"

    source: LogSource
    log_row: int = -1
    ts_iso: str = ""
    ts_local: str = ""
    level: str = ""
    host: str = ""
    subsystem: str = ""
    windows_user: str = ""
    message: str = ""
    exception_message: str = ""
    user_directory: str = ""
    user_id: str = ""
    user_full: str = ""
    # engine
    proxy_session_id: str = ""
    engine_ts: str = ""
    process_id: str = ""
    engine_exe_version: str = ""
    server_started: str = ""
    entry_type: str = ""
    session_id: str = ""
    # proxy / repository
    command: str = ""
    result_code: str = ""
    origin: str = ""
    context: str = ""
    # scheduler (app_id also engine)
    task_name: str = ""
    app_name: str = ""
    task_id: str = ""
    app_id: str = ""
    execution_id: str = ""
    #: ``(name, value)`` pairs set by categorisation; they become tags
    categories: tuple[tuple[str, str], ...] = ()


_COMMON = ("log_row", "ts_iso", "ts_local", "level", "host", "subsystem", "windows_user")
_USER = ("user_directory", "user_id", "user_full")
_GENERIC = (*_COMMON, "message", "exception_message", *_USER, "command", "result_code", "origin", "context")
#: the fields each source's datagram carries, in Butler SOS's order: its parsed log event object has
#: exactly these keys, so its MQTT payloads and New Relic attributes have them and no others
SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "engine": (
        *_COMMON,
        "message",
        "proxy_session_id",
        *_USER,
        "engine_ts",
        "process_id",
        "engine_exe_version",
        "server_started",
        "entry_type",
        "session_id",
        "app_id",
    ),
    "proxy": _GENERIC,
    "repository": _GENERIC,
    "scheduler": (
        *_COMMON,
        "message",
        "exception_message",
        *_USER,
        "task_name",
        "app_name",
        "task_id",
        "app_id",
        "execution_id",
    ),
}


class QixPerfEvent(Event, frozen=True, gc=False):
    """One QIX engine request with its timings (``/qseow-qix-perf/``); built positionally by the
    parser, as :class:`LogEvent` (pass fields by keyword elsewhere)."""

    kind: ClassVar[str] = "qix_perf"

    log_row: int = -1
    ts_iso: str = ""
    ts_local: str = ""
    level: str = ""
    host: str = ""
    subsystem: str = ""
    windows_user: str = ""
    #: a GUID or ``""`` (engine-internal activity, e.g. scheduled reloads, sends ``0``: see
    #: ``event_activity_source``)
    proxy_session_id: str = ""
    user_directory: str = ""
    user_id: str = ""
    user_full: str = ""
    engine_ts: str = ""
    session_id: str = ""
    app_id: str = ""
    #: filled by the app-name lookup when enabled
    app_name: str = ""
    request_id: int = -99
    method: str = ""
    #: milliseconds; -1.0 when the field was missing, negative or not a finite number
    process_time: float = -1.0
    work_time: float = -1.0
    lock_time: float = -1.0
    validate_time: float = -1.0
    traverse_time: float = -1.0
    handle: int = -99
    object_id: str = ""
    #: bytes; -1 when missing or invalid
    net_ram: int = -1
    peak_ram: int = -1
    object_type: str = ""
    event_activity_source: Literal["user", "non-user"] = "user"
    #: ``(name, value)`` pairs from categorisation (its default categories: rules match messages,
    #: which QIX events do not have); they become tags
    categories: tuple[tuple[str, str], ...] = ()


class UserEvent(Event, frozen=True, kw_only=True, gc=False):
    """Proxy session start/stop or connection open/close (``/qseow-proxy-session|connection/``)."""

    kind: ClassVar[str] = "user"

    message_type: UserMessageType
    host: str = ""
    #: ``Start session``, ``Stop session``, ``Open connection`` or ``Close connection``
    command: str = ""
    user_directory: str = ""
    user_id: str = ""
    user_full: str = ""
    origin: str = ""
    context: str = ""
    message: str = ""
    #: from a context ``/app/<guid>``
    app_id: str = ""
    #: filled by the app-name lookup
    app_name: str = ""
    #: the text after ``UserAgent:`` in the message, quotes removed
    user_agent: str = ""
    ua_browser_name: str = ""
    ua_browser_version: str = ""
    ua_browser_major: str = ""
    ua_os_name: str = ""
    ua_os_version: str = ""


class TaskEvent(Event, frozen=True, kw_only=True, gc=False):
    """A scheduler task outcome from Butler's appender file (UDP 9998)."""

    kind: ClassVar[str] = "task"

    event_type: TaskEventType
    #: field 0 as received, e.g. ``/scheduler-task-success//``
    raw_type: str
    host: str = ""
    task_name: str = ""
    app_name: str = ""
    #: ``DIR\id`` as sent
    user: str = ""
    user_directory: str = ""
    user_id: str = ""
    task_id: str = ""
    #: ``""`` for tasks without an app (external program, user sync, distribute)
    app_id: str = ""
    #: the log4net ``%date`` string (local time of the scheduler, no offset)
    log_timestamp: str = ""
    level: str = ""
    #: de-duplication key; lower case when it is a GUID
    execution_id: str = ""
    message: str = ""


class EngineReloadFailedEvent(Event, frozen=True, kw_only=True, gc=False):
    """The 9-field ``/engine-reload-failed/`` datagram (no appender ships it; accepted and logged)."""

    kind: ClassVar[str] = "engine_reload_failed"

    host: str = ""
    app_id: str = ""
    app_name: str = ""
    user_directory: str = ""
    user_id: str = ""
    user_full: str = ""
    log_timestamp: str = ""
    execution_id: str = ""
    message: str = ""


__all__ = [
    "SOURCE_FIELDS",
    "EngineReloadFailedEvent",
    "LogEvent",
    "LogSource",
    "QixPerfEvent",
    "TaskEvent",
    "TaskEventType",
    "UserEvent",
    "UserMessageType",
]
