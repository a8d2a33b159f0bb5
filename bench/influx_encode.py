"""Micro-benchmark of the InfluxDB encoder: events mapped and rendered to line protocol per second.

Measures ``InfluxMapping.encode`` (event → points → line protocol bytes), the whole per-event cost
the InfluxDB sink adds, per CPU second of one core, for health samples (8 points each), log events
(default settings, and with ``raw_event: true``), QIX performance events and user events. When
``influxdb-client`` is installed (a test-only dependency) the same log events are also serialised
with its ``Point`` for comparison.
Prints one JSON object per InfluxDB version:
``{"bench": "influx_encode", "version": 1, "health_points_per_s": ..., "log_events_per_s": ..., ...}``.

    .venv/bin/python bench/influx_encode.py [--count 20000] [--rounds 3] [--versions 1 2 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from sensebutler.events import Event
from sensebutler.events.polled import HealthSample, ServerRef
from sensebutler.events.udp import LogEvent, QixPerfEvent, UserEvent
from sensebutler.hotpath import COMPILED
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions

T0_NS = 1_705_311_912_123_000_000
HOSTS = [f"QS-PROD-{i:02d}" for i in range(1, 6)]
USERS = [("ACME", f"user{i:03d}") for i in range(200)]
APPS = [(f"{i:08x}-1111-2222-3333-444444444444", f"App number {i}") for i in range(50)]
MESSAGES = [
    "Access was denied for User: 'ACME\\jdoe'",
    'Failed to request service alive response from https://qs-prod-03:4899/ "timeout"',
    "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
    "Document was not saved: access denied; path C:\\ProgramData\\Qlik\\Sense\\Apps",
]
METHODS = ["Doc::GetObject", "GenericObject::GetLayout", "Global::OpenApp", "GenericObject::GetHyperCubeData"]


def servers(count: int) -> list[ServerRef]:
    return [
        ServerRef(f"node{i}", f"qs-node{i}", f"Node {i}", (("env", "prod"), ("site", f"site-{i % 3}")))
        for i in range(count)
    ]


def health_samples(rng: random.Random, count: int) -> list[Event]:
    refs = servers(20)
    app_names = dict(APPS)
    return [
        HealthSample(
            time_ns=T0_NS + i * 1_000_000,
            server=refs[i % len(refs)],
            version="14.173.8",
            started="20240110T030001.000+0100",
            mem_committed=rng.uniform(1000, 60000),
            mem_allocated=rng.uniform(1000, 60000),
            mem_free=rng.uniform(1000, 60000),
            cpu_total=rng.uniform(0, 100),
            session_active=rng.randrange(100),
            session_total=rng.randrange(200),
            active_docs=tuple(app for app, _ in APPS[: rng.randrange(10)]),
            loaded_docs=tuple(app for app, _ in APPS[: rng.randrange(20)]),
            in_memory_docs=tuple(app for app, _ in APPS[: rng.randrange(30)]),
            calls=rng.randrange(10**9),
            selections=rng.randrange(10**8),
            users_active=rng.randrange(100),
            users_total=rng.randrange(500),
            cache_hits=rng.randrange(10**7),
            cache_lookups=rng.randrange(10**7),
            cache_added=rng.randrange(10**6),
            cache_replaced=rng.randrange(10**5),
            cache_bytes_added=rng.randrange(10**9),
            saturated=rng.random() < 0.05,
            app_names=app_names,
        )
        for i in range(count)
    ]


def log_events(rng: random.Random, count: int) -> list[Event]:
    events: list[Event] = []
    for i in range(count):
        directory, user = rng.choice(USERS)
        app_id, app_name = rng.choice(APPS)
        source = rng.choice(["engine", "proxy", "repository", "scheduler"])
        events.append(
            LogEvent(
                time_ns=T0_NS + i * 250_000,
                source=source,  # type: ignore[arg-type]
                log_row=i,
                ts_iso="2024-01-15T10:45:12.123+0100",
                ts_local="2024-01-15 10:45:12,123",
                level=rng.choice(["WARN", "ERROR"]),
                host=rng.choice(HOSTS),
                subsystem=f"System.{source.title()}.Component{rng.randrange(5)}",
                windows_user="ACME\\qlikservice",
                message=rng.choice(MESSAGES),
                user_directory=directory,
                user_id=user,
                user_full=f"{directory}\\{user}",
                command="Login" if source == "proxy" else "",
                result_code="403" if source == "proxy" else "",
                task_name=f"Reload {app_name}" if source == "scheduler" else "",
                app_name=app_name,
                task_id="dec2a02a-1680-44ef-8dc2-e2bfb180af87" if source == "scheduler" else "",
                app_id=app_id,
                execution_id="4831c6a5-34f6-45bb-9d40-73a6e6992670" if source == "scheduler" else "",
                categories=(("qs_log_category", "unknown"),),
            )
        )
    return events


def qix_events(rng: random.Random, count: int) -> list[Event]:
    events: list[Event] = []
    for i in range(count):
        directory, user = rng.choice(USERS)
        app_id, app_name = rng.choice(APPS)
        events.append(
            QixPerfEvent(
                time_ns=T0_NS + i * 250_000,
                log_row=i,
                level="INFO",
                host=rng.choice(HOSTS),
                subsystem="QixPerformance.Engine.Engine",
                proxy_session_id="6bd0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1aa",
                user_directory=directory,
                user_id=user,
                user_full=f"{directory}\\{user}",
                session_id="77d0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1bb",
                app_id=app_id,
                app_name=app_name,
                request_id=i,
                method=rng.choice(METHODS),
                process_time=rng.uniform(0, 500),
                work_time=rng.uniform(0, 500),
                lock_time=rng.uniform(0, 5),
                validate_time=rng.uniform(0, 5),
                traverse_time=rng.uniform(0, 50),
                handle=rng.randrange(1, 50),
                object_id=f"obj{rng.randrange(1000)}",
                net_ram=rng.randrange(10**6),
                peak_ram=rng.randrange(10**7),
                object_type=rng.choice(["barchart", "table", "kpi", "filterpane"]),
            )
        )
    return events


def user_events(rng: random.Random, count: int) -> list[Event]:
    events: list[Event] = []
    for i in range(count):
        directory, user = rng.choice(USERS)
        app_id, app_name = rng.choice(APPS)
        events.append(
            UserEvent(
                time_ns=T0_NS + i * 250_000,
                message_type="qseow-proxy-session",
                host=rng.choice(HOSTS),
                command=rng.choice(["Start session", "Stop session", "Open connection", "Close connection"]),
                user_directory=directory,
                user_id=user,
                user_full=f"{directory}\\{user}",
                origin="https://qlik.acme.com",
                context=f"/app/{app_id}",
                app_id=app_id,
                app_name=app_name,
                ua_browser_name="Chrome",
                ua_browser_major="120",
                ua_os_name="Windows",
                ua_os_version="10",
            )
        )
    return events


def best_rate(work: Callable[[], int], rounds: int) -> float:
    """Items per CPU second of the fastest round (``work`` returns how many items it did).

    CPU time of this process, not wall time, so other load on the machine does not count."""
    best = 0.0
    for _ in range(rounds):
        started = time.process_time()
        done = work()
        best = max(best, done / max(time.process_time() - started, 1e-9))
    return best


def encode_all(mapping: InfluxMapping, events: Sequence[Event], per_event: int = 1) -> Callable[[], int]:
    def work() -> int:
        encode = mapping.encode
        for event in events:
            encode(event)
        return len(events) * per_event

    return work


def oracle_log_events(events: Sequence[Event]) -> Callable[[], int] | None:
    """The same log events through influxdb-client's Point (tags and fields of our mapping)."""
    try:
        from influxdb_client import Point
    except ImportError:
        return None
    mapping = InfluxMapping(MappingOptions(version=1))
    points = [point for event in events for point in mapping.points(event)]

    def work() -> int:
        for point in points:
            Point.from_dict(
                {
                    "measurement": point.measurement,
                    "tags": point.tags,
                    "fields": point.fields,
                    "time": point.time_ns,
                }
            ).to_line_protocol()
        return len(points)

    return work


def run(version: int, count: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(42)
    options = MappingOptions(
        version=version,
        include_docs=frozenset({"active_docs", "loaded_docs", "in_memory_docs"}),
        instance="bench",
    )
    result: dict[str, Any] = {"bench": "influx_encode", "version": version, "count": count}
    result["health_points_per_s"] = round(
        best_rate(encode_all(InfluxMapping(options), health_samples(rng, count // 8), 8), rounds)
    )
    logs = log_events(rng, count)
    result["log_events_per_s"] = round(best_rate(encode_all(InfluxMapping(options), logs), rounds))
    with_raw = InfluxMapping(dataclasses.replace(options, raw_event=True))
    result["log_events_raw_event_per_s"] = round(best_rate(encode_all(with_raw, logs), rounds))
    result["qix_perf_events_per_s"] = round(
        best_rate(encode_all(InfluxMapping(options), qix_events(rng, count)), rounds)
    )
    result["user_events_per_s"] = round(
        best_rate(encode_all(InfluxMapping(options), user_events(rng, count)), rounds)
    )
    oracle = oracle_log_events(logs) if version == 1 else None
    if oracle is not None:
        result["influxdb_client_log_events_per_s"] = round(best_rate(oracle, rounds))
    result["compiled"] = COMPILED
    result["python"] = platform.python_version()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20_000, help="events per kind and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per kind; the fastest counts")
    parser.add_argument("--versions", type=int, nargs="+", default=[1], choices=[1, 2, 3])
    args = parser.parse_args()
    for version in args.versions:
        print(json.dumps(run(version, args.count, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
