"""Field types: docs/influxdb.md's table is the code's, and an existing Butler SOS database takes our points.

A field's type is fixed once written: a point whose field has another type is refused with ``400
partial write: field type conflict``. So these tests write Butler SOS-typed points into a real
influxd first (``butler_sos_points.py``), then sensebutler's, and require that nothing is dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.simulator.send_udp import send_async
from sensebutler.sinks.influxdb.schema import FIELDS, VERSIONS, output_type
from sensebutler.sinks.influxdb.sink import InfluxSink
from tests.fixtures.net import free_udp_port
from tests.fixtures.servers import InfluxdServer, unique_name
from tests.fixtures.service import eventually, running
from tests.sinks.influxdb.butler_sos_points import BUTLER_SOS_V1_LINES
from tests.sinks.influxdb.events import (
    engine_log_event,
    event_count,
    poll_failed,
    proxy_log_event,
    qix_perf_event,
    rejected_event_count,
    self_metrics,
    udp_queue,
)
from tests.sinks.influxdb.support import section, sink, wait_delivered
from tests.sinks.output_events import T0_NS, health, scheduler_log_event, server, sessions, user_event

DOCS = Path(__file__).parents[3] / "docs" / "influxdb.md"
#: docs' type words → schema.py's
TYPE_WORDS = {"integer": "int", "unsigned": "uint", "float": "float", "string": "string", "boolean": "bool"}
QUEUES = ("log_events_queue", "user_events_queue", "task_events_queue")
#: the database's default retention policy, which Butler SOS's points below land in too
DEFAULT_POLICY = {"name": "", "duration": "INF"}


def documented_types() -> dict[tuple[str, str], tuple[str, str, str]]:
    """(measurement, field) → InfluxDB type words for v1, v2, v3, from the docs' table."""
    text = DOCS.read_text()
    table = text[text.index("### Field types per version") :]
    table = table[: table.index("\n## ")]
    types: dict[tuple[str, str], tuple[str, str, str]] = {}
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        (measurement,) = re.findall(r"`([^`]+)`", cells[0])
        measurements = QUEUES if measurement == "*_events_queue" else (measurement,)
        for name in re.findall(r"`([^`]+)`", cells[1]):
            for each in measurements:
                assert (each, name) not in types, f"{each}.{name} twice in the docs"
                types[(each, name)] = (cells[2], cells[3], cells[4])
    assert types, "no field-type table found in docs/influxdb.md"
    return types


def test_the_docs_table_is_the_schema() -> None:
    documented = documented_types()
    in_code = {(measurement, name) for measurement, fields in FIELDS.items() for name in fields}
    assert set(documented) == in_code
    for (measurement, name), words in documented.items():
        for version, word in zip(VERSIONS, words, strict=True):
            assert TYPE_WORDS[word] == output_type(measurement, name, version), (measurement, name, version)


def every_kind_of_event() -> list[Event]:
    ref = server("central", "qs-central", env="prod")
    return [
        health(ref, cpu_total=95.7, mem_committed=10649.6),
        sessions(ref, "/", count=2),
        poll_failed(ref, target="sessions", virtual_proxy="/", category="http_5xx", http_status=503),
        poll_failed(ref, category="tls_error", error_code="ECONNRESET"),
        self_metrics(),
        event_count(),
        rejected_event_count(),
        udp_queue(),
        udp_queue(queue_type="user_events"),
        scheduler_log_event(),
        proxy_log_event(),
        engine_log_event(),
        qix_perf_event(),
        user_event(),
    ]


def write_butler_sos_points(influxd: InfluxdServer, db: str, time_ns: int | None) -> None:
    """Butler SOS's points, into the database's default retention policy (the shard ours go to)."""
    stamp = f" {time_ns}" if time_ns is not None else ""
    response = httpx.post(
        f"{influxd.url}/write",
        params={"db": db, "precision": "ns"},
        content="\n".join(line + stamp for line in BUTLER_SOS_V1_LINES).encode(),
        timeout=10.0,
        trust_env=False,
    )
    assert response.status_code == 204, response.text


def field_types(influxd: InfluxdServer, db: str) -> dict[tuple[str, str], str]:
    types: dict[tuple[str, str], str] = {}
    for measurement in (row["name"] for row in influxd.query(db, "SHOW MEASUREMENTS")):
        for row in influxd.query(db, f'SHOW FIELD KEYS FROM "{measurement}"'):
            types[(measurement, row["fieldKey"])] = row["fieldType"]
    return types


async def test_every_point_goes_into_a_butler_sos_database_with_the_documented_v1_types(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("bsos")
    influx = sink(tmp_path, section(influxd.url, v1={"database": db, "retention_policy": DEFAULT_POLICY}))
    await influx.start()  # creates the database
    try:
        write_butler_sos_points(influxd, db, T0_NS - 1_000_000)
        for event in every_kind_of_event():
            influx.submit(event)
        await wait_delivered(influx, influx.stats().received)  # fails on any dropped (rejected) batch
    finally:
        await influx.stop()
    stored = field_types(influxd, db)
    documented = documented_types()
    checked = 0
    for (measurement, name), influx_type in stored.items():
        words = documented.get((measurement, name))
        if words is not None:
            assert influx_type == words[0], f"{measurement}.{name}: stored {influx_type}, docs say {words[0]}"
            checked += 1
    assert checked >= 80
    (cpu,) = influxd.query(db, "SELECT total FROM cpu WHERE server_name = 'central'")
    (mem,) = influxd.query(db, "SELECT comitted FROM mem WHERE server_name = 'central'")
    assert (cpu["total"], mem["comitted"]) == (95, 10649)  # floored, as Butler SOS


def udp_config(tmp_path: Path, influxd: InfluxdServer, db: str, ports: tuple[int, int]) -> Config:
    listener: dict[str, Any] = {"enable": True, "host": "127.0.0.1", "receive_buffer_mb": 1}
    return Config.model_validate(
        {
            "state": {"dir": str(tmp_path / "state")},
            "delivery": {"flush_interval_s": 0.1},
            "udp": {
                "metrics": {"interval_s": 1, "event_count_tags": {"qs_env": "test"}},
                "log_events": {
                    **listener,
                    "port": ports[0],
                    "queue_tags": {"qs_env": "test"},
                    "categorise": {"enable": True},
                    "engine_performance_monitor": {
                        "enable": True,
                        "track_rejected_events": {
                            "enable": True,
                            "tags": [{"name": "qs_env", "value": "test"}],
                        },
                        "monitor_filter": {"all_apps": {"enable": True}},
                    },
                },
                "user_events": {**listener, "port": ports[1]},
                "task_events": {"enable": False},
            },
            "influxdb": {
                "enable": True,
                "url": influxd.url,
                "v1": {"database": db, "retention_policy": DEFAULT_POLICY},
            },
        }
    )


async def test_udp_inputs_write_into_a_butler_sos_database_without_a_type_conflict(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("bsos_udp")
    influxd.create_database(db)
    write_butler_sos_points(influxd, db, None)  # stamped now, like Butler SOS's: the shard ours go to
    ports = (free_udp_port(), free_udp_port())
    async with running(udp_config(tmp_path, influxd, db, ports)) as runtime:
        for kind in ("engine", "proxy", "repository", "scheduler", "qix-perf"):
            await send_async(f"127.0.0.1:{ports[0]}", kind, count=3)
        for kind in ("user-session", "user-connection"):
            await send_async(f"127.0.0.1:{ports[1]}", kind, count=3)

        def written(measurement: str, where: str) -> bool:
            return bool(influxd.query(db, f'SELECT * FROM "{measurement}" WHERE {where}'))

        (influx,) = [s for s in runtime.router.sinks if isinstance(s, InfluxSink)]
        stats = influx.stats()
        await eventually(lambda: written("event_count", "qs_env = 'test'"), what=f"event counts {stats}")
        await eventually(lambda: written("log_events_queue", "qs_env = 'test'"), what="log queue metrics")
        await eventually(lambda: written("user_events_queue", "host != ''"), what="user queue metrics")
        await eventually(
            lambda: written("log_event", "source = 'qseow-qix-perf' AND log_row > 0"), what="qix"
        )
        await eventually(lambda: written("user_events", "uaBrowserName != ''"), what="user events")
        await eventually(lambda: stats.delivered >= 20 and stats.queued == 0, what="deliveries")
        assert not stats.dropped, f"points dropped: {stats}"
    # QIX performance points carry the default category, as Butler SOS's
    assert influxd.query(
        db, "SELECT * FROM log_event WHERE source = 'qseow-qix-perf' AND qs_log_category = 'unknown'"
    )
    stored = field_types(influxd, db)
    assert stored[("event_count", "counter")] == "float"
    assert stored[("log_events_queue", "queue_size")] == "float"


def test_the_butler_sos_fixture_writes_floats_where_butler_sos_does() -> None:
    # no integer suffix in the measurements Butler SOS's v1 writer declares no types for
    undeclared = ("event_count", "rejected_event_count", "_events_queue", "butler_sos_errors")
    for line in BUTLER_SOS_V1_LINES:
        if any(name in line.split(" ", 1)[0] for name in undeclared):
            assert not re.search(r"=\d+i\b", line), line
