"""Events as the pollers and UDP parsers produce them, for the Prometheus, MQTT and New Relic tests."""

from __future__ import annotations

from typing import Any

from sensebutler.events.polled import HealthSample, ProxySession, ProxySessions, ServerRef
from sensebutler.events.udp import LogEvent, UserEvent

#: 2024-01-15T09:45:12.123Z
T0_NS = 1_705_311_912_123_000_000


def server(name: str = "central", host: str = "qs-central", **tags: str | int | bool) -> ServerRef:
    return ServerRef(name=name, host=host, description=f"{name} node", tags=tuple(tags.items()))


def health(ref: ServerRef, **overrides: Any) -> HealthSample:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "server": ref,
        "version": "14.173.8",
        "started": "20240110T030001.000+0100",
        "mem_committed": 10240.5,
        "mem_allocated": 12288.25,
        "mem_free": 20480.0,
        "cpu_total": 12,
        "session_active": 4,
        "session_total": 17,
        "active_docs": ("a1", "SessionApp_1"),
        "loaded_docs": ("a1", "a2", "SessionApp_1"),
        "in_memory_docs": ("a1", "a2", "a3", "SessionApp_1", "SessionApp_2"),
        "calls": 1520334,
        "selections": 88120,
        "users_active": 3,
        "users_total": 11,
        "cache_hits": 9911,
        "cache_lookups": 12040,
        "cache_added": 2100,
        "cache_replaced": 310,
        "cache_bytes_added": 884736,
        "saturated": False,
        "app_names": {"a1": "Sales", "a2": "Finance", "a3": "HR"},
        "poll_ms": 42.0,
    }
    values.update(overrides)
    return HealthSample(**values)


def sessions(ref: ServerRef, virtual_proxy: str = "/", count: int = 2) -> ProxySessions:
    users = [("ACME", "jdoe"), ("ACME", "asmith"), ("ACME", "jdoe"), ("INTERNAL", "sa_scheduler")]
    return ProxySessions(
        time_ns=T0_NS,
        server=ref,
        virtual_proxy=virtual_proxy,
        proxy_host=f"{ref.host}:4243",
        sessions=tuple(
            ProxySession(d, u, f"5e1f1f1f-aaaa-bbbb-cccc-00000000000{i}", excluded=u == "sa_scheduler")
            for i, (d, u) in enumerate(users[:count])
        ),
        poll_ms=12.5,
    )


def scheduler_log_event(**overrides: Any) -> LogEvent:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "source": "scheduler",
        "log_row": 14,
        "ts_iso": "2021-11-09T19:37:44.331+0100",
        "ts_local": "2021-11-09 19:37:44,331",
        "level": "ERROR",
        "host": "QS-PROD-01",
        "subsystem": "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask",
        "windows_user": "LAB\\qlikservice",
        "message": "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
        "user_directory": "LAB",
        "user_id": "goran",
        "user_full": "LAB\\goran",
        "task_name": "Manually triggered reload of Test failing reloads 2",
        "app_name": "Test failing reloads 2",
        "task_id": "dec2a02a-1680-44ef-8dc2-e2bfb180af87",
        "app_id": "e7af59a0-c243-480d-9571-08727551a66f",
        "execution_id": "4831c6a5-34f6-45bb-9d40-73a6e6992670",
        "categories": (("qs_log_category", "reload-failed"),),
    }
    values.update(overrides)
    return LogEvent(**values)


def user_event(command: str = "Open connection", **overrides: Any) -> UserEvent:
    values: dict[str, Any] = {
        "time_ns": T0_NS,
        "message_type": "qseow-proxy-connection" if "connection" in command else "qseow-proxy-session",
        "host": "QS-PROD-01",
        "command": command,
        "user_directory": "ACME",
        "user_id": "jdoe",
        "user_full": "ACME\\jdoe",
        "origin": "https://qlik.acme.com",
        "context": "/app/7d5f6e2a-1111-2222-3333-444444444444?reloaduri=x",
        "message": "connection Opened for session 9a8b; UserAgent: Mozilla/5.0 Chrome/120.0",
        "app_id": "7d5f6e2a-1111-2222-3333-444444444444",
        "app_name": "Operations Dashboard",
        "user_agent": "Mozilla/5.0 Chrome/120.0",
        "ua_browser_name": "Chrome",
        "ua_browser_version": "120.0",
        "ua_browser_major": "120",
        "ua_os_name": "Windows",
        "ua_os_version": "NT 10.0",
    }
    values.update(overrides)
    return UserEvent(**values)
