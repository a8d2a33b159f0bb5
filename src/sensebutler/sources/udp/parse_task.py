"""Task-event datagrams (UDP 9998) from Butler's scheduler appender file (butler.md §6).

``type;host;taskName;appName;DIR\\user;taskId;appId;%date;level;executionId;message`` — the message is
last and may hold ``;`` (Butler rejects those; here the remainder is the message). Accepted types, in
any case and with surrounding whitespace: failed (``/scheduler-reload-failed/``,
``/scheduler-task-failed/``, ``/scheduler-reloadtask-failed/``), aborted (``/scheduler-reload-aborted/``,
``/scheduler-task-aborted/``), success (``/scheduler-reloadtask-success/``, ``/scheduler-task-success/``
and ``/scheduler-task-success//`` — the stray ``/`` is in Butler's shipped appender file, which Butler
itself then drops), distribute (``/scheduler-distribute/``). Plus the 9-field
``/engine-reload-failed/;host;appId;appName;userDir;userId;timestamp;executionId;message``.

The task id must be a GUID and a non-empty app id must be one too (``bad_id``); a missing task id is
``missing_field``. ``%date`` has no UTC offset, so task events are stamped with the receive time.
"""

from __future__ import annotations

from sensebutler.events.udp import EngineReloadFailedEvent, TaskEvent, TaskEventType
from sensebutler.sources.udp.malformed import MalformedDatagram, MalformedReason
from sensebutler.sources.udp.sanitise import (
    MAX_NAME,
    MAX_SHORT,
    MAX_STAMP,
    MAX_TEXT,
    decode,
    guid_or_empty,
    is_guid,
    join_user,
    split_user,
)
from sensebutler.sources.udp.timestamps import instant_ns

TASK_FIELDS = 11
ENGINE_RELOAD_FAILED_FIELDS = 9
ENGINE_RELOAD_FAILED = "/engine-reload-failed/"
#: Butler's per-field cap for task datagrams (messages get the common 1000)
MAX_TASK_FIELD = 500

TASK_TYPES: dict[str, TaskEventType] = {
    "/scheduler-reload-failed/": "failed",
    "/scheduler-task-failed/": "failed",
    "/scheduler-reloadtask-failed/": "failed",
    "/scheduler-reload-aborted/": "aborted",
    "/scheduler-task-aborted/": "aborted",
    "/scheduler-reloadtask-success/": "success",
    "/scheduler-task-success/": "success",
    "/scheduler-task-success//": "success",
    "/scheduler-distribute/": "distribute",
}


def _execution_id(value: str) -> str:
    return value.lower() if is_guid(value) else value[:MAX_NAME]


def _app_id(value: str, data: bytes) -> str:
    app_id = guid_or_empty(value)
    if value and not app_id:
        raise MalformedDatagram(MalformedReason.BAD_ID, data, "app id is not a GUID")
    return app_id


def _task(parts: list[str], event_type: TaskEventType, data: bytes, received_ns: int) -> TaskEvent:
    if len(parts) < TASK_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"task: {len(parts)} < {TASK_FIELDS}")
    raw_type, host, task_name, app_name, user, task_id, app_id, stamp, level, execution_id, message = parts
    if not task_id:
        raise MalformedDatagram(MalformedReason.MISSING_FIELD, data, "task id is empty")
    if not is_guid(task_id):
        raise MalformedDatagram(MalformedReason.BAD_ID, data, "task id is not a GUID")
    user = user[:MAX_TASK_FIELD]
    directory, user_id = split_user(user)
    return TaskEvent(
        time_ns=received_ns,
        event_type=event_type,
        raw_type=raw_type.strip()[:MAX_NAME],
        host=host[:MAX_TASK_FIELD],
        task_name=task_name[:MAX_TASK_FIELD],
        app_name=app_name[:MAX_TASK_FIELD],
        user=user,
        user_directory=directory,
        user_id=user_id,
        task_id=task_id.lower(),
        app_id=_app_id(app_id, data),
        log_timestamp=stamp[:MAX_STAMP],
        level=level[:MAX_SHORT],
        execution_id=_execution_id(execution_id),
        message=message[:MAX_TEXT],
    )


def _engine_reload_failed(parts: list[str], data: bytes, received_ns: int) -> EngineReloadFailedEvent:
    if len(parts) < ENGINE_RELOAD_FAILED_FIELDS:
        detail = f"engine-reload-failed: {len(parts)} < {ENGINE_RELOAD_FAILED_FIELDS}"
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, detail)
    _, host, app_id, app_name, directory, user_id, stamp, execution_id, message = parts
    if not app_id:
        raise MalformedDatagram(MalformedReason.MISSING_FIELD, data, "app id is empty")
    directory = directory[:MAX_TASK_FIELD]
    user_id = user_id[:MAX_TASK_FIELD]
    stamp = stamp[:MAX_STAMP]
    event_ns = instant_ns(stamp)
    return EngineReloadFailedEvent(
        time_ns=received_ns if event_ns is None else event_ns,
        host=host[:MAX_TASK_FIELD],
        app_id=_app_id(app_id, data),
        app_name=app_name[:MAX_TASK_FIELD],
        user_directory=directory,
        user_id=user_id,
        user_full=join_user(directory, user_id),
        log_timestamp=stamp,
        execution_id=_execution_id(execution_id),
        message=message[:MAX_TEXT],
    )


def parse_task_datagram(data: bytes, received_ns: int) -> TaskEvent | EngineReloadFailedEvent:
    """One task datagram → event; anything else raises :class:`MalformedDatagram`."""
    text = decode(data)
    kind = text.partition(";")[0].strip().lower()
    event_type = TASK_TYPES.get(kind)
    if event_type is not None:
        return _task(text.split(";", TASK_FIELDS - 1), event_type, data, received_ns)
    if kind == ENGINE_RELOAD_FAILED:
        return _engine_reload_failed(text.split(";", ENGINE_RELOAD_FAILED_FIELDS - 1), data, received_ns)
    raise MalformedDatagram(MalformedReason.UNKNOWN_TYPE, data, "not a task-event type")


__all__ = [
    "ENGINE_RELOAD_FAILED_FIELDS",
    "MAX_TASK_FIELD",
    "TASK_FIELDS",
    "TASK_TYPES",
    "parse_task_datagram",
]
