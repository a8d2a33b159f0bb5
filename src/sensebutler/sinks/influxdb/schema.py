"""The InfluxDB schema: every measurement's fields, their types, and what differs per InfluxDB version.

The mapping (``mapping.py``) builds points with *canonical* field names (Butler SOS's InfluxDB v1
names) and canonical values. This table turns them into what Butler SOS wrote to each version, so
that dashboards built on any of its three writers keep working:

* **names**: InfluxDB 3 refuses a field whose name is also a tag of the same table, so Butler SOS's
  v2/v3 writers renamed some fields (``result_code`` → ``result_code_field`` ...). The same rule
  covers the ids we moved from tags to fields (``log_row`` → ``log_row_field`` in v3).
* **types**: a field's type is fixed once written (a float into an integer field is a rejected
  write), so each version gets the types Butler SOS's writer for that version used.

``docs/influxdb.md`` documents the same table for users; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sensebutler.sinks.influxdb.line_protocol import FieldType, escape_name

Version = int  # 1 | 2 | 3
VERSIONS: tuple[Version, ...] = (1, 2, 3)


@dataclass(frozen=True)
class FieldDef:
    type: FieldType
    #: type per version where it differs from ``type``
    types: Mapping[Version, FieldType] = field(default_factory=dict)
    #: from this version on the field is written as ``<name>_field``: its name is also a tag of the
    #: measurement, which InfluxDB 3 forbids (Butler SOS's v2 writer renamed some of them too)
    suffixed_from: Version | None = None


def _f(kind: FieldType, *, suffixed_from: Version | None = None, **types: FieldType) -> FieldDef:
    """Shorthand: ``_f("int", v2="uint")`` = int, but uint when writing to InfluxDB 2."""
    return FieldDef(kind, {int(key[1:]): value for key, value in types.items()}, suffixed_from)


_STRING = _f("string")
_INT = _f("int")
_FLOAT = _f("float")
_COUNTER_V2_UINT = _f("int", v2="uint")
_MB_V1_INT = _f("float", v1="int")
#: Butler SOS's v1 writer declares no schema for these measurements, and its client then writes
#: every number as a float; its v2/v3 writers write integers
_INT_V1_FLOAT = _f("int", v1="float")


#: the queue metrics of each UDP input (measurements ``<queue_type>_queue``); further
#: ``messages_dropped_<reason>`` fields are added per drop reason (integers)
_QUEUE_FIELDS: dict[str, FieldDef] = {
    "queue_size": _INT_V1_FLOAT,
    "queue_max_size": _INT_V1_FLOAT,
    "queue_utilization_pct": _FLOAT,
    "messages_received": _INT_V1_FLOAT,
    "messages_queued": _INT_V1_FLOAT,
    "messages_processed": _INT_V1_FLOAT,
    "messages_failed": _INT_V1_FLOAT,
    "messages_dropped_total": _INT_V1_FLOAT,
    "messages_dropped_rate_limit": _INT_V1_FLOAT,
    "messages_dropped_queue_full": _INT_V1_FLOAT,
    "messages_dropped_size": _INT_V1_FLOAT,
    "messages_malformed": _INT,
    "kernel_drops": _INT,
    "processing_time_avg_ms": _FLOAT,
    "processing_time_p95_ms": _FLOAT,
    "processing_time_max_ms": _FLOAT,
    "rate_limit_current": _INT_V1_FLOAT,
    "backpressure_active": _INT_V1_FLOAT,
}

#: task outcomes (``task_points.py``): Butler's InfluxDB clients write every number as a float
_TASK_BASE = {"log_timestamp": _STRING, "execution_id": _STRING, "log_message": _STRING}
_TASK_EXECUTION = {
    "task_executionStartTime_json": _STRING,
    "task_executionStopTime_json": _STRING,
    "task_executionDuration_json": _STRING,
    "task_executionDuration_sec": _FLOAT,
    "task_executionDuration_min": _FLOAT,
    "task_executionDuration_h": _FLOAT,
}
_TASK_SCRIPT_LOG = {
    "task_scriptLogSize": _FLOAT,
    "task_scriptLogHeadCount": _FLOAT,
    "task_scriptLogTailCount": _FLOAT,
    "scriptLog": _STRING,
    "reload_log": _STRING,
}
TASK_MEASUREMENTS: dict[str, dict[str, FieldDef]] = {
    **{
        f"reload_task_{outcome}": {**_TASK_BASE, **_TASK_EXECUTION, **_TASK_SCRIPT_LOG}
        for outcome in ("failed", "aborted", "success")
    },
    **{
        f"{task_type}_task_{outcome}": {**_TASK_BASE, **_TASK_EXECUTION}
        for task_type in ("external_program", "user_sync", "distribute", "preload")
        for outcome in ("failed", "success")
    },
}

#: measurement → canonical field name → definition
FIELDS: dict[str, dict[str, FieldDef]] = {
    "sense_server": {"version": _STRING, "started": _STRING, "uptime": _STRING},
    "mem": {"comitted": _MB_V1_INT, "allocated": _MB_V1_INT, "free": _MB_V1_INT},
    "apps": {
        "active_docs_count": _INT,
        "loaded_docs_count": _INT,
        "in_memory_docs_count": _INT,
        "active_docs": _STRING,
        "loaded_docs": _STRING,
        "in_memory_docs": _STRING,
        "active_docs_names": _STRING,
        "loaded_docs_names": _STRING,
        "in_memory_docs_names": _STRING,
        "active_session_docs_names": _STRING,
        "loaded_session_docs_names": _STRING,
        "in_memory_session_docs_names": _STRING,
        "calls": _COUNTER_V2_UINT,
        "selections": _COUNTER_V2_UINT,
    },
    "cpu": {"total": _f("float", v1="int", v3="int")},
    "session": {"active": _COUNTER_V2_UINT, "total": _COUNTER_V2_UINT},
    "users": {"active": _COUNTER_V2_UINT, "total": _COUNTER_V2_UINT},
    "cache": {
        "hits": _COUNTER_V2_UINT,
        "lookups": _COUNTER_V2_UINT,
        "added": _INT,
        "replaced": _INT,
        "bytes_added": _INT,
    },
    "saturated": {"saturated": _f("bool")},
    "user_session_summary": {"session_count": _COUNTER_V2_UINT, "session_user_id_list": _STRING},
    "user_session_list": {"session_count": _COUNTER_V2_UINT, "session_user_id_list": _STRING},
    "user_session_details": {"session_id": _STRING, "user_directory": _STRING, "user_id": _STRING},
    "butlersos_memory_usage": {
        "heap_used": _FLOAT,
        "heap_total": _FLOAT,
        "process_memory": _FLOAT,
        "uptime_s": _FLOAT,
        "cpu_pct": _FLOAT,
    },
    # dropped_<reason> fields are added per reason (integers)
    "sensebutler_sink": {
        "delivered": _INT,
        "retried": _INT,
        "spooled": _INT,
        "queued": _INT,
        "spool_records": _INT,
        "spool_bytes": _INT,
        "dropped": _INT,
        "values_clamped": _INT,
    },
    # dropped_<reason> fields are added per reason (integers)
    "sensebutler_processor": {
        "received": _INT,
        "processed": _INT,
        "emitted": _INT,
        "failed": _INT,
        "queued": _INT,
        "restarts": _INT,
        "dropped": _INT,
    },
    "sensebutler_poll": {
        "polls": _INT,
        "failures": _INT,
        "skipped_overlap": _INT,
        "last_ms": _FLOAT,
        "max_ms": _FLOAT,
    },
    "butler_sos_errors": {
        "error_category": _STRING,
        "error_code": _STRING,
        "error_message": _STRING,
        "error_count": _INT_V1_FLOAT,
        "request_url": _STRING,
        "http_status": _INT_V1_FLOAT,
        "request_timeout_ms": _INT_V1_FLOAT,
        "duration_ms": _FLOAT,
    },
    "event_count": {"counter": _INT_V1_FLOAT},
    "rejected_event_count": {"counter": _INT_V1_FLOAT, "process_time": _FLOAT},
    **{f"{queue}_queue": _QUEUE_FIELDS for queue in ("log_events", "user_events", "task_events")},
    "log_event": {
        "message": _STRING,
        "exception_message": _STRING,
        "command": _STRING,
        "result_code": _f("string", suffixed_from=2),
        "origin": _STRING,
        "context": _STRING,
        "execution_id": _STRING,
        "raw_event": _STRING,
        "app_id": _f("string", suffixed_from=3),
        "app_name": _f("string", suffixed_from=3),
        # ids Butler SOS wrote as tags (unbounded series cardinality); fields here
        "log_row": _f("int", suffixed_from=3),
        "session_id": _f("string", suffixed_from=3),
        "proxy_session_id": _f("string", suffixed_from=3),
        "object_id": _f("string", suffixed_from=3),
        # QIX performance
        "process_time": _FLOAT,
        "work_time": _FLOAT,
        "lock_time": _FLOAT,
        "validate_time": _FLOAT,
        "traverse_time": _FLOAT,
        "handle": _f("int", v2="string"),
        "net_ram": _INT,
        "peak_ram": _INT,
    },
    # Butler's measurements (the monitors): numbers are floats, as Butler wrote them
    "win_service_state": {
        "state_num": _FLOAT,
        "state_text": _STRING,
        "startup_mode_num": _FLOAT,
        "startup_mode_text": _STRING,
    },
    "qlik_sense_license": {
        name: _FLOAT
        for name in (
            "allocated",
            "available",
            "excess",
            "quarantined",
            "total",
            "used",
            "allocated_minutes",
            "unavailable_minutes",
            "used_minutes",
            "allocated_tokens",
            "token_cost",
            "unavailable_tokens",
            "used_tokens",
            "quarantined_tokens",
            "available_tokens",
            "total_tokens",
        )
    },
    "qlik_sense_license_release": {"days_since_last_use": _FLOAT},
    "qlik_sense_server_license": {
        "license_expired": _f("bool"),
        "expiry_date": _STRING,
        "days_until_expiry": _FLOAT,
    },
    "qlik_sense_version": {
        name: _STRING
        for name in (
            "content_hash",
            "sense_id",
            "version",
            "deployment_type",
            "release_label",
            "deprecated_product_version",
            "product_name",
            "copyright_year_range",
        )
    },
    "butler_memory_usage": {
        "heap_used": _FLOAT,
        "heap_total": _FLOAT,
        "external": _FLOAT,
        "process_memory": _FLOAT,
        "uptime_s": _FLOAT,
    },
    "sense_restart": {"downtime_s": _FLOAT, "started": _STRING, "previous_started": _STRING},
    "log_event_logdb": {"message": _STRING, "entry_id": _INT},
    "user_events": {
        "userFull": _f("string", suffixed_from=3),
        "userId": _f("string", suffixed_from=3),
        "appId": _f("string", suffixed_from=2),
        "appName": _f("string", suffixed_from=2),
    },
    **TASK_MEASUREMENTS,
}


@dataclass(frozen=True)
class FieldSpec:
    """One field as written to one version: escaped output key and line-protocol type."""

    key: str
    type: FieldType


def output_name(measurement: str, name: str, version: Version) -> str:
    definition = FIELDS.get(measurement, {}).get(name)
    if definition is None or definition.suffixed_from is None or version < definition.suffixed_from:
        return name
    return f"{name}_field"


def output_type(measurement: str, name: str, version: Version) -> FieldType | None:
    definition = FIELDS.get(measurement, {}).get(name)
    if definition is None:
        return None
    return definition.types.get(version, definition.type)


def specs_for(version: Version) -> dict[str, dict[str, FieldSpec]]:
    """measurement → canonical field name → how to write it to ``version``."""
    return {
        measurement: {
            name: FieldSpec(
                escape_name(output_name(measurement, name, version)),
                definition.types.get(version, definition.type),
            )
            for name, definition in fields.items()
        }
        for measurement, fields in FIELDS.items()
    }


@dataclass(frozen=True)
class VersionProfile:
    """Value-level differences between Butler SOS's writers, besides field names and types."""

    version: Version
    #: QIX performance tags Butler SOS always wrote (method, object_type, ...) get this when empty
    unknown_tag_value: str
    #: v1 wrote app name lists as ``"a","b"``; v2/v3 as ``a,b``
    quote_app_names: bool


PROFILES: dict[Version, VersionProfile] = {
    1: VersionProfile(1, unknown_tag_value="<Unknown>", quote_app_names=True),
    2: VersionProfile(2, unknown_tag_value="", quote_app_names=False),
    3: VersionProfile(3, unknown_tag_value="Unknown", quote_app_names=False),
}

__all__ = [
    "FIELDS",
    "PROFILES",
    "TASK_MEASUREMENTS",
    "VERSIONS",
    "FieldDef",
    "FieldSpec",
    "Version",
    "VersionProfile",
    "output_name",
    "output_type",
    "specs_for",
]
