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

from typing import Final

from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.sources.udp.malformed import MalformedDatagram, MalformedReason
from sensebutler.sources.udp.sanitise import (
    MAX_LONG,
    MAX_NAME,
    MAX_SHORT,
    MAX_STAMP,
    MAX_TEXT,
    decode,
    duration_ms,
    guid_or_empty,
    join_user,
    non_negative_int,
    positive_int,
    signed_int,
    split_user,
)
from sensebutler.sources.udp.timestamps import instant_ns, is_local_timestamp

Categories = tuple[tuple[str, str], ...]

ENGINE_FIELDS: Final = 19
PROXY_FIELDS: Final = 16
SCHEDULER_FIELDS: Final = 18
QIX_PERF_FIELDS: Final = 26
_QIX: Final = "/qseow-qix-perf/"
_ENGINE: Final = "/qseow-engine/"
_PROXY: Final = "/qseow-proxy/"
_REPOSITORY: Final = "/qseow-repository/"
_SCHEDULER: Final = "/qseow-scheduler/"

# The events are built with positional arguments in field order (LogEvent / QixPerfEvent are not
# kw_only for this: msgspec takes ~0.35 µs for thirty positional arguments, ~1.6 µs as keywords);
# tests/udp/test_parse_log.py checks the field order this relies on.


def _cap(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit]


def _local(ts_local: str) -> str:
    return ts_local if is_local_timestamp(ts_local) else ""


def _message_and_exception(middle: list[str]) -> tuple[str, str]:
    if len(middle) == 2:
        return _cap(middle[0], MAX_TEXT), _cap(middle[1], MAX_TEXT)
    return _cap(";".join(middle[:-1]), MAX_TEXT), _cap(middle[-1], MAX_TEXT)


def _engine(parts: list[str], data: bytes, received_ns: int) -> LogEvent:
    count = len(parts)
    if count < ENGINE_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"engine: {count} < {ENGINE_FIELDS}")
    tail = count - 10
    ts_iso = parts[2]
    event_ns = instant_ns(ts_iso)
    if event_ns is None:
        ts_iso = ""
        event_ns = received_ns
    message = parts[8] if tail == 9 else ";".join(parts[8:tail])
    directory = _cap(parts[tail + 1], MAX_NAME)
    user_id = _cap(parts[tail + 2], MAX_NAME)
    return LogEvent(
        "engine",
        positive_int(parts[1]),
        ts_iso,
        _local(parts[3]),
        _cap(parts[4], MAX_SHORT),
        _cap(parts[5], MAX_NAME),
        _cap(parts[6], MAX_LONG),
        _cap(parts[7], MAX_NAME),
        _cap(message, MAX_TEXT),
        "",  # exception_message
        directory,
        user_id,
        join_user(directory, user_id),
        guid_or_empty(parts[tail]),  # proxy_session_id
        _cap(parts[tail + 3], MAX_STAMP),  # engine_ts
        guid_or_empty(parts[tail + 4]),  # process_id
        _cap(parts[tail + 5], MAX_STAMP),  # engine_exe_version
        _cap(parts[tail + 6], MAX_STAMP),  # server_started
        _cap(parts[tail + 7], MAX_STAMP),  # entry_type
        guid_or_empty(parts[tail + 8]),  # session_id
        "",  # command
        "",  # result_code
        "",  # origin
        "",  # context
        "",  # task_name
        "",  # app_name
        "",  # task_id
        guid_or_empty(parts[tail + 9]),  # app_id
        "",  # execution_id
        (),  # categories
        time_ns=event_ns,
    )


def _proxy_or_repository(parts: list[str], data: bytes, received_ns: int, source: str) -> LogEvent:
    count = len(parts)
    if count < PROXY_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"{source}: {count} < {PROXY_FIELDS}")
    tail = count - 6
    ts_iso = parts[2]
    event_ns = instant_ns(ts_iso)
    if event_ns is None:
        ts_iso = ""
        event_ns = received_ns
    message, exception = _message_and_exception(parts[8:tail])
    directory = _cap(parts[tail], MAX_NAME)
    user_id = _cap(parts[tail + 1], MAX_NAME)
    return LogEvent(
        "proxy" if source == "proxy" else "repository",
        positive_int(parts[1]),
        ts_iso,
        _local(parts[3]),
        _cap(parts[4], MAX_SHORT),
        _cap(parts[5], MAX_NAME),
        _cap(parts[6], MAX_LONG),
        _cap(parts[7], MAX_NAME),
        message,
        exception,
        directory,
        user_id,
        join_user(directory, user_id),
        "",  # proxy_session_id
        "",  # engine_ts
        "",  # process_id
        "",  # engine_exe_version
        "",  # server_started
        "",  # entry_type
        "",  # session_id
        _cap(parts[tail + 2], MAX_LONG),  # command
        _cap(parts[tail + 3], MAX_STAMP),  # result_code
        _cap(parts[tail + 4], MAX_LONG),  # origin
        _cap(parts[tail + 5], MAX_LONG),  # context
        time_ns=event_ns,
    )


def _scheduler(parts: list[str], data: bytes, received_ns: int) -> LogEvent:
    count = len(parts)
    if count < SCHEDULER_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"scheduler: {count} < {SCHEDULER_FIELDS}")
    tail = count - 8
    ts_iso = parts[2]
    event_ns = instant_ns(ts_iso)
    if event_ns is None:
        ts_iso = ""
        event_ns = received_ns
    message, exception = _message_and_exception(parts[8:tail])
    directory = _cap(parts[tail], MAX_NAME)
    user_id = _cap(parts[tail + 1], MAX_NAME)
    user_full = _cap(parts[tail + 2], MAX_LONG)
    if directory and user_id:
        user_full = join_user(directory, user_id)
    else:
        directory, user_id = split_user(user_full)
        if not directory:
            user_full = ""
        directory, user_id = _cap(directory, MAX_NAME), _cap(user_id, MAX_NAME)
    return LogEvent(
        "scheduler",
        positive_int(parts[1]),
        ts_iso,
        _local(parts[3]),
        _cap(parts[4], MAX_SHORT),
        _cap(parts[5], MAX_NAME),
        _cap(parts[6], MAX_LONG),
        _cap(parts[7], MAX_NAME),
        message,
        exception,
        directory,
        user_id,
        user_full,
        "",  # proxy_session_id
        "",  # engine_ts
        "",  # process_id
        "",  # engine_exe_version
        "",  # server_started
        "",  # entry_type
        "",  # session_id
        "",  # command
        "",  # result_code
        "",  # origin
        "",  # context
        _cap(parts[tail + 3], MAX_LONG),  # task_name
        _cap(parts[tail + 4], MAX_LONG),  # app_name
        guid_or_empty(parts[tail + 5]),  # task_id
        guid_or_empty(parts[tail + 6]),  # app_id
        guid_or_empty(parts[tail + 7]),  # execution_id
        time_ns=event_ns,
    )


def _qix_perf(parts: list[str], data: bytes, received_ns: int, categories: Categories) -> QixPerfEvent:
    count = len(parts)
    if count != QIX_PERF_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"qix-perf: {count} != {QIX_PERF_FIELDS}")
    ts_iso = parts[2]
    event_ns = instant_ns(ts_iso)
    if event_ns is None:
        ts_iso = ""
        event_ns = received_ns
    raw_session = parts[8]
    internal = raw_session == "0"
    directory = _cap(parts[9], MAX_NAME)
    user_id = _cap(parts[10], MAX_NAME)
    return QixPerfEvent(
        positive_int(parts[1]),
        ts_iso,
        _local(parts[3]),
        _cap(parts[4], MAX_SHORT),
        _cap(parts[5], MAX_NAME),
        _cap(parts[6], MAX_LONG),
        _cap(parts[7], MAX_NAME),
        "" if internal else guid_or_empty(raw_session),  # proxy_session_id
        directory,
        user_id,
        join_user(directory, user_id),
        _cap(parts[11], MAX_STAMP),  # engine_ts
        guid_or_empty(parts[12]),  # session_id
        guid_or_empty(parts[13]),  # app_id
        "",  # app_name
        non_negative_int(parts[14], -99),  # request_id
        _cap(parts[15], MAX_NAME),  # method
        duration_ms(parts[16]),  # process_time
        duration_ms(parts[17]),  # work_time
        duration_ms(parts[18]),  # lock_time
        duration_ms(parts[19]),  # validate_time
        duration_ms(parts[20]),  # traverse_time
        signed_int(parts[21], -99),  # handle
        _cap(parts[22], MAX_NAME),  # object_id
        non_negative_int(parts[23], -1),  # net_ram
        non_negative_int(parts[24], -1),  # peak_ram
        _cap(parts[25], MAX_NAME),  # object_type
        "non-user" if internal else "user",  # event_activity_source
        categories,
        time_ns=event_ns,
    )


def _parse(
    kind: str, parts: list[str], data: bytes, received_ns: int, qix_categories: Categories
) -> LogEvent | QixPerfEvent | None:
    if kind == _QIX:
        return _qix_perf(parts, data, received_ns, qix_categories)
    if kind == _ENGINE:
        return _engine(parts, data, received_ns)
    if kind == _PROXY:
        return _proxy_or_repository(parts, data, received_ns, "proxy")
    if kind == _REPOSITORY:
        return _proxy_or_repository(parts, data, received_ns, "repository")
    if kind == _SCHEDULER:
        return _scheduler(parts, data, received_ns)
    return None


def parse_log_datagram(
    data: bytes, received_ns: int, qix_categories: Categories = ()
) -> LogEvent | QixPerfEvent:
    """One log-event datagram → event; anything else raises :class:`MalformedDatagram`.

    ``qix_categories``: what categorisation gives a QIX performance event (its default categories).
    """
    parts = decode(data).split(";")
    kind = parts[0]
    event = _parse(kind, parts, data, received_ns, qix_categories)
    if event is None:
        event = _parse(kind.strip().lower(), parts, data, received_ns, qix_categories)
        if event is None:
            raise MalformedDatagram(MalformedReason.UNKNOWN_TYPE, data, "not a log-event type")
    return event


__all__ = [
    "ENGINE_FIELDS",
    "PROXY_FIELDS",
    "QIX_PERF_FIELDS",
    "SCHEDULER_FIELDS",
    "parse_log_datagram",
]
