"""What each dashboard page shows: one function per page over a :class:`~.reader.Reader` (the
embedded store, or InfluxDB when only that is configured), returning JSON-able data (charts as
``{"title", "unit", "series": {label: [[t, v], ...]}}``, tables as lists of rows).

They run on the reader's thread (:class:`~.reader.PageThread`); ``bench/store.py`` times exactly
these over the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sensebutler.sinks.store.storage import NS, Aggregate
from sensebutler.web.dashboard.reader import Reader

Page = Callable[[Reader, int, int, str], dict[str, Any]]
#: a ``"now"`` value is the newest sample of the last few minutes
RECENT_NS = 5 * 60 * NS


def chart(
    storage: Reader,
    title: str,
    measurement: str,
    field: str,
    since: int,
    until: int,
    *,
    group_by: str = "server_name",
    aggregate: Aggregate = "avg",
    unit: str = "",
) -> dict[str, Any]:
    series = storage.series(measurement, field, since, until, group_by=group_by, aggregate=aggregate)
    return {"title": title, "unit": unit, "series": {k: [list(p) for p in v] for k, v in series.items()}}


def totals(
    storage: Reader, measurement: str, field: str, since: int, until: int, group_by: str
) -> list[list[Any]]:
    """``[label, total]`` over the range, largest first."""
    series = storage.series(measurement, field, since, until, group_by=group_by, aggregate="sum", points=1)
    rows = [[label, round(sum(v for _, v in points))] for label, points in series.items()]
    return sorted(rows, key=lambda row: -row[1])


def _ratio(hits: dict[str, Any], lookups: dict[str, Any]) -> dict[str, Any]:
    series = {}
    for label, points in hits["series"].items():
        total = dict((t, v) for t, v in lookups["series"].get(label, []))
        series[label] = [[t, round(100 * v / total[t], 2)] for t, v in points if total.get(t)]
    return {"title": "Cache hit ratio", "unit": "%", "series": series}


def site(storage: Reader, since: int, until: int, search: str = "") -> dict[str, Any]:
    hits = chart(storage, "", "cache", "hits", since, until, aggregate="max")
    lookups = chart(storage, "", "cache", "lookups", since, until, aggregate="max")
    return {
        "charts": [
            chart(storage, "Memory allocated", "mem", "allocated", since, until, unit="MB"),
            chart(storage, "Memory free", "mem", "free", since, until, unit="MB"),
            chart(storage, "CPU", "cpu", "total", since, until, unit="%"),
            chart(storage, "Engine sessions", "session", "active", since, until),
            chart(storage, "Engine users", "users", "active", since, until),
            _ratio(hits, lookups),
            chart(storage, "Apps active", "apps", "active_docs_count", since, until),
            chart(storage, "Apps loaded", "apps", "loaded_docs_count", since, until),
            chart(storage, "Apps in memory", "apps", "in_memory_docs_count", since, until),
            chart(storage, "Saturated", "saturated", "saturated", since, until, aggregate="max"),
        ],
        "nodes": storage.latest("cpu", "total", until - RECENT_NS, group_by="server_name"),
    }


def users(storage: Reader, since: int, until: int, search: str = "") -> dict[str, Any]:
    now = storage.latest(
        "user_session_summary", "session_count", until - RECENT_NS, group_by="user_session_virtual_proxy"
    )
    return {
        "now": [[proxy, round(count)] for proxy, count in now.items()],
        "charts": [
            chart(
                storage,
                "Proxy sessions per virtual proxy",
                "user_session_summary",
                "session_count",
                since,
                until,
                group_by="user_session_virtual_proxy",
            ),
            chart(storage, "Engine users per node", "users", "active", since, until),
            chart(
                storage,
                "Session and connection events",
                "user_events",
                "count",
                since,
                until,
                group_by="event_action",
                aggregate="sum",
            ),
        ],
        "top_apps": [[name, count] for name, count, _ in storage.top("user", "name", since, until)],
        "browsers": totals(storage, "user_events", "count", since, until, "browser"),
        "os": totals(storage, "user_events", "count", since, until, "os"),
    }


def logs(storage: Reader, since: int, until: int, search: str = "") -> dict[str, Any]:
    return {
        "charts": [
            chart(
                storage,
                "Errors and warnings by level",
                "log",
                "count",
                since,
                until,
                group_by="level",
                aggregate="sum",
            ),
            chart(storage, "By service", "log", "count", since, until, group_by="source", aggregate="sum"),
            chart(storage, "By node", "log", "count", since, until, group_by="host", aggregate="sum"),
        ],
        "categories": totals(storage, "log", "count", since, until, "category"),
        "latest": storage.entries("log", since, until, search=search, limit=100),
        "slowest": [[n, c, v] for n, c, v in storage.top("qix", "name", since, until, order="max", limit=15)],
        "busiest": [[n, c, v] for n, c, v in storage.top("qix", "name", since, until, limit=15)],
    }


FAILED = ("failure", "failed", "aborted", "abort")


def reloads(storage: Reader, since: int, until: int, search: str = "") -> dict[str, Any]:
    return {
        "charts": [
            chart(
                storage, "Task results", "task", "count", since, until, group_by="outcome", aggregate="sum"
            ),
            chart(
                storage,
                "Reload durations (success)",
                "reload",
                "duration_s",
                since,
                until,
                group_by="source",
                unit="s",
            ),
        ],
        "recent": storage.entries("task", since, until, search=search, limit=50),
        "failures": storage.entries("reload", since, until, levels=FAILED, search=search, limit=20),
        "failed_tasks": storage.entries("task", since, until, levels=FAILED, limit=20),
        "alerts": storage.entries("alert", since, until, search=search, limit=20),
    }


def services(storage: Reader, since: int, until: int, search: str = "") -> dict[str, Any]:
    states = storage.latest("service", "running", until - RECENT_NS, group_by="service")
    expiry = storage.latest("qlik_sense_server_license", "days_until_expiry", since)
    return {
        "states": [[service, "running" if up else "stopped"] for service, up in states.items()],
        "changes": storage.entries("service", since, until, search=search, limit=50),
        "restarts": storage.entries("restart", since, until, search=search, limit=20),
        "days_to_expiry": next(iter(expiry.values()), None),
        "charts": [
            chart(
                storage,
                "Licences used",
                "qlik_sense_license",
                "used",
                since,
                until,
                group_by="license_type",
                aggregate="max",
            ),
        ],
        "poll_failures": storage.entries("poll_failed", since, until, search=search, limit=50),
    }


def api_state(storage: Reader, since: int, until: int, search: str = "") -> dict[str, Any]:
    """With the REST API on, the dashboard serves this page from ``api_state.ApiState`` instead."""
    return {"off": ["the REST API (api.enable)"]}


def pipeline(storage: Reader, since: int, until: int, search: str = "") -> dict[str, Any]:
    charts = [
        chart(
            storage, f"Sink {name}", "sensebutler_sink", name, since, until, group_by="sink", aggregate="max"
        )
        for name in ("delivered", "spooled", "dropped", "queued")
    ]
    for queue in ("log_events", "user_events", "task_events"):
        for name, title in (
            ("messages_received", "received"),
            ("messages_malformed", "malformed"),
            ("kernel_drops", "kernel drops"),
            ("messages_dropped_total", "dropped"),
        ):
            charts.append(
                chart(
                    storage,
                    f"UDP {queue.replace('_', ' ')}: {title}",
                    f"{queue}_queue",
                    name,
                    since,
                    until,
                    group_by="host",
                    aggregate="max",
                )
            )
    held = storage.counts()
    size = storage.size_bytes()
    if size is not None:
        held["bytes"] = size
    return {"charts": [c for c in charts if c["series"]], "store": held}


PAGES: dict[str, tuple[str, Page]] = {
    "site": ("Site", site),
    "users": ("Users", users),
    "logs": ("Logs", logs),
    "reloads": ("Reloads", reloads),
    "services": ("Services and licences", services),
    "api": ("API state", api_state),
    "pipeline": ("Pipeline", pipeline),
}
