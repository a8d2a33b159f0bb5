"""Points → line protocol for one InfluxDB version, and the UDP hot path: a log or QIX performance
event straight to its ``log_event`` line.

This module is part of the compiled hot path (``sensebutler/hotpath``): keep it free of imports
from the rest of the hot path other than its own (``line_protocol``), and typed precisely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from sensebutler.events.udp import SOURCE_FIELDS, LogEvent, QixPerfEvent
from sensebutler.sinks.influxdb.line_protocol import (
    FORMATTERS,
    FieldValue,
    escape_measurement,
    escape_name,
    format_value,
)
from sensebutler.sinks.influxdb.schema import FIELDS, PROFILES, Version, specs_for

_TAG_CACHE_LIMIT = 100_000
#: rendered heads (measurement and tags) of UDP lines, one per distinct tag set: with users × apps ×
#: objects a site has far more tag sets than tag values, and each entry holds ~0.5–1 KB (the head
#: and the key's strings): 100,000 of them took a process ~100 MB. A skewed stream over 100,000 tag
#: sets rendered at the same CPU per event with 10,000 as with 100,000 (compiled, 7.7–7.9 µs
#: against 7.7–8.0) and held 4 MB of heads instead of 35 MB.
_HEAD_CACHE_LIMIT = 10_000
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
_QIX_MISSING = -99  # request_id / handle sentinel of QixPerfEvent
_QIX_RAW = tuple(name for name in QixPerfEvent.__struct_fields__ if name not in ("time_ns", "categories"))


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
        """What rendering the event's one point gives, with the measurement and tags cached per tag set.

        Tag sets repeat (hosts, users, apps, methods, object types): the key is every field the
        tags are made of, so a cached head is exactly what the tags would render to."""
        key: tuple[object, ...]
        if isinstance(event, QixPerfEvent):
            key = (
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
            fields = self.qix_fields(event)
        else:
            key = (event.source, event.categories, event.host, event.level, event.subsystem)
            key += tuple([getattr(event, name) for name in _LOG_TAGS[event.source]])
            fields = self.log_fields(event)
        text = self.field_text("log_event", fields)
        if not text:
            return ""
        heads = self.udp_heads
        head = heads.get(key)
        if head is None:
            tags = self.qix_tags(event) if isinstance(event, QixPerfEvent) else self.log_tags(event)
            head = self.measurements["log_event"] + self.tag_text(tags)
            if len(heads) >= _HEAD_CACHE_LIMIT:
                heads.clear()
            heads[key] = head
        return f"{head} {text} {event.time_ns + self.next_offset()}"

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
            raw: dict[str, Any] = {"source": LOG_SOURCE_TAG[event.source]}
            raw.update((name, getattr(event, name)) for name in SOURCE_FIELDS[event.source])
            raw["category"] = [{"name": name, "value": value} for name, value in event.categories]
            fields["raw_event"] = orjson.dumps(raw).decode()
        return fields

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
            raw: dict[str, Any] = {name: getattr(event, name) for name in _QIX_RAW}
            raw["source"] = QIX_SOURCE_TAG
            if event.categories:
                raw["category"] = [{"name": name, "value": value} for name, value in event.categories]
            fields["raw_event"] = orjson.dumps(raw).decode()
        return fields


__all__ = ["LOG_SOURCE_TAG", "QIX_SOURCE_TAG", "LineRenderer"]
