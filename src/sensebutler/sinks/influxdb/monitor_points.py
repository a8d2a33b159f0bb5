"""Points of the monitor events (``events/monitors.py``), with Butler's measurement names.

Butler writes every number as a float (its v1 client declares no schema; its v2/v3 writers convert
numbers to floats), so these measurements keep that type in every version (``schema.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sensebutler.events.monitors import (
    START_TYPE_NUMBERS,
    STATE_NUMBERS,
    AccessCounts,
    LicenseReleased,
    LicenseUsage,
    LogDbEntry,
    Restarted,
    SenseVersion,
    ServerLicense,
    ServiceState,
    Uptime,
)
from sensebutler.events.polled import ServerRef
from sensebutler.sinks.influxdb.line_protocol import FieldValue

TagsOf = Callable[[ServerRef], dict[str, str]]
Make = Callable[[str, dict[str, str], dict[str, FieldValue], int], Any]


def service_state(event: ServiceState, make: Make) -> list[Any]:
    tags = {
        "host": event.host,
        "service_name": event.service_name,
        "display_name": event.display_name,
        "friendly_name": event.friendly_name,
    }
    fields: dict[str, FieldValue] = {
        "state_num": float(STATE_NUMBERS.get(event.state, -1)),
        "state_text": event.state,
        "startup_mode_num": float(START_TYPE_NUMBERS.get(event.start_type, -1)),
        "startup_mode_text": event.start_type or "Unknown",
    }
    return [make("win_service_state", tags, fields, event.time_ns)]


def _details(counts: AccessCounts) -> dict[str, FieldValue]:
    return {
        "allocated": float(counts.allocated),
        "available": float(counts.available),
        "excess": float(counts.excess),
        "quarantined": float(counts.quarantined),
        "total": float(counts.total),
        "used": float(counts.used),
    }


def license_usage(event: LicenseUsage, make: Make) -> list[Any]:
    t = event.time_ns
    points = []
    if event.analyzer.enabled:
        points.append(make("qlik_sense_license", {"license_type": "analyzer"}, _details(event.analyzer), t))
    if event.professional.enabled:
        fields = _details(event.professional)
        points.append(make("qlik_sense_license", {"license_type": "professional"}, fields, t))
    for license_type, values in (
        ("analyzer_capacity", event.analyzer_time),
        ("token_login", event.login_tokens),
        ("token_user", event.user_tokens),
    ):
        if values:
            fields = {name: float(value) for name, value in values.items()}
            points.append(make("qlik_sense_license", {"license_type": license_type}, fields, t))
    if event.tokens_enabled:
        fields = {"available_tokens": event.available_tokens, "total_tokens": event.total_tokens}
        points.append(make("qlik_sense_license", {"license_type": "tokens_available"}, fields, t))
    return points


def license_released(event: LicenseReleased, make: Make) -> list[Any]:
    if event.dry_run:
        return []
    tags = {"license_type": event.license_type, "user": event.user}
    fields: dict[str, FieldValue] = {"days_since_last_use": float(event.days_since_last_use)}
    return [make("qlik_sense_license_release", tags, fields, event.time_ns)]


def server_license(event: ServerLicense, make: Make) -> list[Any]:
    fields: dict[str, FieldValue] = {"license_expired": event.expired, "expiry_date": event.expiry_date}
    if event.days_until_expiry is not None:
        fields["days_until_expiry"] = float(event.days_until_expiry)
    return [make("qlik_sense_server_license", {}, fields, event.time_ns)]


def sense_version(event: SenseVersion, make: Make) -> list[Any]:
    fields: dict[str, FieldValue] = {
        "content_hash": event.content_hash,
        "sense_id": event.sense_id,
        "version": event.version,
        "deployment_type": event.deployment_type,
        "release_label": event.release_label,
        "deprecated_product_version": event.deprecated_product_version,
        "product_name": event.product_name,
        "copyright_year_range": event.copyright_year_range,
    }
    return [make("qlik_sense_version", {"host": event.host}, fields, event.time_ns)]


def uptime(event: Uptime, make: Make, instance: str) -> list[Any]:
    tags = {"butler_instance": instance or event.instance, "version": event.version}
    fields: dict[str, FieldValue] = {
        "heap_used": event.heap_used,
        "heap_total": event.heap_total,
        "external": event.external,
        "process_memory": event.process_memory,
        "uptime_s": event.uptime_s,
    }
    return [make("butler_memory_usage", tags, fields, event.time_ns)]


def restarted(event: Restarted, make: Make, tags_of: TagsOf) -> list[Any]:
    tags = tags_of(event.server) if event.server is not None else {"host": event.host}
    tags = {**tags, "scope": event.scope}
    fields: dict[str, FieldValue] = {"downtime_s": float(event.downtime_s)}
    if event.started:
        fields["started"] = event.started
    if event.previous_started:
        fields["previous_started"] = event.previous_started
    return [make("sense_restart", tags, fields, event.time_ns)]


def log_db_entry(event: LogDbEntry, make: Make, tags_of: TagsOf) -> list[Any]:
    tags = tags_of(event.server) if event.server is not None else {"host": event.host}
    tags = {**tags, "source_process": event.process, "log_level": event.level}
    fields: dict[str, FieldValue] = {"message": event.message, "entry_id": event.id}
    # the row id as a sub-microsecond offset: rows of one process and time stay distinct points
    return [make("log_event_logdb", tags, fields, event.time_ns + event.id % 1000)]
