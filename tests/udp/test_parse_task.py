"""Task datagrams from Butler's scheduler appender (UDP 9998)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sensebutler.events.udp import EngineReloadFailedEvent, TaskEvent
from sensebutler.sources.udp import MalformedDatagram, MalformedReason, parse_task_datagram

RECEIVED = 1_700_000_000_000_000_001
TASK = "550e8400-e29b-41d4-a716-446655440000"
APP = "550e8400-e29b-41d4-a716-446655440001"


def task(datagram: str | bytes) -> TaskEvent:
    event = parse_task_datagram(datagram.encode() if isinstance(datagram, str) else datagram, RECEIVED)
    assert isinstance(event, TaskEvent)
    return event


def malformed(datagram: str | bytes) -> MalformedReason:
    with pytest.raises(MalformedDatagram) as info:
        parse_task_datagram(datagram.encode() if isinstance(datagram, str) else datagram, RECEIVED)
    return info.value.reason


@pytest.mark.parametrize(
    ("prefix", "event_type"),
    [
        ("/scheduler-reload-failed/", "failed"),
        ("/scheduler-task-failed/", "failed"),
        ("/scheduler-reloadtask-failed/", "failed"),
        ("/scheduler-reload-aborted/", "aborted"),
        ("/scheduler-task-aborted/", "aborted"),
        ("/scheduler-reloadtask-success/", "success"),
        ("/scheduler-task-success/", "success"),
        ("/scheduler-task-success//", "success"),
        ("/scheduler-distribute/", "distribute"),
        ("/SCHEDULER-TASK-SUCCESS//", "success"),
        ("  /Scheduler-Task-Failed/ ", "failed"),
    ],
)
def test_butler_fixture_shape_for_every_accepted_type(prefix: str, event_type: str) -> None:
    e = task(f"{prefix};host;Task;App;dir/user;{TASK};{APP};ts;INFO;exec;Message")
    assert e.event_type == event_type
    assert e.raw_type == prefix.strip()
    assert (e.host, e.task_name, e.app_name, e.task_id, e.app_id) == ("host", "Task", "App", TASK, APP)
    assert (e.log_timestamp, e.level, e.execution_id, e.message) == ("ts", "INFO", "exec", "Message")
    # "dir/user" has no backslash: kept as sent, not split
    assert (e.user, e.user_directory, e.user_id) == ("dir/user", "", "")
    assert e.time_ns == RECEIVED


def test_reconstructed_failed_reload() -> None:
    e = task(
        "/scheduler-task-failed/;QLIKSERVER1;Reload of Sales dashboard;Sales dashboard;"
        "INTERNAL\\sa_scheduler;DEC2A02A-1680-44EF-8DC2-E2BFB180AF87;4E1B7C5A-2F0A-4C9E-9F2E-0F5C3A7D9B11;"
        "2024-01-05 10:22:11,123;ERROR;"
        "4831C6A5-34F6-45BB-9D40-73A6E6992670;Max retries reached"
    )
    assert e.event_type == "failed"
    assert (e.user_directory, e.user_id) == ("INTERNAL", "sa_scheduler")
    assert e.task_id == "dec2a02a-1680-44ef-8dc2-e2bfb180af87"
    assert e.app_id == "4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"
    assert e.execution_id == "4831c6a5-34f6-45bb-9d40-73a6e6992670"
    assert e.log_timestamp == "2024-01-05 10:22:11,123"


def test_semicolons_in_message_are_kept() -> None:
    message = "Execution State Change to FinishedSuccess; took 00:01:02; rows: 1;2;3"
    e = task(f"/scheduler-task-success//;h;T;A;D\\u;{TASK};{APP};ts;INFO;{TASK};{message}")
    assert e.message == message


def test_tasks_without_app_have_empty_app_id() -> None:
    message = "Exiting execute of Distribute task request."
    e = task(f"/scheduler-distribute/;h;Distribute;;D\\u;{TASK};;ts;INFO;x;{message}")
    assert e.app_id == ""


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        ("", MalformedReason.EMPTY),
        ("/qseow-engine/;1", MalformedReason.UNKNOWN_TYPE),
        ("scheduler-task-failed;h;T;A;U;x;y;ts;L;e;m", MalformedReason.UNKNOWN_TYPE),
        (
            "/scheduler-task-failed/;h;T;A;U;" + TASK + ";" + APP + ";ts;INFO;exec",
            MalformedReason.FIELD_COUNT,
        ),
        ("/scheduler-task-failed/;h;T;A;U;;" + APP + ";ts;INFO;e;m", MalformedReason.MISSING_FIELD),
        ("/scheduler-task-failed/;h;T;A;U;not-a-guid;" + APP + ";ts;INFO;e;m", MalformedReason.BAD_ID),
        ("/scheduler-task-failed/;h;T;A;U;" + TASK + ";not-a-guid;ts;INFO;e;m", MalformedReason.BAD_ID),
        ("/engine-reload-failed/;h;" + APP + ";a;d;u;ts;e", MalformedReason.FIELD_COUNT),
        ("/engine-reload-failed/;h;;a;d;u;ts;e;m", MalformedReason.MISSING_FIELD),
        ("/engine-reload-failed/;h;nope;a;d;u;ts;e;m", MalformedReason.BAD_ID),
    ],
)
def test_malformed(datagram: str, reason: MalformedReason) -> None:
    assert malformed(datagram) is reason


def test_not_utf8() -> None:
    assert malformed(b"/scheduler-task-failed/;\xff") is MalformedReason.NOT_UTF8


def test_engine_reload_failed_fixture() -> None:
    e = parse_task_datagram(
        f"/engine-reload-failed/;host;{APP};appName;userDir;active-user-id;2026-01-01T10:20:30Z;exec123;"
        "reload failed".encode(),
        RECEIVED,
    )
    assert isinstance(e, EngineReloadFailedEvent)
    assert (e.host, e.app_id, e.app_name) == ("host", APP, "appName")
    assert (e.user_directory, e.user_id, e.user_full) == (
        "userDir",
        "active-user-id",
        "userDir\\active-user-id",
    )
    assert (e.log_timestamp, e.execution_id, e.message) == (
        "2026-01-01T10:20:30Z",
        "exec123",
        "reload failed",
    )
    assert e.time_ns == int(datetime(2026, 1, 1, 10, 20, 30, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_engine_reload_failed_without_parsable_time_uses_receive_time() -> None:
    e = parse_task_datagram(
        f"/engine-reload-failed/;h;{APP};a;d;u;2026-01-01 10:20:30,000;e;m;more".encode(), 5
    )
    assert e.time_ns == 5
    assert e.message == "m;more"


def test_fields_are_sanitised_and_capped() -> None:
    e = task(f"/scheduler-task-failed/;h\x07;{'T' * 900};A;D\\u;{TASK}\r\n;{APP};ts;INFO;e;{'m' * 3000}\n")
    assert e.host == "h"
    assert (len(e.task_name), len(e.message)) == (500, 1000)
    assert e.task_id == TASK
