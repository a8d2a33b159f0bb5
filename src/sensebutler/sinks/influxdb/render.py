"""Points → line protocol for one InfluxDB version, and the UDP hot path: a log or QIX performance
event straight to its ``log_event`` line.

This module is part of the compiled hot path (``sensebutler/hotpath``): keep it free of imports
from the rest of the hot path other than its own (``line_protocol``), and typed precisely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

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
        if isinstance(event, QixPerfEvent):
            key: tuple[object, ...] = (
                None,
                event.categories,
                event.host,
                event.level,
                event.subsystem,
                event.method,
                event.object_type,
                event.event_activity_source,
                event.user_full,
                event.user_directory,
                event.user_id,
                event.app_id,
                event.app_name,
            )
            self._qix_field_text(parts, event)
        else:
            key = self._log_head_key(event)
            self._log_field_text(parts, event)
        if len(parts) == 2:
            return ""
        heads = self.udp_heads
        head = heads.get(key)
        if head is None:
            tags = self.qix_tags(event) if isinstance(event, QixPerfEvent) else self.log_tags(event)
            head = self.measurements["log_event"] + self.tag_text(tags)
            if len(heads) >= _TAG_CACHE_LIMIT:
                heads.clear()
            heads[key] = head
        parts[0] = head
        parts.append(" ")
        parts.append(str(event.time_ns + self.next_offset()))
        return "".join(parts)

    def _log_head_key(self, event: LogEvent) -> tuple[object, ...]:
        source = event.source
        if source == "engine":
            return (
                source,
                event.categories,
                event.host,
                event.level,
                event.subsystem,
                event.user_full,
                event.user_directory,
                event.user_id,
                event.result_code,
                event.windows_user,
                event.task_id,
                event.task_name,
                event.app_id,
                event.app_name,
                event.engine_exe_version,
            )
        if source == "scheduler":
            return (
                source,
                event.categories,
                event.host,
                event.level,
                event.subsystem,
                event.user_full,
                event.user_directory,
                event.user_id,
                event.task_id,
                event.task_name,
            )
        if source == "proxy" or source == "repository":
            return (
                source,
                event.categories,
                event.host,
                event.level,
                event.subsystem,
                event.user_full,
                event.user_directory,
                event.user_id,
                event.result_code,
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

    def _log_field_text(self, parts: list[str], event: LogEvent) -> None:
        """``log_fields`` written into ``parts``, in its order."""
        source = event.source
        self._field(parts, _MESSAGE, event.message)
        if source == "engine":
            self._field(parts, _SESSION_ID, event.session_id)
            if event.proxy_session_id:
                self._field(parts, _PROXY_SESSION_ID, event.proxy_session_id)
        elif source == "scheduler":
            self._field(parts, _EXCEPTION_MESSAGE, event.exception_message)
            self._field(parts, _APP_NAME, event.app_name)
            self._field(parts, _APP_ID, event.app_id)
            self._field(parts, _EXECUTION_ID, event.execution_id)
        elif source == "proxy" or source == "repository":
            self._field(parts, _EXCEPTION_MESSAGE, event.exception_message)
            self._field(parts, _COMMAND, event.command)
            self._field(parts, _RESULT_CODE, event.result_code)
            self._field(parts, _ORIGIN, event.origin)
            self._field(parts, _CONTEXT, event.context)
        else:
            raise KeyError(source)
        if event.log_row >= 0:
            self._field(parts, _LOG_ROW, event.log_row)
        if self.raw_event:
            self._field(parts, _RAW_EVENT, self.log_raw_event(event))

    def _qix_field_text(self, parts: list[str], event: QixPerfEvent) -> None:
        """``qix_fields`` written into ``parts``, in its order."""
        self._field(parts, _APP_ID, event.app_id)
        value = event.process_time
        if value >= 0:
            self._field(parts, _PROCESS_TIME, value)
        value = event.work_time
        if value >= 0:
            self._field(parts, _WORK_TIME, value)
        value = event.lock_time
        if value >= 0:
            self._field(parts, _LOCK_TIME, value)
        value = event.validate_time
        if value >= 0:
            self._field(parts, _VALIDATE_TIME, value)
        value = event.traverse_time
        if value >= 0:
            self._field(parts, _TRAVERSE_TIME, value)
        if event.handle != _QIX_MISSING:
            self._field(parts, _HANDLE, event.handle)
        if event.net_ram >= 0:
            self._field(parts, _NET_RAM, event.net_ram)
        if event.peak_ram >= 0:
            self._field(parts, _PEAK_RAM, event.peak_ram)
        if event.log_row >= 0:
            self._field(parts, _LOG_ROW, event.log_row)
        if event.session_id:
            self._field(parts, _SESSION_ID, event.session_id)
        if event.proxy_session_id:
            self._field(parts, _PROXY_SESSION_ID, event.proxy_session_id)
        if event.object_id:
            self._field(parts, _OBJECT_ID, event.object_id)
        if self.raw_event:
            self._field(parts, _RAW_EVENT, self.qix_raw_event(event))

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
