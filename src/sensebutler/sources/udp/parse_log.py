"""Log-event datagrams (UDP 9996) from Butler SOS's appender files: engine, proxy, repository,
scheduler and QIX performance (butler-sos.md §2.1–§2.4).

All layouts start with the same eight fields (type, row, ISO time, local time, level, host, logger,
service user). The message fields (``%encodedmessage`` / ``%encodedexception``) may contain ``;``,
so the fixed fields after them are taken from the *end* of the split and the middle is re-joined:

* engine: 8 fields, message, 10 fields (19 in all, more when the message holds ``;``);
* proxy/repository: 8, message, exception, 6 (16); scheduler: 8, message, exception, 8 (18).
  When a message/exception pair holds extra ``;`` there is no way to tell where the message ends,
  so the exception is the last middle segment and the message takes the rest. The exception is
  empty for almost every WARN/ERROR row, so this keeps messages whole in practice; an exception that
  itself contains ``;`` loses its leading part to the message (nothing is lost, it moves).
* QIX performance has no free text: exactly 26 fields.

The trailing fixed fields (ids, names, ``Context``) are assumed free of ``;``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Literal

from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.sources.udp.malformed import MalformedDatagram, MalformedReason
from sensebutler.sources.udp.sanitise import (
    MAX_LONG,
    MAX_NAME,
    MAX_SHORT,
    MAX_STAMP,
    MAX_TEXT,
    decode,
    durations_ms,
    guid_or_empty,
    join_user,
    non_negative_int,
    positive_int,
    signed_int,
    split_user,
)
from sensebutler.sources.udp.timestamps import instant_ns, is_local_timestamp

Categories = tuple[tuple[str, str], ...]

ENGINE_FIELDS = 19
PROXY_FIELDS = 16
SCHEDULER_FIELDS = 18
QIX_PERF_FIELDS = 26
_Head = tuple[int, str, str, str, str, str, str, int]


def _head(parts: list[str], received_ns: int) -> _Head:
    """log_row, ts_iso, ts_local, level, host, subsystem, windows_user, time_ns."""
    ts_iso = parts[2]
    event_ns = instant_ns(ts_iso)
    if event_ns is None:
        ts_iso = ""
        event_ns = received_ns
    ts_local = parts[3]
    if not is_local_timestamp(ts_local):
        ts_local = ""
    return (
        positive_int(parts[1]),
        ts_iso,
        ts_local,
        parts[4][:MAX_SHORT],
        parts[5][:MAX_NAME],
        parts[6][:MAX_LONG],
        parts[7][:MAX_NAME],
        event_ns,
    )


def _message_and_exception(middle: list[str]) -> tuple[str, str]:
    if len(middle) == 2:
        return middle[0][:MAX_TEXT], middle[1][:MAX_TEXT]
    return ";".join(middle[:-1])[:MAX_TEXT], middle[-1][:MAX_TEXT]


def _engine(parts: list[str], data: bytes, received_ns: int) -> LogEvent:
    count = len(parts)
    if count < ENGINE_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"engine: {count} < {ENGINE_FIELDS}")
    tail = count - 10
    log_row, ts_iso, ts_local, level, host, subsystem, windows_user, event_ns = _head(parts, received_ns)
    message = parts[8] if tail == 9 else ";".join(parts[8:tail])
    directory = parts[tail + 1][:MAX_NAME]
    user_id = parts[tail + 2][:MAX_NAME]
    return LogEvent(
        time_ns=event_ns,
        source="engine",
        log_row=log_row,
        ts_iso=ts_iso,
        ts_local=ts_local,
        level=level,
        host=host,
        subsystem=subsystem,
        windows_user=windows_user,
        message=message[:MAX_TEXT],
        proxy_session_id=guid_or_empty(parts[tail]),
        user_directory=directory,
        user_id=user_id,
        user_full=join_user(directory, user_id),
        engine_ts=parts[tail + 3][:MAX_STAMP],
        process_id=guid_or_empty(parts[tail + 4]),
        engine_exe_version=parts[tail + 5][:MAX_STAMP],
        server_started=parts[tail + 6][:MAX_STAMP],
        entry_type=parts[tail + 7][:MAX_STAMP],
        session_id=guid_or_empty(parts[tail + 8]),
        app_id=guid_or_empty(parts[tail + 9]),
    )


def _proxy_or_repository(
    parts: list[str], data: bytes, received_ns: int, *, source: Literal["proxy", "repository"]
) -> LogEvent:
    count = len(parts)
    if count < PROXY_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"{source}: {count} < {PROXY_FIELDS}")
    tail = count - 6
    log_row, ts_iso, ts_local, level, host, subsystem, windows_user, event_ns = _head(parts, received_ns)
    message, exception = _message_and_exception(parts[8:tail])
    directory = parts[tail][:MAX_NAME]
    user_id = parts[tail + 1][:MAX_NAME]
    return LogEvent(
        time_ns=event_ns,
        source=source,
        log_row=log_row,
        ts_iso=ts_iso,
        ts_local=ts_local,
        level=level,
        host=host,
        subsystem=subsystem,
        windows_user=windows_user,
        message=message,
        exception_message=exception,
        user_directory=directory,
        user_id=user_id,
        user_full=join_user(directory, user_id),
        command=parts[tail + 2][:MAX_LONG],
        result_code=parts[tail + 3][:MAX_STAMP],
        origin=parts[tail + 4][:MAX_LONG],
        context=parts[tail + 5][:MAX_LONG],
    )


def _scheduler(parts: list[str], data: bytes, received_ns: int) -> LogEvent:
    count = len(parts)
    if count < SCHEDULER_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"scheduler: {count} < {SCHEDULER_FIELDS}")
    tail = count - 8
    log_row, ts_iso, ts_local, level, host, subsystem, windows_user, event_ns = _head(parts, received_ns)
    message, exception = _message_and_exception(parts[8:tail])
    directory = parts[tail][:MAX_NAME]
    user_id = parts[tail + 1][:MAX_NAME]
    user_full = parts[tail + 2][:MAX_LONG]
    if directory and user_id:
        user_full = join_user(directory, user_id)
    else:
        directory, user_id = split_user(user_full)
        if not directory:
            user_full = ""
        directory, user_id = directory[:MAX_NAME], user_id[:MAX_NAME]
    return LogEvent(
        time_ns=event_ns,
        source="scheduler",
        log_row=log_row,
        ts_iso=ts_iso,
        ts_local=ts_local,
        level=level,
        host=host,
        subsystem=subsystem,
        windows_user=windows_user,
        message=message,
        exception_message=exception,
        user_directory=directory,
        user_id=user_id,
        user_full=user_full,
        task_name=parts[tail + 3][:MAX_LONG],
        app_name=parts[tail + 4][:MAX_LONG],
        task_id=guid_or_empty(parts[tail + 5]),
        app_id=guid_or_empty(parts[tail + 6]),
        execution_id=guid_or_empty(parts[tail + 7]),
    )


def _qix_perf(parts: list[str], data: bytes, received_ns: int, categories: Categories = ()) -> QixPerfEvent:
    count = len(parts)
    if count != QIX_PERF_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"qix-perf: {count} != {QIX_PERF_FIELDS}")
    log_row, ts_iso, ts_local, level, host, subsystem, windows_user, event_ns = _head(parts, received_ns)
    raw_session = parts[8]
    internal = raw_session == "0"
    directory = parts[9][:MAX_NAME]
    user_id = parts[10][:MAX_NAME]
    process_time, work_time, lock_time, validate_time, traverse_time = durations_ms(parts[16:21])
    return QixPerfEvent(
        time_ns=event_ns,
        log_row=log_row,
        ts_iso=ts_iso,
        ts_local=ts_local,
        level=level,
        host=host,
        subsystem=subsystem,
        windows_user=windows_user,
        proxy_session_id="" if internal else guid_or_empty(raw_session),
        user_directory=directory,
        user_id=user_id,
        user_full=join_user(directory, user_id),
        engine_ts=parts[11][:MAX_STAMP],
        session_id=guid_or_empty(parts[12]),
        app_id=guid_or_empty(parts[13]),
        request_id=non_negative_int(parts[14], -99),
        method=parts[15][:MAX_NAME],
        process_time=process_time,
        work_time=work_time,
        lock_time=lock_time,
        validate_time=validate_time,
        traverse_time=traverse_time,
        handle=signed_int(parts[21], -99),
        object_id=parts[22][:MAX_NAME],
        net_ram=non_negative_int(parts[23], -1),
        peak_ram=non_negative_int(parts[24], -1),
        object_type=parts[25][:MAX_NAME],
        event_activity_source="non-user" if internal else "user",
        categories=categories,
    )


_Handler = Callable[[list[str], bytes, int], LogEvent | QixPerfEvent]
_HANDLERS: dict[str, _Handler] = {
    "/qseow-engine/": _engine,
    "/qseow-proxy/": partial(_proxy_or_repository, source="proxy"),
    "/qseow-repository/": partial(_proxy_or_repository, source="repository"),
    "/qseow-scheduler/": _scheduler,
    "/qseow-qix-perf/": _qix_perf,
}


def parse_log_datagram(
    data: bytes, received_ns: int, qix_categories: Categories = ()
) -> LogEvent | QixPerfEvent:
    """One log-event datagram → event; anything else raises :class:`MalformedDatagram`.

    ``qix_categories``: what categorisation gives a QIX performance event (its default categories).
    """
    parts = decode(data).split(";")
    handler = _HANDLERS.get(parts[0]) or _HANDLERS.get(parts[0].strip().lower())
    if handler is None:
        raise MalformedDatagram(MalformedReason.UNKNOWN_TYPE, data, "not a log-event type")
    if handler is _qix_perf:
        return _qix_perf(parts, data, received_ns, qix_categories)
    return handler(parts, data, received_ns)


__all__ = [
    "ENGINE_FIELDS",
    "PROXY_FIELDS",
    "QIX_PERF_FIELDS",
    "SCHEDULER_FIELDS",
    "parse_log_datagram",
]
