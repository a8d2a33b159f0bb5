"""Every mapping written through the real sink into a real influxd 1.x and read back with InfluxQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sensebutler.events import Event
from sensebutler.runtime import StartupError
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import InfluxdServer, unique_name
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
from tests.sinks.influxdb.support import fast_delivery, section, sink, wait_delivered
from tests.sinks.output_events import T0_NS, health, scheduler_log_event, server, sessions, user_event

REF = server("central", "qs-central", env="prod")
SERVER_TAGS = {"host", "server_name", "server_description", "env"}
SESSION_TAGS = SERVER_TAGS | {"user_session_virtual_proxy", "user_session_host"}
STR, INT, FLOAT, BOOL = "string", "integer", "float", "boolean"
LOG_BASE_TAGS = {"host", "level", "source", "subsystem"}

#: case → (events, {measurement: (tag keys, {field key: InfluxQL type})})
Expectation = dict[str, tuple[set[str], dict[str, str]]]
CASES: dict[str, tuple[Callable[[], list[Event]], Expectation]] = {
    "health": (
        lambda: [health(REF)],
        {
            "sense_server": (SERVER_TAGS, {"version": STR, "started": STR, "uptime": STR}),
            "mem": (SERVER_TAGS, {"comitted": INT, "allocated": INT, "free": INT}),
            "apps": (
                SERVER_TAGS,
                {
                    **dict.fromkeys(["active_docs_count", "loaded_docs_count", "in_memory_docs_count"], INT),
                    **dict.fromkeys(["calls", "selections"], INT),
                    **{
                        f"{prefix}{suffix}": STR
                        for prefix in ("active", "loaded", "in_memory")
                        for suffix in ("_docs", "_docs_names", "_session_docs_names")
                    },
                },
            ),
            "cpu": (SERVER_TAGS, {"total": INT}),
            "session": (SERVER_TAGS, {"active": INT, "total": INT}),
            "users": (SERVER_TAGS, {"active": INT, "total": INT}),
            "cache": (
                SERVER_TAGS,
                dict.fromkeys(["hits", "lookups", "added", "replaced", "bytes_added"], INT),
            ),
            "saturated": (SERVER_TAGS, {"saturated": BOOL}),
        },
    ),
    "sessions": (
        lambda: [sessions(REF, "/hdr", count=4)],
        {
            "user_session_summary": (SESSION_TAGS, {"session_count": INT, "session_user_id_list": STR}),
            "user_session_list": (SESSION_TAGS, {"session_count": INT, "session_user_id_list": STR}),
            "user_session_details": (
                SESSION_TAGS | {"user_session_user_directory", "user_session_user_id"},
                {"session_id": STR, "user_directory": STR, "user_id": STR},
            ),
        },
    ),
    "poll_failed": (
        lambda: [
            poll_failed(REF, target="sessions", virtual_proxy="/hdr", category="http_5xx", http_status=503)
        ],
        {
            "butler_sos_errors": (
                SERVER_TAGS | {"error_type", "module", "virtual_proxy"},
                {
                    "error_category": STR,
                    "error_code": STR,
                    "error_message": STR,
                    "error_count": FLOAT,
                    "request_url": STR,
                    "http_status": FLOAT,
                    "request_timeout_ms": FLOAT,
                    "duration_ms": FLOAT,
                },
            )
        },
    ),
    "self": (
        lambda: [self_metrics()],
        {
            "butlersos_memory_usage": (
                {"butler_sos_instance", "version"},
                dict.fromkeys(["heap_used", "heap_total", "process_memory", "uptime_s", "cpu_pct"], FLOAT),
            ),
            "sensebutler_sink": (
                {"instance", "sink"},
                dict.fromkeys(
                    [
                        "delivered",
                        "retried",
                        "spooled",
                        "queued",
                        "spool_records",
                        "spool_bytes",
                        "dropped",
                        "dropped_rejected",
                        "values_clamped",
                    ],
                    INT,
                ),
            ),
            "sensebutler_processor": (
                {"instance", "processor"},
                dict.fromkeys(
                    [
                        "received",
                        "processed",
                        "emitted",
                        "failed",
                        "queued",
                        "restarts",
                        "dropped",
                        "dropped_duplicate",
                    ],
                    INT,
                ),
            ),
            "sensebutler_poll": (
                {"instance", "target"},
                {"polls": INT, "failures": INT, "skipped_overlap": INT, "last_ms": FLOAT, "max_ms": FLOAT},
            ),
        },
    ),
    "ingest": (
        lambda: [event_count(), rejected_event_count(), udp_queue()],
        {
            # Butler SOS's v1 writer writes these counters as floats
            "event_count": ({"event_type", "source", "host", "subsystem"}, {"counter": FLOAT}),
            "rejected_event_count": (
                {"source", "app_id", "app_name", "app_name_set", "method", "object_type"},
                {"counter": FLOAT, "process_time": FLOAT},
            ),
            "log_events_queue": (
                {"queue_type", "host"},
                {
                    **dict.fromkeys(
                        ["queue_size", "queue_max_size", "rate_limit_current", "backpressure_active"], FLOAT
                    ),
                    **dict.fromkeys(["messages_received", "messages_queued", "messages_processed"], FLOAT),
                    **dict.fromkeys(["messages_failed", "messages_dropped_total"], FLOAT),
                    **dict.fromkeys(["messages_dropped_rate_limit", "messages_dropped_queue_full"], FLOAT),
                    "messages_dropped_size": FLOAT,
                    **dict.fromkeys(["messages_malformed", "messages_dropped_source_not_allowed"], INT),
                    "kernel_drops": INT,
                    **dict.fromkeys(["queue_utilization_pct", "processing_time_avg_ms"], FLOAT),
                    **dict.fromkeys(["processing_time_p95_ms", "processing_time_max_ms"], FLOAT),
                },
            ),
        },
    ),
    "log": (
        lambda: [scheduler_log_event(), proxy_log_event(), engine_log_event()],
        {
            "log_event": (
                LOG_BASE_TAGS
                | {"qs_log_category", "user_full", "user_directory", "user_id", "task_id", "task_name"}
                | {"result_code", "windows_user", "app_id", "app_name", "engine_exe_version"},
                {
                    **dict.fromkeys(["message", "exception_message", "raw_event", "app_name", "app_id"], STR),
                    **dict.fromkeys(["execution_id", "command", "result_code", "origin", "context"], STR),
                    **dict.fromkeys(["session_id", "proxy_session_id"], STR),
                    "log_row": INT,
                },
            )
        },
    ),
    "qix_perf": (
        lambda: [qix_perf_event()],
        {
            "log_event": (
                LOG_BASE_TAGS
                | {"method", "object_type", "event_activity_source", "user_full", "user_directory", "user_id"}
                | {"app_id", "app_name"},
                {
                    **dict.fromkeys(
                        ["process_time", "work_time", "lock_time", "validate_time", "traverse_time"], FLOAT
                    ),
                    **dict.fromkeys(["handle", "net_ram", "peak_ram", "log_row"], INT),
                    **dict.fromkeys(
                        ["app_id", "session_id", "proxy_session_id", "object_id", "raw_event"], STR
                    ),
                },
            )
        },
    ),
    "user": (
        lambda: [user_event(), user_event("Start session", app_id="", app_name="")],
        {
            "user_events": (
                {"host", "event_action", "userFull", "userDirectory", "userId", "origin", "appId", "appName"}
                | {"uaBrowserName", "uaBrowserMajorVersion", "uaOsName", "uaOsVersion"},
                {"userFull": STR, "userId": STR, "appId": STR, "appName": STR},
            )
        },
    ),
}


def keys(influxd: InfluxdServer, db: str, statement: str, column: str) -> dict[str, str]:
    return {row[column]: row.get("fieldType", "") for row in influxd.query(db, statement)}


async def write(
    tmp_path: Path,
    influxd: InfluxdServer,
    db: str,
    events: list[Event],
    tags: dict[str, str] | None = None,
    **settings: Any,
) -> int:
    """Write ``events`` through a sink built from these ``influxdb:`` settings; returns the record count."""
    settings.setdefault("v1", {"database": db})
    influx = sink(tmp_path, section(influxd.url, **settings), log_event_tags=tags)
    await influx.start()
    try:
        for event in events:
            influx.submit(event)
        records = influx.stats().received
        await wait_delivered(influx, records)
    finally:
        await influx.stop()
    return records


@pytest.mark.parametrize("case", sorted(CASES))
async def test_measurements_tags_and_field_types_in_influxd(
    tmp_path: Path, influxd: InfluxdServer, case: str
) -> None:
    make_events, expected = CASES[case]
    db = unique_name("map")  # the sink creates it
    await write(tmp_path, influxd, db, make_events(), raw_event=True)
    measurements = {row["name"] for row in influxd.query(db, "SHOW MEASUREMENTS")}
    assert measurements == set(expected)
    for measurement, (tags, fields) in expected.items():
        assert set(keys(influxd, db, f'SHOW TAG KEYS FROM "{measurement}"', "tagKey")) == tags, measurement
        assert keys(influxd, db, f'SHOW FIELD KEYS FROM "{measurement}"', "fieldKey") == fields, measurement


async def test_health_values_read_back(tmp_path: Path, influxd: InfluxdServer) -> None:
    db = unique_name("health")
    await write(tmp_path, influxd, db, [health(REF, cpu_total=12.6)], include_fields={"loaded_docs": True})
    (mem,) = influxd.query(db, "SELECT * FROM mem", epoch="ns")
    assert mem == {
        "time": T0_NS,
        "host": "qs-central",
        "server_name": "central",
        "server_description": "central node",
        "env": "prod",
        "comitted": 10240,
        "allocated": 12288,
        "free": 20480,
    }
    (apps,) = influxd.query(db, "SELECT loaded_docs, loaded_docs_names, loaded_session_docs_names FROM apps")
    assert apps["loaded_docs"] == "a1,a2,SessionApp_1"
    assert apps["loaded_docs_names"] == '"Finance","Sales"'
    assert apps["loaded_session_docs_names"] == '"SessionApp_1"'
    (cpu,) = influxd.query(db, "SELECT total FROM cpu")
    assert cpu["total"] == 12  # floored, as Butler SOS's InfluxDB client writes 12.6 into an integer
    (started,) = influxd.query(db, "SELECT uptime FROM sense_server")
    assert started["uptime"] == "5 days, 7h 45m 11s"


async def test_session_details_of_one_user_do_not_overwrite_each_other(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("sessions")
    await write(tmp_path, influxd, db, [sessions(REF, count=4)])
    rows = influxd.query(db, "SELECT session_id, user_session_user_id FROM user_session_details")
    assert sorted((r["user_session_user_id"], r["session_id"][-1]) for r in rows) == [
        ("asmith", "1"),
        ("jdoe", "0"),
        ("jdoe", "2"),
    ]  # sa_scheduler (excluded) has no detail point
    (summary,) = influxd.query(db, "SELECT * FROM user_session_summary")
    assert summary["session_count"] == 4


async def test_many_log_events_in_one_millisecond_all_arrive(tmp_path: Path, influxd: InfluxdServer) -> None:
    db = unique_name("burst")
    events: list[Event] = [qix_perf_event(log_row=-1) for _ in range(300)]
    await write(tmp_path, influxd, db, events)
    (row,) = influxd.query(db, "SELECT count(work_time) FROM log_event")
    assert row["count"] == 300


async def test_negative_counter_is_clamped_counted_and_reported(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("clamp")
    influx = sink(tmp_path, section(influxd.url, v1={"database": db}), fast_delivery(batch_size=4))
    await influx.start()
    influx.submit(health(REF, cache_bytes_added=-2068853448))
    await wait_delivered(influx, 8)
    assert influx.clamped == {"cache.bytes_added": 1}
    assert influx.values_clamped == 1
    influx.submit(self_metrics())
    await wait_delivered(influx, 8 + 4)
    await influx.stop()
    (cache,) = influxd.query(db, "SELECT bytes_added FROM cache")
    assert cache["bytes_added"] == 0
    (row,) = influxd.query(db, "SELECT values_clamped FROM sensebutler_sink WHERE sink = 'influxdb'")
    assert row["values_clamped"] == 1


async def test_hostile_strings_round_trip(tmp_path: Path, influxd: InfluxdServer) -> None:
    db = unique_name("hostile")
    message = 'He said "no" \\ C:\\temp\\ and then\nleft, a=b; tab\tend'
    subsystem = 'Sys tem,Engine=x "q" \\back'
    event = engine_log_event(message=message, subsystem=subsystem, user_full="D\\u ser,=")
    await write(tmp_path, influxd, db, [event], tags={"site name": "Stock holm,=1"})
    (row,) = influxd.query(db, "SELECT * FROM log_event")
    assert row["message"] == message.replace("\n", "\\n")
    assert row["subsystem"] == subsystem
    assert row["user_full"] == "D\\u ser,="
    assert row["site name"] == "Stock holm,=1"


# -- v1 database bootstrap ---------------------------------------------------------------------------------


def admin(influxd: InfluxdServer, statement: str) -> None:
    response = httpx.post(f"{influxd.url}/query", data={"q": statement}, trust_env=False)
    assert response.status_code == 200 and "error" not in response.text, response.text


def retention_policies(influxd: InfluxdServer, db: str) -> dict[str, tuple[str, bool]]:
    rows = influxd.query(db, f'SHOW RETENTION POLICIES ON "{db}"')
    return {row["name"]: (row["duration"], row["default"]) for row in rows}


async def test_bootstrap_creates_database_and_default_retention_policy_idempotently(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("boot")
    config = section(
        influxd.url, v1={"database": db, "retention_policy": {"name": "two_weeks", "duration": "2w"}}
    )
    for _ in range(2):  # the second start finds everything in place
        influx = sink(tmp_path, config)
        await influx.start()
        influx.submit(health(REF, time_ns=time.time_ns()))
        await wait_delivered(influx, 8)
        await influx.stop()
    assert retention_policies(influxd, db)["two_weeks"] == ("336h0m0s", True)
    rows = influxd.query(db, 'SELECT count(total) FROM "two_weeks"."cpu"')
    assert rows[0]["count"] == 2


async def test_bootstrap_leaves_an_existing_retention_policy_alone(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("keep")
    influxd.create_database(db)
    admin(influxd, f'CREATE RETENTION POLICY "10d" ON "{db}" DURATION 30d REPLICATION 1')
    settings = {"database": db, "retention_policy": {"name": "10d", "duration": "10d"}}
    await write(tmp_path, influxd, db, [health(REF, time_ns=time.time_ns())], v1=settings)
    policies = retention_policies(influxd, db)
    assert policies["10d"] == ("720h0m0s", False)
    assert policies["autogen"][1] is True
    assert influxd.query(db, 'SELECT count(total) FROM "10d"."cpu"')[0]["count"] == 1


async def test_without_a_retention_policy_name_writes_go_to_the_default_one(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("nopolicy")
    await write(tmp_path, influxd, db, [health(REF)], v1={"database": db, "retention_policy": {"name": ""}})
    assert set(retention_policies(influxd, db)) == {"autogen"}
    assert influxd.query(db, 'SELECT count(total) FROM "autogen"."cpu"')[0]["count"] == 1


async def test_a_retention_policy_influxd_refuses_is_a_startup_error(
    tmp_path: Path, influxd: InfluxdServer
) -> None:
    db = unique_name("badrp")
    # a duration shorter than InfluxDB's minimum (1 h)
    config = section(influxd.url, v1={"database": db, "retention_policy": {"name": "tiny", "duration": "1m"}})
    influx = sink(tmp_path, config)
    with pytest.raises(StartupError, match=r"tiny|duration"):
        await influx.start()


# -- influxd down --------------------------------------------------------------------------------------------


async def test_influxd_stopped_mid_stream_every_point_arrives_after_restart(
    tmp_path: Path, influxd_factory: Callable[[], InfluxdServer]
) -> None:
    server_ = influxd_factory()
    db = unique_name("restart")
    influx = sink(tmp_path, section(server_.url, v1={"database": db}), fast_delivery(send_timeout_s=1.0))
    await influx.start()
    total = 60

    def sample(i: int) -> Event:
        return health(REF, time_ns=T0_NS + i * 1_000_000_000, calls=i)

    for i in range(20):
        influx.submit(sample(i))
    await wait_delivered(influx, 20 * 8)
    await asyncio.to_thread(server_.stop)
    for i in range(20, 40):
        influx.submit(sample(i))
        await asyncio.sleep(0.01)
    stats = influx.stats()
    await async_wait_until(lambda: stats.spool_records > 0, 10.0, "records in the spool")
    await asyncio.to_thread(server_.start)
    for i in range(40, total):
        influx.submit(sample(i))
    await wait_delivered(influx, total * 8, timeout=20.0)
    await influx.stop()
    rows = server_.query(db, "SELECT calls FROM apps", epoch="ns")
    assert [row["calls"] for row in rows] == list(range(total))
    assert [row["time"] for row in rows] == [T0_NS + i * 1_000_000_000 for i in range(total)]
    assert stats.spooled > 0
    assert stats.retried > 0
    assert stats.delivered == stats.received == total * 8
    assert not stats.dropped
    assert stats.spool_records == 0


async def test_influxd_unreachable_at_startup_does_not_fail_and_the_database_is_created_later(
    tmp_path: Path, influxd_factory: Callable[[], InfluxdServer]
) -> None:
    server_ = influxd_factory()
    await asyncio.to_thread(server_.stop)
    db = unique_name("late")
    influx = sink(tmp_path, section(server_.url, v1={"database": db}), fast_delivery(send_timeout_s=1.0))
    await influx.start()  # logs a warning, no exception
    influx.submit(health(REF))
    stats = influx.stats()
    await async_wait_until(lambda: stats.spool_records == 8, 10.0, "spooled records")
    await asyncio.to_thread(server_.start)
    await wait_delivered(influx, 8, timeout=20.0)
    await influx.stop()
    assert server_.query(db, "SELECT count(total) FROM cpu")[0]["count"] == 1
    assert retention_policies(server_, db)["forever"] == ("0s", True)
