"""Points → line protocol for one InfluxDB version, and the UDP hot path: a log or QIX performance
event straight to its ``log_event`` line.

This module is part of the compiled hot path (``sensebutler/hotpath``): keep it free of imports
from the rest of the hot path other than its own (``line_protocol``), and typed precisely.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

import orjson
from msgspec.structs import astuple

from sensebutler.events.udp import SOURCE_FIELDS, LogEvent, QixPerfEvent
from sensebutler.sinks.influxdb.line_protocol import (
    FORMATTERS,
    FieldValue,
    escape_measurement,
    escape_name,
    format_bool,
    format_float,
    format_int,
    format_uint,
    format_value,
    quote_string,
)
from sensebutler.sinks.influxdb.schema import FIELDS, PROFILES, Version, specs_for

_TAG_CACHE_LIMIT: Final = 100_000
#: rendered heads (measurement and tags) of UDP lines, one per distinct tag set: with users × apps ×
#: objects a site has far more tag sets than tag values, and each entry holds ~0.5–1 KB (the head
#: and the key's strings): 100,000 of them took a process ~100 MB. A skewed stream over 100,000 tag
#: sets rendered at the same CPU per event with 10,000 as with 100,000 (compiled, 7.7–7.9 µs
#: against 7.7–8.0) and held 4 MB of heads instead of 35 MB.
_HEAD_CACHE_LIMIT: Final = 10_000
Writer = tuple[str, Callable[[FieldValue], str | None]]
_NO_WRITERS: dict[str, Writer] = {}

LOG_SOURCE_TAG = {
    "engine": "qseow-engine",
    "proxy": "qseow-proxy",
    "repository": "qseow-repository",
    "scheduler": "qseow-scheduler",
}
QIX_SOURCE_TAG = "qseow-qix-perf"
_USER_TAGS = ("user_full", "user_directory", "user_id")
_LOG_TAGS = {
    "engine": (
        *_USER_TAGS,
        "result_code",
        "windows_user",
        "task_id",
        "task_name",
        "app_id",
        "app_name",
        "engine_exe_version",
    ),
    "proxy": (*_USER_TAGS, "result_code"),
    "repository": (*_USER_TAGS, "result_code"),
    "scheduler": (*_USER_TAGS, "task_id", "task_name"),
}
#: string fields Butler SOS always wrote, per source
_LOG_FIELDS = {
    # Butler SOS's engine writer names proxy-style fields too, but engine events have none, so
    # nothing is written for them
    "engine": ("message", "session_id"),
    "proxy": ("message", "exception_message", "command", "result_code", "origin", "context"),
    "repository": ("message", "exception_message", "command", "result_code", "origin", "context"),
    "scheduler": ("message", "exception_message", "app_name", "app_id", "execution_id"),
}
_QIX_ALWAYS_TAGS = ("method", "object_type", "event_activity_source")
_QIX_TAGS = (*_USER_TAGS, "app_id", "app_name")
_QIX_TIMES = ("process_time", "work_time", "lock_time", "validate_time", "traverse_time")
_QIX_MISSING: Final = -99  # request_id / handle sentinel of QixPerfEvent
_QIX_RAW = tuple(name for name in QixPerfEvent.__struct_fields__ if name not in ("time_ns", "categories"))

# The log_event fields the UDP fast path writes (``udp_line``), as indices into a renderer's
# ``field_keys`` / ``field_kinds`` (output key and type for its version, from ``schema.py``)
_UDP_FIELDS: Final = (
    "message", "exception_message", "command", "result_code", "origin", "context", "execution_id", "app_id",
    "app_name", "log_row", "session_id", "proxy_session_id", "object_id", "process_time", "work_time",
    "lock_time", "validate_time", "traverse_time", "handle", "net_ram", "peak_ram", "raw_event",
)  # fmt: skip
_MESSAGE: Final = 0
_EXCEPTION_MESSAGE: Final = 1
_COMMAND: Final = 2
_RESULT_CODE: Final = 3
_ORIGIN: Final = 4
_CONTEXT: Final = 5
_EXECUTION_ID: Final = 6
_APP_ID: Final = 7
_APP_NAME: Final = 8
_LOG_ROW: Final = 9
_SESSION_ID: Final = 10
_PROXY_SESSION_ID: Final = 11
_OBJECT_ID: Final = 12
_PROCESS_TIME: Final = 13
_WORK_TIME: Final = 14
_LOCK_TIME: Final = 15
_VALIDATE_TIME: Final = 16
_TRAVERSE_TIME: Final = 17
_HANDLE: Final = 18
_NET_RAM: Final = 19
_PEAK_RAM: Final = 20
_RAW_EVENT: Final = 21
_KIND_STRING: Final = 0
_KIND_INT: Final = 1
_KIND_UINT: Final = 2
_KIND_FLOAT: Final = 3
_KIND_BOOL: Final = 4
_KINDS: Final = {"string": 0, "int": 1, "uint": 2, "float": 3, "bool": 4}

# positions in ``msgspec.structs.astuple`` of an event: one C call instead of an attribute lookup
# per field (the twin and line tests compare every field's output with the general path)
_Q: Final = QixPerfEvent.__struct_fields__
_Q_LOG_ROW: Final = _Q.index("log_row")
_Q_LEVEL: Final = _Q.index("level")
_Q_HOST: Final = _Q.index("host")
_Q_SUBSYSTEM: Final = _Q.index("subsystem")
_Q_PROXY_SESSION_ID: Final = _Q.index("proxy_session_id")
_Q_USER_DIRECTORY: Final = _Q.index("user_directory")
_Q_USER_ID: Final = _Q.index("user_id")
_Q_USER_FULL: Final = _Q.index("user_full")
_Q_SESSION_ID: Final = _Q.index("session_id")
_Q_APP_ID: Final = _Q.index("app_id")
_Q_APP_NAME: Final = _Q.index("app_name")
_Q_METHOD: Final = _Q.index("method")
_Q_PROCESS_TIME: Final = _Q.index("process_time")
_Q_WORK_TIME: Final = _Q.index("work_time")
_Q_LOCK_TIME: Final = _Q.index("lock_time")
_Q_VALIDATE_TIME: Final = _Q.index("validate_time")
_Q_TRAVERSE_TIME: Final = _Q.index("traverse_time")
_Q_HANDLE: Final = _Q.index("handle")
_Q_OBJECT_ID: Final = _Q.index("object_id")
_Q_NET_RAM: Final = _Q.index("net_ram")
_Q_PEAK_RAM: Final = _Q.index("peak_ram")
_Q_OBJECT_TYPE: Final = _Q.index("object_type")
_Q_EVENT_ACTIVITY_SOURCE: Final = _Q.index("event_activity_source")
_Q_CATEGORIES: Final = _Q.index("categories")
_Q_TIME_NS: Final = _Q.index("time_ns")
_L: Final = LogEvent.__struct_fields__
_L_SOURCE: Final = _L.index("source")
_L_LOG_ROW: Final = _L.index("log_row")
_L_LEVEL: Final = _L.index("level")
_L_HOST: Final = _L.index("host")
_L_SUBSYSTEM: Final = _L.index("subsystem")
_L_WINDOWS_USER: Final = _L.index("windows_user")
_L_MESSAGE: Final = _L.index("message")
_L_EXCEPTION_MESSAGE: Final = _L.index("exception_message")
_L_USER_DIRECTORY: Final = _L.index("user_directory")
_L_USER_ID: Final = _L.index("user_id")
_L_USER_FULL: Final = _L.index("user_full")
_L_PROXY_SESSION_ID: Final = _L.index("proxy_session_id")
_L_ENGINE_EXE_VERSION: Final = _L.index("engine_exe_version")
_L_SESSION_ID: Final = _L.index("session_id")
_L_COMMAND: Final = _L.index("command")
_L_RESULT_CODE: Final = _L.index("result_code")
_L_ORIGIN: Final = _L.index("origin")
_L_CONTEXT: Final = _L.index("context")
_L_TASK_NAME: Final = _L.index("task_name")
_L_APP_NAME: Final = _L.index("app_name")
_L_TASK_ID: Final = _L.index("task_id")
_L_APP_ID: Final = _L.index("app_id")
_L_EXECUTION_ID: Final = _L.index("execution_id")
_L_CATEGORIES: Final = _L.index("categories")
_L_TIME_NS: Final = _L.index("time_ns")

#: ".001" … ".999" without trailing zeros ("" for 0): the decimals of ``float_text``
_THOUSANDTHS: Final = ["", *(f".{i:03d}".rstrip("0") for i in range(1, 1000))]
_FAST_FLOAT_LIMIT: Final = 1e12


_QIX_PERF_EVENT: Final = QixPerfEvent
_LOG_EVENT: Final = LogEvent


def _no_records(event: object) -> list[bytes]:
    return []


def _tag(parts: list[str], prefix: str, value: str) -> None:
    """Appends ``,key=value`` (``prefix`` is ``,key=``, a name that needs no escaping) unless empty."""
    if value:
        parts.append(prefix)
        parts.append(escape_name(value))


def float_text(value: float) -> str | None:
    """``format_float(value)`` for a float, without ``repr`` for one of at most three decimals.

    QIX timings are milliseconds with three decimals. A decimal of at most 15 significant digits
    that reads back as the value is the only such decimal that does, so it is the shortest repr,
    and below 1e16 repr writes it plainly: the same text."""
    if value == 0.0:
        return "0" if math.copysign(1.0, value) > 0.0 else "-0"
    if 0.0 < value < _FAST_FLOAT_LIMIT:
        scaled = value * 1000.0
        whole = int(scaled)
        if scaled - whole >= 0.5:
            whole += 1
        text = str(whole // 1000) + _THOUSANDTHS[whole % 1000]
        if float(text) == value:
            return text
    return format_float(value)


class LineRenderer:
    """Renders points for one InfluxDB version; names and tag pairs are escaped once and cached."""

    def __init__(self, version: Version, log_event_tags: Mapping[str, str], raw_event: bool) -> None:
        self.log_event_tags = dict(log_event_tags)
        self.raw_event = raw_event
        self.unknown_tag_value = PROFILES[version].unknown_tag_value
        #: measurement → canonical field → ("<output key>=", formatter)
        self.writers: dict[str, dict[str, Writer]] = {
            measurement: {name: (f"{spec.key}=", FORMATTERS[spec.type]) for name, spec in specs.items()}
            for measurement, specs in specs_for(version).items()
        }
        #: (tag key, tag value) → ",key=value" escaped ("" for an empty key or value)
        self.tag_pairs: dict[tuple[str, str], str] = {}
        self.measurements = {name: escape_measurement(name) for name in FIELDS}
        #: tag-making fields of a log or QIX event → its escaped measurement and tags (``udp_line``)
        self.udp_heads: dict[tuple[object, ...], str] = {}
        self.seq = 0
        log_event = specs_for(version)["log_event"]
        #: ``udp_line``'s fields (``_UDP_FIELDS`` order): "<output key>=" and type code
        self.field_keys: list[str] = [f"{log_event[name].key}=" for name in _UDP_FIELDS]
        self.field_kinds: list[int] = [_KINDS[log_event[name].type] for name in _UDP_FIELDS]
        #: what ``encode`` does with events other than log and QIX events (``InfluxMapping`` sets it)
        self.general: Callable[[Any], list[bytes]] = _no_records
        #: ``key="`` of each: a string field without quotes or backslashes goes in as it is
        self.quoted_keys: list[str] = [f'{key}"' for key in self.field_keys]

    def line(
        self, measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], time_ns: int
    ) -> str:
        """One line of line protocol; ``""`` when the point has no field that can be written."""
        text = self.field_text(measurement, fields)
        if not text:
            return ""
        name = self.measurements.get(measurement) or escape_measurement(measurement)
        return f"{name}{self.tag_text(tags)} {text} {time_ns}"

    def field_text(self, measurement: str, fields: dict[str, FieldValue]) -> str:
        """``key=value,...`` of the fields that can be written (``""`` when none)."""
        writers = self.writers.get(measurement, _NO_WRITERS)
        parts = []
        for name, value in fields.items():
            writer = writers.get(name)
            if writer is None:
                text = format_value(value)
                prefix = f"{escape_name(name)}="
            else:
                prefix, write = writer
                text = write(value)
            if text is not None:
                parts.append(prefix + text)
        return ",".join(parts)

    def tag_text(self, tags: dict[str, str]) -> str:
        """``,key=value...`` of the tags (empty keys and values left out), each pair escaped once."""
        pairs = self.tag_pairs
        texts = []
        for pair in tags.items():
            text = pairs.get(pair)
            if text is None:
                key, value = pair
                text = f",{escape_name(key)}={escape_name(value)}" if key and value else ""
                if len(pairs) >= _TAG_CACHE_LIMIT:
                    pairs.clear()
                pairs[pair] = text
            texts.append(text)
        return "".join(texts)

    def next_offset(self) -> int:
        """A rolling 0–999 ns offset, so points that lost their unique tag do not overwrite each other."""
        self.seq = (self.seq + 1) % 1000
        return self.seq

    def udp_line(self, event: LogEvent | QixPerfEvent) -> str:
        """What rendering the event's one point gives (``line`` of ``log_tags``/``log_fields`` or
        ``qix_tags``/``qix_fields``), written straight from the event's fields in the same order.

        The measurement and tags are cached per tag set (hosts, users, apps, methods, object types
        repeat): the key is every field the tags are made of, so a cached head is exactly what the
        tags would render to."""
        parts: list[str] = ["", " "]
        values = astuple(event)
        if isinstance(event, QixPerfEvent):
            key: tuple[object, ...] = (
                None,
                values[_Q_CATEGORIES],
                values[_Q_HOST],
                values[_Q_LEVEL],
                values[_Q_SUBSYSTEM],
                values[_Q_METHOD],
                values[_Q_OBJECT_TYPE],
                values[_Q_EVENT_ACTIVITY_SOURCE],
                values[_Q_USER_FULL],
                values[_Q_USER_DIRECTORY],
                values[_Q_USER_ID],
                values[_Q_APP_ID],
                values[_Q_APP_NAME],
            )
            self._qix_field_text(parts, values)
            if self.raw_event:
                self._field(parts, _RAW_EVENT, self.qix_raw_event(event))
            time_ns: int = values[_Q_TIME_NS]
        else:
            key = self._log_head_key(values)
            self._log_field_text(parts, values)
            if self.raw_event:
                self._field(parts, _RAW_EVENT, self.log_raw_event(event))
            time_ns = values[_L_TIME_NS]
        if len(parts) == 2:
            return ""
        heads = self.udp_heads
        head = heads.get(key)
        if head is None:
            if self.log_event_tags or event.categories:  # names that may repeat: the dict decides
                tags = self.qix_tags(event) if isinstance(event, QixPerfEvent) else self.log_tags(event)
                head = self.measurements["log_event"] + self.tag_text(tags)
            else:
                head = self._plain_head(values, isinstance(event, QixPerfEvent))
            if len(heads) >= _HEAD_CACHE_LIMIT:
                heads.clear()
            heads[key] = head
        parts[0] = head
        parts.append(" ")
        parts.append(str(time_ns + self.next_offset()))
        return "".join(parts)

    def encode(self, event: object) -> list[bytes]:
        """``InfluxMapping.encode``: a log or QIX event's records, anything else through ``general``."""
        kind = type(event)
        if kind is _QIX_PERF_EVENT:
            return self.udp_records(cast(QixPerfEvent, event))
        if kind is _LOG_EVENT:
            return self.udp_records(cast(LogEvent, event))
        return self.general(event)

    def udp_records(self, event: LogEvent | QixPerfEvent) -> list[bytes]:
        """``udp_line`` as the InfluxDB sink's records (``InfluxMapping.encode`` of a log or QIX event)."""
        line = self.udp_line(event)
        # "replace": a lone surrogate (not UTF-8) becomes "?" instead of costing the whole event
        return [line.encode("utf-8", "replace")] if line else []

    def _plain_head(self, values: tuple[Any, ...], qix: bool) -> str:
        """What ``qix_tags``/``log_tags`` + ``tag_text`` give without static tags and categories: each
        tag name then is set once, so the tags go in their order without a dict."""
        parts = [self.measurements["log_event"]]
        if qix:
            _tag(parts, ",host=", values[_Q_HOST])
            _tag(parts, ",level=", values[_Q_LEVEL])
            _tag(parts, ",source=", QIX_SOURCE_TAG)
            _tag(parts, ",subsystem=", values[_Q_SUBSYSTEM])
            unknown = self.unknown_tag_value
            _tag(parts, ",method=", values[_Q_METHOD] or unknown)
            _tag(parts, ",object_type=", values[_Q_OBJECT_TYPE] or unknown)
            _tag(parts, ",event_activity_source=", values[_Q_EVENT_ACTIVITY_SOURCE] or unknown)
            _tag(parts, ",user_full=", values[_Q_USER_FULL])
            _tag(parts, ",user_directory=", values[_Q_USER_DIRECTORY])
            _tag(parts, ",user_id=", values[_Q_USER_ID])
            _tag(parts, ",app_id=", values[_Q_APP_ID])
            _tag(parts, ",app_name=", values[_Q_APP_NAME])
            return "".join(parts)
        source: str = values[_L_SOURCE]
        _tag(parts, ",host=", values[_L_HOST])
        _tag(parts, ",level=", values[_L_LEVEL])
        _tag(parts, ",source=", LOG_SOURCE_TAG[source])
        _tag(parts, ",subsystem=", values[_L_SUBSYSTEM])
        _tag(parts, ",user_full=", values[_L_USER_FULL])
        _tag(parts, ",user_directory=", values[_L_USER_DIRECTORY])
        _tag(parts, ",user_id=", values[_L_USER_ID])
        if source == "engine":
            _tag(parts, ",result_code=", values[_L_RESULT_CODE])
            _tag(parts, ",windows_user=", values[_L_WINDOWS_USER])
            _tag(parts, ",task_id=", values[_L_TASK_ID])
            _tag(parts, ",task_name=", values[_L_TASK_NAME])
            _tag(parts, ",app_id=", values[_L_APP_ID])
            _tag(parts, ",app_name=", values[_L_APP_NAME])
            _tag(parts, ",engine_exe_version=", values[_L_ENGINE_EXE_VERSION])
        elif source == "scheduler":
            _tag(parts, ",task_id=", values[_L_TASK_ID])
            _tag(parts, ",task_name=", values[_L_TASK_NAME])
        else:
            _tag(parts, ",result_code=", values[_L_RESULT_CODE])
        return "".join(parts)

    def _log_head_key(self, values: tuple[Any, ...]) -> tuple[object, ...]:
        source: str = values[_L_SOURCE]
        if source == "engine":
            return (
                source,
                values[_L_CATEGORIES],
                values[_L_HOST],
                values[_L_LEVEL],
                values[_L_SUBSYSTEM],
                values[_L_USER_FULL],
                values[_L_USER_DIRECTORY],
                values[_L_USER_ID],
                values[_L_RESULT_CODE],
                values[_L_WINDOWS_USER],
                values[_L_TASK_ID],
                values[_L_TASK_NAME],
                values[_L_APP_ID],
                values[_L_APP_NAME],
                values[_L_ENGINE_EXE_VERSION],
            )
        if source == "scheduler":
            return (
                source,
                values[_L_CATEGORIES],
                values[_L_HOST],
                values[_L_LEVEL],
                values[_L_SUBSYSTEM],
                values[_L_USER_FULL],
                values[_L_USER_DIRECTORY],
                values[_L_USER_ID],
                values[_L_TASK_ID],
                values[_L_TASK_NAME],
            )
        if source == "proxy" or source == "repository":
            return (
                source,
                values[_L_CATEGORIES],
                values[_L_HOST],
                values[_L_LEVEL],
                values[_L_SUBSYSTEM],
                values[_L_USER_FULL],
                values[_L_USER_DIRECTORY],
                values[_L_USER_ID],
                values[_L_RESULT_CODE],
            )
        raise KeyError(source)

    def _field(self, parts: list[str], index: int, value: FieldValue) -> None:
        """Appends ``,key=value`` of one field (nothing when its value cannot be written)."""
        kind = self.field_kinds[index]
        text: str | None
        if kind == _KIND_STRING:
            text = quote_string(value)
        elif kind == _KIND_FLOAT:
            text = format_float(value)
        elif kind == _KIND_INT:
            text = format_int(value)
        elif kind == _KIND_UINT:
            text = format_uint(value)
        else:
            text = format_bool(value)
        if text is not None:
            if len(parts) > 2:
                parts.append(",")
            parts.append(self.field_keys[index])
            parts.append(text)

    def _str_field(self, parts: list[str], index: int, value: str) -> None:
        """``_field`` of a string value."""
        if self.field_kinds[index] != _KIND_STRING or '"' in value or "\\" in value:
            self._field(parts, index, value)
            return
        if "\n" in value or "\r" in value:
            self._field(parts, index, value)
            return
        if len(parts) > 2:
            parts.append(",")
        parts.append(self.quoted_keys[index])
        parts.append(value)
        parts.append('"')

    def _float_field(self, parts: list[str], index: int, value: float) -> None:
        """``_field`` of a float value."""
        if self.field_kinds[index] != _KIND_FLOAT:
            self._field(parts, index, value)
            return
        text = float_text(value)
        if text is not None:
            if len(parts) > 2:
                parts.append(",")
            parts.append(self.field_keys[index])
            parts.append(text)

    def _int_field(self, parts: list[str], index: int, value: int) -> None:
        """``_field`` of an int value."""
        if self.field_kinds[index] != _KIND_INT:
            self._field(parts, index, value)
            return
        if len(parts) > 2:
            parts.append(",")
        parts.append(self.field_keys[index])
        parts.append(str(value))
        parts.append("i")

    def _log_field_text(self, parts: list[str], values: tuple[Any, ...]) -> None:
        """``log_fields`` written into ``parts``, in its order."""
        source: str = values[_L_SOURCE]
        self._str_field(parts, _MESSAGE, values[_L_MESSAGE])
        if source == "engine":
            self._str_field(parts, _SESSION_ID, values[_L_SESSION_ID])
            proxy_session_id: str = values[_L_PROXY_SESSION_ID]
            if proxy_session_id:
                self._str_field(parts, _PROXY_SESSION_ID, proxy_session_id)
        elif source == "scheduler":
            self._str_field(parts, _EXCEPTION_MESSAGE, values[_L_EXCEPTION_MESSAGE])
            self._str_field(parts, _APP_NAME, values[_L_APP_NAME])
            self._str_field(parts, _APP_ID, values[_L_APP_ID])
            self._str_field(parts, _EXECUTION_ID, values[_L_EXECUTION_ID])
        elif source == "proxy" or source == "repository":
            self._str_field(parts, _EXCEPTION_MESSAGE, values[_L_EXCEPTION_MESSAGE])
            self._str_field(parts, _COMMAND, values[_L_COMMAND])
            self._str_field(parts, _RESULT_CODE, values[_L_RESULT_CODE])
            self._str_field(parts, _ORIGIN, values[_L_ORIGIN])
            self._str_field(parts, _CONTEXT, values[_L_CONTEXT])
        else:
            raise KeyError(source)
        log_row: int = values[_L_LOG_ROW]
        if log_row >= 0:
            self._int_field(parts, _LOG_ROW, log_row)

    def _qix_field_text(self, parts: list[str], values: tuple[Any, ...]) -> None:
        """``qix_fields`` written into ``parts``, in its order."""
        self._str_field(parts, _APP_ID, values[_Q_APP_ID])
        value: float = values[_Q_PROCESS_TIME]
        if value >= 0:
            self._float_field(parts, _PROCESS_TIME, value)
        value = values[_Q_WORK_TIME]
        if value >= 0:
            self._float_field(parts, _WORK_TIME, value)
        value = values[_Q_LOCK_TIME]
        if value >= 0:
            self._float_field(parts, _LOCK_TIME, value)
        value = values[_Q_VALIDATE_TIME]
        if value >= 0:
            self._float_field(parts, _VALIDATE_TIME, value)
        value = values[_Q_TRAVERSE_TIME]
        if value >= 0:
            self._float_field(parts, _TRAVERSE_TIME, value)
        number: int = values[_Q_HANDLE]
        if number != _QIX_MISSING:
            self._int_field(parts, _HANDLE, number)
        number = values[_Q_NET_RAM]
        if number >= 0:
            self._int_field(parts, _NET_RAM, number)
        number = values[_Q_PEAK_RAM]
        if number >= 0:
            self._int_field(parts, _PEAK_RAM, number)
        number = values[_Q_LOG_ROW]
        if number >= 0:
            self._int_field(parts, _LOG_ROW, number)
        text: str = values[_Q_SESSION_ID]
        if text:
            self._str_field(parts, _SESSION_ID, text)
        text = values[_Q_PROXY_SESSION_ID]
        if text:
            self._str_field(parts, _PROXY_SESSION_ID, text)
        text = values[_Q_OBJECT_ID]
        if text:
            self._str_field(parts, _OBJECT_ID, text)

    def log_tags(self, event: LogEvent) -> dict[str, str]:
        tags = dict(self.log_event_tags)
        tags.update(event.categories)
        tags["host"] = event.host
        tags["level"] = event.level
        tags["source"] = LOG_SOURCE_TAG[event.source]
        tags["subsystem"] = event.subsystem
        for name in _LOG_TAGS[event.source]:
            value = getattr(event, name)
            if value:
                tags[name] = value
        return tags

    def log_fields(self, event: LogEvent) -> dict[str, FieldValue]:
        fields: dict[str, FieldValue] = {name: getattr(event, name) for name in _LOG_FIELDS[event.source]}
        if event.source == "engine" and event.proxy_session_id:
            fields["proxy_session_id"] = event.proxy_session_id
        if event.log_row >= 0:
            fields["log_row"] = event.log_row
        if self.raw_event:
            fields["raw_event"] = self.log_raw_event(event)
        return fields

    def log_raw_event(self, event: LogEvent) -> str:
        raw: dict[str, Any] = {"source": LOG_SOURCE_TAG[event.source]}
        raw.update((name, getattr(event, name)) for name in SOURCE_FIELDS[event.source])
        raw["category"] = [{"name": name, "value": value} for name, value in event.categories]
        return orjson.dumps(raw).decode()

    def qix_tags(self, event: QixPerfEvent) -> dict[str, str]:
        tags = dict(self.log_event_tags)
        if event.categories:
            tags.update(event.categories)
        tags["host"] = event.host
        tags["level"] = event.level
        tags["source"] = QIX_SOURCE_TAG
        tags["subsystem"] = event.subsystem
        unknown = self.unknown_tag_value
        for name in _QIX_ALWAYS_TAGS:
            tags[name] = getattr(event, name) or unknown
        for name in _QIX_TAGS:
            value = getattr(event, name)
            if value:
                tags[name] = value
        return tags

    def qix_fields(self, event: QixPerfEvent) -> dict[str, FieldValue]:
        fields: dict[str, FieldValue] = {"app_id": event.app_id}
        for name in _QIX_TIMES:
            value = getattr(event, name)
            if value >= 0:
                fields[name] = value
        if event.handle != _QIX_MISSING:
            fields["handle"] = event.handle
        if event.net_ram >= 0:
            fields["net_ram"] = event.net_ram
        if event.peak_ram >= 0:
            fields["peak_ram"] = event.peak_ram
        if event.log_row >= 0:
            fields["log_row"] = event.log_row
        for name in ("session_id", "proxy_session_id", "object_id"):
            value = getattr(event, name)
            if value:
                fields[name] = value
        if self.raw_event:
            fields["raw_event"] = self.qix_raw_event(event)
        return fields

    def qix_raw_event(self, event: QixPerfEvent) -> str:
        raw: dict[str, Any] = {name: getattr(event, name) for name in _QIX_RAW}
        raw["source"] = QIX_SOURCE_TAG
        if event.categories:
            raw["category"] = [{"name": name, "value": value} for name, value in event.categories]
        return orjson.dumps(raw).decode()


__all__ = ["LOG_SOURCE_TAG", "QIX_SOURCE_TAG", "LineRenderer"]
