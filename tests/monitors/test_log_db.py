"""The legacy log database: a real PostgreSQL with a ``log_entries`` table made here, rows into influxd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from sensebutler.config import Config
from sensebutler.events.monitors import LogDbEntry
from sensebutler.monitors.log_db import LogDbMonitor, message_of
from sensebutler.monitors.schedule import MonitorRunner
from sensebutler.sinks.mqtt.config import MqttSection
from sensebutler.sinks.mqtt.topics import TopicMap
from tests.fixtures.servers import InfluxdServer, PostgresServer, unique_name
from tests.fixtures.service import eventually, running

TABLE = """
CREATE TABLE public.log_entries (
    id serial PRIMARY KEY,
    entry_timestamp timestamp without time zone NOT NULL DEFAULT (now() at time zone 'utc'),
    entry_level text NOT NULL,
    process_host text NOT NULL,
    process_name text NOT NULL,
    payload json NOT NULL
)"""


async def _database(postgres: PostgresServer) -> str:
    name = unique_name("qlogs")
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = 'qlogs_reader'"):
            await admin.execute("CREATE ROLE qlogs_reader LOGIN PASSWORD 'secret'")
    finally:
        await admin.close()
    db = await asyncpg.connect(f"postgresql://postgres@{postgres.host}:{postgres.port}/{name}")
    try:
        await db.execute(TABLE)
        await db.execute("GRANT SELECT ON public.log_entries TO qlogs_reader")
    finally:
        await db.close()
    return name


async def _insert(postgres: PostgresServer, database: str, *rows: tuple[str, str, str, str]) -> None:
    db = await asyncpg.connect(f"postgresql://postgres@{postgres.host}:{postgres.port}/{database}")
    try:
        await db.executemany(
            "INSERT INTO public.log_entries (entry_level, process_host, process_name, payload) "
            "VALUES ($1, $2, $3, json_build_object('Message', $4::text))",
            rows,
        )
    finally:
        await db.close()


def _config(
    postgres: PostgresServer, database: str, influxd: InfluxdServer, influx_db: str, state: Path
) -> Config:
    data: dict[str, Any] = {
        "state": {"dir": str(state)},
        "qlik": {
            "server_tags": ["site"],
            "servers": [{"name": "Central", "host": "qlikserver1.lab.example.com", "tags": {"site": "lab"}}],
        },
        "self_metrics": {"enable": False},
        "delivery": {"flush_interval_s": 0.05},
        "influxdb": {"enable": True, "url": influxd.url, "v1": {"database": influx_db}},
        "monitors": {
            "log_db": {
                "enable": True,
                "host": postgres.host,
                "port": postgres.port,
                "database": database,
                "password": "secret",
                "ssl": "disable",
                "frequency": 0.3,
            }
        },
    }
    return Config.model_validate(data)


def _monitor(runtime: Any) -> tuple[MonitorRunner, LogDbMonitor]:
    runner = next(c for c in runtime.components if isinstance(c, MonitorRunner))
    return runner, next(c for c in runner.checks if isinstance(c, LogDbMonitor))


async def test_rows_arrive_in_influxdb_once_each_across_a_restart(
    postgres: PostgresServer, influxd: InfluxdServer, influx_db: str, tmp_path: Path
) -> None:
    database = await _database(postgres)
    await _insert(
        postgres,
        database,
        ("ERROR", "qlikserver1", "engine", "first error"),
        ("WARN", "qlikserver1", "proxy", "a warning"),
        ("INFO", "qlikserver1", "engine", "not wanted"),
    )
    config = _config(postgres, database, influxd, influx_db, tmp_path / "state")

    def rows() -> list[dict[str, Any]]:
        return influxd.query(influx_db, "SELECT * FROM log_event_logdb")

    async with running(config) as runtime:
        found = await eventually(lambda: len(rows()) >= 2, what="the first two rows in influxd")
        runner, monitor = _monitor(runtime)
        runs = runner.runs["log_db"]
        await eventually(lambda: runner.runs["log_db"] >= runs + 2, what="two more checks")
        assert monitor.read == 2
    found = rows()
    assert sorted((r["entry_id"], r["log_level"], r["source_process"], r["message"]) for r in found) == [
        (1, "ERROR", "engine", "first error"),
        (2, "WARN", "proxy", "a warning"),
    ]
    assert {(r["host"], r["server_name"], r["site"]) for r in found} == {
        ("qlikserver1.lab.example.com", "Central", "lab")
    }

    await _insert(
        postgres,
        database,
        ("ERROR", "qlikserver2", "scheduler", "later"),
        ("WARN", "qlikserver1", "engine", "w2"),
    )
    async with running(config) as runtime:
        await eventually(lambda: len(rows()) >= 4, what="the two new rows")
        runner, monitor = _monitor(runtime)
        runs = runner.runs["log_db"]
        await eventually(lambda: runner.runs["log_db"] >= runs + 2, what="two more checks")
        assert monitor.read == 2  # only the rows after the remembered id
    assert sorted(r["entry_id"] for r in rows()) == [1, 2, 4, 5]
    unknown_host = next(r for r in rows() if r["entry_id"] == 4)
    assert unknown_host["host"] == "qlikserver2" and unknown_host.get("server_name") in (None, "")


async def test_a_database_that_cannot_be_reached_fails_the_check_not_the_runner(tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "monitors": {
                "log_db": {"enable": True, "host": "127.0.0.1", "port": 1, "ssl": "disable", "timeout_s": 5}
            }
        }
    )
    monitor = LogDbMonitor(config.monitors.log_db, [], tmp_path)
    runner = MonitorRunner([monitor], lambda event: None)
    assert not await runner.run_once(monitor)
    assert runner.failures["log_db"] == 1


def test_message_and_mqtt_topic() -> None:
    assert message_of('{"Message": "boom", "Other": 1}') == "boom"
    assert message_of({"Message": "x"}) == "x"
    assert message_of("not json") == "not json"
    topics = TopicMap(MqttSection(base_topic="butler-sos/"), {}, {})
    entry = LogDbEntry(id=7, host="qlikserver1", process="engine", level="ERROR", message="boom")
    (message,) = topics.messages(entry)
    assert message.topic == "butler-sos/qlikserver1/engine/ERROR"
