"""Task outcomes (ReloadAlert) through the real InfluxDB sink into a real influxd, against Butler's table.

The expected names and types are written here from butler.md §8.5 (Butler's measurement, tag and
field names, every number a float), independently of ``schema.py``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import msgspec

from sensebutler.config import Config
from sensebutler.events.alerts import NameValue, ReloadAlert, TaskInfo
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.sinks.influxdb.sink import InfluxSink, build
from sensebutler.sources.udp import parse_task_datagram
from tests.alerts.samples import EXECUTION_ID, SCRIPT_LOG, TASK_ID, alert, datagram
from tests.fixtures.servers import InfluxdServer
from tests.sinks.influxdb.parse import parse_records
from tests.sinks.influxdb.support import KEEP_FOREVER, fast_delivery, wait_delivered

T0_NS = 1_704_450_131_123_000_000  # 2024-01-05 10:22:11.123 UTC
STR, FLOAT = "string", "float"

#: butler.md §8.5: reload_task_failed / reload_task_success tags and fields (Butler's spelling)
BUTLER_RELOAD_TAGS = {
    "host",
    "user",
    "task_id",
    "task_name",
    "app_id",
    "app_name",
    "log_level",
    "task_executingNodeName",
    "task_executionStatusNum",
    "task_exeuctionStatusText",
}
BUTLER_RELOAD_FIELDS = {
    "log_timestamp": STR,
    "execution_id": STR,
    "log_message": STR,
    "task_executionStartTime_json": STR,
    "task_executionStopTime_json": STR,
    "task_executionDuration_json": STR,
    "task_executionDuration_sec": FLOAT,
    "task_executionDuration_min": FLOAT,
    "task_executionDuration_h": FLOAT,
    "task_scriptLogSize": FLOAT,
    "task_scriptLogTailCount": FLOAT,
    "scriptLog": STR,
    "reload_log": STR,
}
#: butler.md §7.8/§8.5: the other task types: base tags, execution tags, base and execution fields
BUTLER_OTHER_TAGS = {
    "host",
    "user",
    "task_id",
    "task_name",
    "log_level",
    "task_executingNodeName",
    "task_executionStatusNum",
    "task_exeuctionStatusText",
}
BUTLER_OTHER_FIELDS = {
    name: kind
    for name, kind in BUTLER_RELOAD_FIELDS.items()
    if not name.startswith("task_scriptLog") and name not in ("scriptLog", "reload_log")
}


def influx_config(url: str, db: str, tasks: dict[str, Any], version: int = 1) -> Config:
    versions: dict[int, dict[str, Any]] = {
        1: {"v1": {"database": db, "retention_policy": KEEP_FOREVER}},
        3: {"v3": {"database": db}},
    }
    return Config.model_validate(
        {
            "alerts": {"enable": True, "time_zone": "Europe/Stockholm"},
            "delivery": fast_delivery(batch_size=2).model_dump(),
            "influxdb": {"enable": True, "url": url, "version": version, **versions[version], "tasks": tasks},
        }
    )


def make_sink(config: Config, tmp_path: Path) -> InfluxSink:
    (sink,) = build(Runtime(config, Router(), tmp_path / "state"))
    assert isinstance(sink, InfluxSink)
    return sink


def outcome(kind: str, offset_ns: int, **changes: Any) -> ReloadAlert:
    """The sample alert as a failed / aborted / successful reload at T0 + offset."""
    status = {"failed": 8, "aborted": 6, "success": 7}[kind]
    made = alert(**changes)
    execution = dataclasses.replace(made.execution, status=status) if made.execution else None
    return msgspec.structs.replace(
        made,
        outcome=kind,
        source=parse_task_datagram(datagram(kind), T0_NS + offset_ns),
        time_ns=T0_NS + offset_ns,
        execution=execution,
    )


def as_stored(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def keys(influxd: InfluxdServer, db: str, measurement: str) -> tuple[set[str], dict[str, str]]:
    tags = {row["tagKey"] for row in influxd.query(db, f'SHOW TAG KEYS FROM "{measurement}"')}
    fields = {
        row["fieldKey"]: row["fieldType"]
        for row in influxd.query(db, f'SHOW FIELD KEYS FROM "{measurement}"')
    }
    return tags, fields


TASKS = {
    "tags": {"butler_instance": "prod-1", "host": "must-not-replace-the-event-host"},
    "reload_failed": {"tags": {"event": "reload"}},
    "reload_aborted": {"enable": True, "use_app_tags": False},
    "reload_success": {
        "by_custom_property": {"enable": True, "name": "Butler_SuccessReloadTask_InfluxDB", "value": "Yes"},
        "head_lines": 2,
        "tail_lines": 3,
    },
    "distribute_success": {"enable": True},
}


async def test_task_outcomes_land_in_influxd_with_butlers_names_and_types(
    tmp_path: Path, influxd: InfluxdServer, influx_db: str
) -> None:
    sink = make_sink(influx_config(influxd.url, influx_db, TASKS), tmp_path)
    tracked = TaskInfo(
        task_type="reload",
        tags=("Nightly",),
        custom_properties=(NameValue("Butler_SuccessReloadTask_InfluxDB", "Yes"),),
    )
    untracked = TaskInfo(task_type="reload", tags=("Nightly",))
    distribute = msgspec.structs.replace(
        outcome("success", 40, task=TaskInfo(task_type="distribute", tags=("Mail",)), app=None),
        task_type="distribute",
    )
    await sink.start()
    sink.submit(outcome("failed", 0))
    sink.submit(outcome("aborted", 10))
    sink.submit(outcome("success", 20, task=tracked))
    sink.submit(outcome("success", 30, task=untracked))  # no custom property: not written
    sink.submit(distribute)
    await wait_delivered(sink, 4)
    await sink.stop()
    assert sink.stats().delivered == 4

    tags, fields = keys(influxd, influx_db, "reload_task_failed")
    assert tags == BUTLER_RELOAD_TAGS | {
        "butler_instance",
        "event",
        "appTag_Sales",
        "taskTag_Sales",
        "taskTag_Nightly",
    }
    assert fields == BUTLER_RELOAD_FIELDS
    (row,) = influxd.query(influx_db, 'SELECT * FROM "reload_task_failed"', epoch="ns")
    assert row["time"] == T0_NS
    assert row["host"] == "QLIKSERVER1"  # the static tag of the same name does not replace it
    assert row["user"] == "LAB/goran"
    assert row["task_id"] == TASK_ID
    assert row["execution_id"] == EXECUTION_ID
    assert row["app_name"] == "Sales & <Marketing>"
    assert row["log_level"] == "ERROR"
    assert row["task_executingNodeName"] == "qlikserver1"
    assert row["task_executionStatusNum"] == "8"
    assert row["task_exeuctionStatusText"] == "FinishedFail"
    assert row["appTag_Sales"] == "true"
    assert row["log_timestamp"] == "2024-01-05 11:22:11,123"
    assert row["log_message"] == "Max retries reached"
    assert json.loads(row["task_executionDuration_json"]) == {"hours": 1, "minutes": 2, "seconds": 8}
    assert row["task_executionDuration_sec"] == 3728
    assert row["task_executionDuration_min"] == 3728 / 60
    assert row["task_executionDuration_h"] == 3728 / 3600
    start = json.loads(row["task_executionStartTime_json"])
    assert start["startTimeUTC"] == "2024-01-05T10:20:03.112Z"
    assert start["startTimeLocal1"] == "2024-01-05 11:20:03"  # Europe/Stockholm
    assert set(start) == {"startTimeUTC", *(f"startTimeLocal{n}" for n in range(1, 6))}
    assert set(json.loads(row["task_executionStopTime_json"])) == {
        "stopTimeUTC",
        *(f"stopTimeLocal{n}" for n in range(1, 6)),
    }
    assert row["task_scriptLogSize"] == len(SCRIPT_LOG)
    assert row["task_scriptLogTailCount"] == 20
    details = (
        "2024-01-05T10:20:03.020Z\tChanging task state to Triggered\n"
        "2024-01-05T11:22:11.123Z\tChanging task state from Started to FinishedFail\n"
    )
    tail = "\r\n".join(f"20240105T102003.{n:03d}+0100 line {n}" for n in range(21, 41))
    # line breaks are stored as the two characters \r, \n (one record is one line: docs/influxdb.md)
    assert row["scriptLog"] == as_stored(f"{details}\r\n-------------------------------\r\n\r\n{tail}")
    assert row["reload_log"] == row["scriptLog"]

    tags, fields = keys(influxd, influx_db, "reload_task_aborted")
    assert tags == BUTLER_RELOAD_TAGS | {"butler_instance", "taskTag_Sales", "taskTag_Nightly"}  # no app tags
    assert fields == BUTLER_RELOAD_FIELDS
    (row,) = influxd.query(influx_db, 'SELECT * FROM "reload_task_aborted"')
    assert row["task_exeuctionStatusText"] == "Aborted"

    tags, fields = keys(influxd, influx_db, "reload_task_success")
    assert tags == BUTLER_RELOAD_TAGS | {"butler_instance", "appTag_Sales", "taskTag_Nightly"}
    assert fields == BUTLER_RELOAD_FIELDS | {"task_scriptLogHeadCount": FLOAT}
    (row,) = influxd.query(influx_db, 'SELECT * FROM "reload_task_success"', epoch="ns")
    assert row["time"] == T0_NS + 20
    assert row["task_scriptLogHeadCount"] == 2
    assert row["task_scriptLogTailCount"] == 3
    head = "---------- SCRIPT LOG HEAD (2 lines) ----------\r\n20240105T102003.001+0100 line 1\r\n"
    assert as_stored(head) in row["scriptLog"]
    assert row["scriptLog"].endswith(
        as_stored(
            "---------- SCRIPT LOG TAIL (3 lines) ----------\r\n20240105T102003.038+0100 line 38\r\n"
            "20240105T102003.039+0100 line 39\r\n20240105T102003.040+0100 line 40"
        )
    )

    tags, fields = keys(influxd, influx_db, "distribute_task_success")
    assert tags == BUTLER_OTHER_TAGS | {"butler_instance", "taskTag_Mail", "app_id", "app_name"}
    assert fields == BUTLER_OTHER_FIELDS


async def test_what_could_not_be_fetched_still_gives_a_point(
    tmp_path: Path, influxd: InfluxdServer, influx_db: str
) -> None:
    sink = make_sink(influx_config(influxd.url, influx_db, {}), tmp_path)
    await sink.start()
    sink.submit(
        outcome("failed", 0, execution=None, script_log=None, task=None, app=None, missing=("script log",))
    )
    await wait_delivered(sink, 1)
    await sink.stop()
    (row,) = influxd.query(influx_db, 'SELECT * FROM "reload_task_failed"')
    # Butler's stand-ins for an unknown execution
    assert row["task_executingNodeName"] == "unknown"
    assert row["task_executionStatusNum"] == "-1"
    assert row["task_exeuctionStatusText"] == "Script log not available"
    assert row["scriptLog"] == "Script log not available"
    assert row["task_scriptLogSize"] == 0
    assert row["task_id"] == TASK_ID


def test_every_number_is_a_float_in_every_version_and_off_outcomes_write_nothing(tmp_path: Path) -> None:
    for version in (1, 3):
        config = influx_config("http://127.0.0.1:9", "db", {"reload_success": {"all_tasks": True}}, version)
        sink = make_sink(config, tmp_path)
        (line,) = parse_records(sink.encode(outcome("success", 0)))
        numbers = {name: text for name, text in line.fields.items() if not text.startswith('"')}
        assert set(numbers) == {name for name, kind in BUTLER_RELOAD_FIELDS.items() if kind == FLOAT} | {
            "task_scriptLogHeadCount"
        }
        assert not [text for text in numbers.values() if text.endswith(("i", "u"))], numbers
        assert sink.encode(outcome("aborted", 0)) == []  # reload_aborted is off by default
        other = msgspec.structs.replace(outcome("failed", 0), task_type="preload")
        assert sink.encode(other) == []  # preload_failed is off by default
