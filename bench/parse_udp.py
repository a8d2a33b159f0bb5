"""Micro-benchmark of the UDP parsers: datagrams parsed per second and core, per kind.

Datagrams are realistic: timestamps advance a few rows per millisecond, sessions and apps repeat,
messages come from real Qlik Sense WARN/ERROR rows, user agents from a small pool of browsers.
Also ``mix_parse_encode_per_s``: parse + InfluxDB encode (``InfluxMapping.encode``, v1) of the
realistic mix of ``bench/udp_ingest.py`` (50 % QIX performance), per CPU second. Log and QIX
datagrams go through ``sensebutler.hotpath`` (compiled when built; ``"compiled"`` says which;
``SENSEBUTLER_PURE_PYTHON=1`` measures the pure twin).
Prints one JSON object: ``{"bench": "parse_udp", "<kind>_per_s": ..., ...}``.

    .venv/bin/python bench/parse_udp.py [--count 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.hotpath import COMPILED, parse_log_datagram
from sensebutler.sources.udp import (
    CategoriseConfig,
    Categoriser,
    EnginePerformanceMonitorConfig,
    QixPerfFilter,
    parse_task_datagram,
    parse_user_datagram,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

HOSTS = ["QS-PROD-01", "QS-PROD-02", "QS-PROD-03"]
USERS = [("ACME", f"user{i:03d}") for i in range(50)] + [("INTERNAL", "sa_scheduler")]
MESSAGES = [
    "Access was denied for User: 'ACME\\jdoe'",
    "Duplicate entity with userId 'jdoe' in directory 'ACME'",
    "Failed to request service alive response from https://qs-prod-03:4899/",
    "Task finished with state FinishedFail",
    "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
    "Reload sequence was not successful (Result=False, Finished=True, Aborted=False) for engine connection "
    "with handle 12",
    "Engine is running low on memory; 92% used",
]
METHODS = [
    "GenericObject::GetLayout",
    "Doc::GetAppLayout",
    "Global::OpenApp",
    "GenericObject::GetHyperCubeData",
]
OBJECT_TYPES = ["barchart", "linechart", "sheet", "listbox", "<Unknown>", "map", "table"]
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36 Edg/{v}.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1",
]
CATEGORISE = {
    "enable": True,
    "rules": [
        {"logLevel": ["WARN", "ERROR"], "category": [{"name": "qs_log_category", "value": "access-denied"}],
         "filter": [{"type": "sw", "value": "Access was denied for User:"}]},
        {"logLevel": ["WARN", "ERROR"], "category": [{"name": "qs_log_category", "value": "reload-failed"}],
         "filter": [{"type": "sw", "value": "Task finished with state FinishedFail"},
                    {"type": "ew", "value": "Reload failed in Engine. Check engine or script logs."}]},
        {"logLevel": ["WARN"], "action": "drop", "filter": [{"type": "so", "value": "low on memory"}]},
    ],
}  # fmt: skip
QIX_MONITOR = {
    "enable": True,
    "monitorFilter": {
        "allApps": {"enable": True, "objectType": {"allObjectTypesExclude": ["<Unknown>"]},
                    "method": {"allMethodsExclude": ["Global::OpenApp"]}},
    },
}  # fmt: skip


class Rows:
    """Row numbers and timestamps as an appender produces them: a few rows share each millisecond."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.row = 0
        self.moment = datetime(2024, 1, 15, 9, 0, tzinfo=timezone(timedelta(hours=1)))

    def next(self) -> tuple[str, str, str]:
        self.row = self.row % 9999 + 1
        if self.rng.random() < 0.3:
            self.moment += timedelta(milliseconds=1)
        ms = f"{self.moment.microsecond // 1000:03d}"
        return (
            str(self.row),
            self.moment.strftime("%Y%m%dT%H%M%S.") + ms + "+0100",
            self.moment.strftime("%Y-%m-%d %H:%M:%S,") + ms,
        )


def _guid() -> str:
    return str(uuid.uuid4())


def build(count: int, seed: int = 7) -> dict[str, list[bytes]]:
    rng = random.Random(seed)
    rows = Rows(rng)
    apps = [_guid() for _ in range(40)]
    sessions = [_guid() for _ in range(200)]
    tasks = [_guid() for _ in range(100)]
    out: dict[str, list[bytes]] = {
        "log": [],
        "qix_perf": [],
        "user": [],
        "task": [],
        "engine_reload_failed": [],
    }
    for _ in range(count):
        row, iso, local = rows.next()
        host = rng.choice(HOSTS)
        directory, user_id = rng.choice(USERS)
        message = rng.choice(MESSAGES)
        level = rng.choice(["WARN", "ERROR"])
        head = f"{row};{iso};{local};{level};{host}"
        source = rng.choice(["engine", "proxy", "repository", "scheduler"])
        if source == "engine":
            fields = [f"/qseow-engine/;{head};System.Engine.Engine;ACME\\svc-qlik;{message}",
                      rng.choice(sessions), directory, user_id, iso, _guid(), "14.173.8", iso, "Error",
                      rng.choice(sessions), rng.choice(apps)]  # fmt: skip
        elif source == "scheduler":
            fields = [f"/qseow-scheduler/;{head};System.Scheduler.Scheduler.Slave.Tasks.ReloadTask;ACME\\svc-qlik",
                      message, "", directory, user_id, f"{directory}\\{user_id}", "Reload Sales", "Sales",
                      rng.choice(tasks), rng.choice(apps), _guid()]  # fmt: skip
        else:
            fields = [f"/qseow-{source}/;{head};System.Proxy.Proxy.Core;ACME\\svc-qlik", message, "",
                      directory, user_id, "Authenticate", "403", "Proxy", "/hub"]  # fmt: skip
        out["log"].append(";".join(fields).encode())

        app = rng.choice(apps)
        out["qix_perf"].append(
            (
                f"/qseow-qix-perf/;{head.replace(level, 'INFO', 1)};QixPerformance.Engine.Engine;ACME\\svc-qlik;"
                f"{rng.choice(sessions)};{directory};{user_id};{iso};{rng.choice(sessions)};{app};"
                f"{rng.randrange(1000)};{rng.choice(METHODS)};{rng.uniform(0, 900):.3f};{rng.uniform(0, 800):.3f};"
                f"0;{rng.uniform(0, 5):.3f};{rng.uniform(0, 50):.3f};{rng.randrange(-1, 40)};"
                f"{rng.choice(['rwPjBk', 'YJEpPT', '<Unknown>'])};{rng.randrange(10**7)};{rng.randrange(10**8)};"
                f"{rng.choice(OBJECT_TYPES)}"
            ).encode()
        )

        agent = rng.choice(BROWSERS).format(v=rng.randrange(110, 125))
        kind, command, text = rng.choice(
            [
                ("session", "Start session", f"Start session for user '{directory}\\{user_id}'"),
                ("session", "Stop session", f"Stop session for user '{directory}\\{user_id}'"),
                ("connection", "Open connection", "connection Opened for session 9a8b"),
                ("connection", "Close connection", "connection Closed for session 9a8b"),
            ]
        )
        out["user"].append(
            f"/qseow-proxy-{kind}/;{host};{command};{directory};{user_id};https://qlik.acme.com;"
            f"/app/{app}?reloaduri=https://qlik.acme.com/sense/app/{app};{text} UserAgent: '{agent}'".encode()
        )

        prefix = rng.choice(
            ["/scheduler-task-failed/", "/scheduler-task-aborted/", "/scheduler-task-success//"]
        )
        out["task"].append(
            f"{prefix};{host};Reload Sales;Sales;INTERNAL\\sa_scheduler;{rng.choice(tasks)};{app};{local};INFO;"
            f"{_guid()};Execution State Change to FinishedSuccess".encode()
        )
        out["engine_reload_failed"].append(
            f"/engine-reload-failed/;{host};{app};Sales;{directory};{user_id};{iso};{_guid()};reload failed".encode()
        )
    return out


def _parse_all(parser: Callable[[bytes, int], object], datagrams: list[bytes], received: int) -> None:
    for datagram in datagrams:
        parser(datagram, received)


def rate(work: Callable[[], object], count: int, rounds: int) -> float:
    best = min(_timed(work) for _ in range(rounds))
    return round(count / best)


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def mix_rate(count: int, rounds: int) -> int:
    """Parse + InfluxDB encode of udp_ingest's mix, per CPU second of the fastest round."""
    from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions
    from udp_ingest import templates

    pool = templates(7)
    datagrams = []
    rows = Rows(random.Random(3))
    for i in range(count):
        prefix, rest = pool[i % len(pool)]
        row, iso, local = rows.next()
        datagrams.append(f"{prefix};{row};{iso};{local};{rest}".encode())
    received = time.time_ns()
    best = 0.0
    for _ in range(rounds):
        mapping = InfluxMapping(MappingOptions(version=1))
        started = time.process_time()
        for datagram in datagrams:
            mapping.encode(parse_log_datagram(datagram, received))
        best = max(best, count / max(time.process_time() - started, 1e-9))
    return round(best)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--count", type=int, default=20_000, help="datagrams per kind")
    args.add_argument("--rounds", type=int, default=3, help="best of this many passes")
    options = args.parse_args()
    count, rounds = options.count, options.rounds
    data = build(count)
    received = time.time_ns()
    parsers = {
        "log": parse_log_datagram,
        "qix_perf": parse_log_datagram,
        "user": parse_user_datagram,
        "task": parse_task_datagram,
        "engine_reload_failed": parse_task_datagram,
    }
    result: dict[str, object] = {"bench": "parse_udp"}
    for kind, parser in parsers.items():
        datagrams = data[kind]
        result[f"{kind}_per_s"] = rate(partial(_parse_all, parser, datagrams, received), count, rounds)

    logs = [e for e in (parse_log_datagram(x, received) for x in data["log"]) if isinstance(e, LogEvent)]
    categoriser = Categoriser(CategoriseConfig.model_validate(CATEGORISE))
    result["categorise_per_s"] = rate(lambda: deque(map(categoriser.categorise, logs), 0), len(logs), rounds)
    perf = [
        e for e in (parse_log_datagram(x, received) for x in data["qix_perf"]) if isinstance(e, QixPerfEvent)
    ]
    qix_filter = QixPerfFilter(EnginePerformanceMonitorConfig.model_validate(QIX_MONITOR))
    result["qix_filter_per_s"] = rate(lambda: deque(map(qix_filter.accepts, perf), 0), len(perf), rounds)
    result["mix_parse_encode_per_s"] = mix_rate(count, rounds)
    result["datagrams_per_kind"] = count
    result["compiled"] = COMPILED
    result["python"] = platform.python_version()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
