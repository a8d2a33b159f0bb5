"""Events for the InfluxDB tests, beyond the shared ones in ``tests/sinks/output_events.py``."""

from __future__ import annotations

from typing import Any

from sensebutler.events.ingest import EventCount, RejectedEventCount, UdpQueueMetrics
from sensebutler.events.polled import (
    PollCounters,
    PollFailed,
    ProcessorCounters,
    SelfMetrics,
    ServerRef,
    SinkCounters,
)
from sensebutler.events.udp import LogEvent, QixPerfEvent
from tests.sinks.output_events import T0_NS


def engine_log_event(**overrides: Any) -> LogEvent:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "source": "engine",
        "log_row": 2113,
        "level": "WARN",
        "host": "QS-PROD-01",
        "subsystem": "System.Engine.Engine",
        "windows_user": "LAB\\qlikservice",
        "message": "Document was not saved: access denied",
        "user_directory": "LAB",
        "user_id": "goran",
        "user_full": "LAB\\goran",
        "proxy_session_id": "6bd0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1aa",
        "engine_exe_version": "14.173.8.0",
        "session_id": "77d0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1bb",
        "app_id": "e7af59a0-c243-480d-9571-08727551a66f",
        "app_name": "Sales",
    }
    values.update(overrides)
    return LogEvent(**values)


def proxy_log_event(**overrides: Any) -> LogEvent:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "source": "proxy",
        "log_row": 88,
        "level": "ERROR",
        "host": "QS-PROD-01",
        "subsystem": "Audit.Proxy.Proxy.SessionEstablishment",
        "message": "Authentication failed",
        "user_directory": "ACME",
        "user_id": "jdoe",
        "user_full": "ACME\\jdoe",
        "command": "Login",
        "result_code": "403",
        "origin": "https://qlik.acme.com",
        "context": "/hub",
    }
    values.update(overrides)
    return LogEvent(**values)


def qix_perf_event(**overrides: Any) -> QixPerfEvent:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "log_row": 321,
        "level": "INFO",
        "host": "QS-PROD-01",
        "subsystem": "QixPerformance.Engine.Engine",
        "proxy_session_id": "6bd0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1aa",
        "user_directory": "ACME",
        "user_id": "jdoe",
        "user_full": "ACME\\jdoe",
        "session_id": "77d0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1bb",
        "app_id": "e7af59a0-c243-480d-9571-08727551a66f",
        "app_name": "Sales",
        "request_id": 12,
        "method": "Doc::GetObject",
        "process_time": 12.5,
        "work_time": 11.0,
        "lock_time": 0.25,
        "validate_time": 0.0,
        "traverse_time": 1.125,
        "handle": 3,
        "object_id": "pqRsT",
        "net_ram": 2048,
        "peak_ram": 4096,
        "object_type": "barchart",
        "event_activity_source": "user",
    }
    values.update(overrides)
    return QixPerfEvent(**values)


def poll_failed(ref: ServerRef, **overrides: Any) -> PollFailed:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "server": ref,
        "target": "health",
        "category": "timeout",
        "message": "no answer within 5 s",
        "url": "https://qs-central:4747/engine/healthcheck",
        "duration_ms": 5001.5,
        "address": "qs-central:4747",
        "error_code": "ECONNABORTED",
        "timeout_ms": 5000,
    }
    values.update(overrides)
    return PollFailed(**values)


def self_metrics(**overrides: Any) -> SelfMetrics:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "version": "0.1.0",
        "instance": "host-a",
        "uptime_s": 3600.5,
        "rss_bytes": 150 * 1024 * 1024 + 524288,
        "cpu_pct": 3.25,
        "sinks": {
            "influxdb": SinkCounters(
                delivered=100,
                retried=2,
                spooled=10,
                dropped={"rejected": 3},
                queued=1,
                spool_records=0,
                spool_bytes=0,
            ),
            "mqtt": SinkCounters(
                delivered=7, retried=0, spooled=0, dropped={}, queued=0, spool_records=0, spool_bytes=0
            ),
        },
        "processors": {
            "reload alerts": ProcessorCounters(
                received=5, processed=3, emitted=3, failed=1, dropped={"duplicate": 1}, queued=0, restarts=0
            ),
        },
        "polls": {
            "health:central": PollCounters(
                polls=10, failures=1, skipped_overlap=0, last_ms=42.0, max_ms=120.5
            ),
        },
    }
    values.update(overrides)
    return SelfMetrics(**values)


def event_count(**overrides: Any) -> EventCount:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "event_type": "log",
        "source": "qseow-engine",
        "host": "QS-PROD-01",
        "subsystem": "System.Engine.Engine",
        "counter": 17,
    }
    values.update(overrides)
    return EventCount(**values)


def rejected_event_count(**overrides: Any) -> RejectedEventCount:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "source": "qseow-qix-perf",
        "app_id": "e7af59a0-c243-480d-9571-08727551a66f",
        "app_name": "Sales",
        "method": "Doc::GetObject",
        "object_type": "barchart",
        "counter": 5,
        "process_time": 123.25,
    }
    values.update(overrides)
    return RejectedEventCount(**values)


def udp_queue(**overrides: Any) -> UdpQueueMetrics:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "queue_type": "log_events",
        "host": "sensebutler-host",
        "queue_size": 50,
        "queue_max_size": 200,
        "messages_received": 1000,
        "messages_queued": 990,
        "messages_processed": 980,
        "messages_failed": 2,
        "dropped": {"rate_limited": 4, "too_large": 1, "source_not_allowed": 5},
        "malformed": {"bad_field_count": 3, "not_utf8": 1},
        "kernel_drops": 7,
        "processing_time_avg_ms": 0.4,
        "processing_time_p95_ms": 1.5,
        "processing_time_max_ms": 3.0,
        "rate_limit_current": 3000,
        "backpressure_active": True,
    }
    values.update(overrides)
    return UdpQueueMetrics(**values)
