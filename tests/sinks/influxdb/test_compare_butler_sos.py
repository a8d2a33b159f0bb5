"""One datagram of each kind: Butler SOS's v1 point, built from the reference, against ours.

The expected points are built here from butler-sos.md (§2 field positions, §4.5/§4.6 tags and
fields, the v1 writer's declared types), independently of sensebutler's parsers. Every difference
that remains is in :data:`DOCUMENTED` with the words docs/influxdb.md uses for it, and the test
checks that the docs say so.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.sinks.base import Sink
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions
from sensebutler.sources.udp.inputs import LogEventsHandler, UserEventsHandler
from tests.sinks.influxdb.parse import parse_records

DOCS = (Path(__file__).parents[3] / "docs" / "influxdb.md").read_text()

ENGINE = (
    "/qseow-engine/;1433;20240115T094512.123+0100;2024-01-15 09:45:12,123;WARN;QS-PROD-01;"
    "System.Engine.Engine;ACME\\svc-qlik;Document load failed: access denied;"
    "a0b1c2d3-1111-2222-3333-444455556666;ACME;jdoe;2024-01-15T09:45:12.120+01:00;"
    "5e1f1f1f-aaaa-bbbb-cccc-ddddeeeeffff;14.173.8;2024-01-10T03:00:01.000+01:00;Warning;"
    "0f0e0d0c-1234-4abc-9def-001122334455;7d5f6e2a-1111-2222-3333-444444444444"
)
PROXY = (
    "/qseow-proxy/;2551;20240115T101502.456+0100;2024-01-15 10:15:02,456;WARN;QS-PROD-01;"
    "Audit.Proxy.Proxy.Core.RequestListener;ACME\\svc-qlik;Access was denied for User: 'ACME\\jdoe';;"
    "ACME;jdoe;Authenticate;403;Proxy;/hub"
)
REPOSITORY = (
    "/qseow-repository/;812;20240115T110000.789+0100;2024-01-15 11:00:00,789;ERROR;QS-PROD-02;"
    "System.Repository.Repository.Core.Service.ServiceAliveChecker;ACME\\svc-qlik;"
    "Failed to request service alive response from https://qs-prod-03:4899/;"
    "Unable to connect to the remote server;;;;;;"
)
SCHEDULER = (
    "/qseow-scheduler/;14;20211109T193744.331+0100;2021-11-09 19:37:44,331;ERROR;QS-PROD-01;"
    "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask;LAB\\qlikservice;"
    "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.;;LAB;goran;"
    "LAB\\goran;Manually triggered reload of Test failing reloads 2;Test failing reloads 2;"
    "dec2a02a-1680-44ef-8dc2-e2bfb180af87;e7af59a0-c243-480d-9571-08727551a66f;"
    "4831c6a5-34f6-45bb-9d40-73a6e6992670"
)
QIX = (
    "/qseow-qix-perf/;3001;20240115T120001.001+0100;2024-01-15 12:00:01,001;INFO;QS-PROD-01;"
    "QixPerformance.Engine.Engine;ACME\\svc-qlik;a0b1c2d3-1111-2222-3333-444455556666;ACME;jdoe;"
    "2024-01-15T12:00:01.000+01:00;0f0e0d0c-1234-4abc-9def-001122334455;"
    "7d5f6e2a-1111-2222-3333-444444444444;42;GenericObject::GetLayout;153.2;150.1;0.4;1.2;2.1;17;"
    "rwPjBk;123456;524288;barchart"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.130 Safari/537.36"
)
CONNECTION = (
    "/qseow-proxy-connection/;QS-PROD-01;Open connection;ACME;jdoe;https://qlik.acme.com;"
    f"/app/7d5f6e2a-1111-2222-3333-444444444444?reloaduri=x;connection Opened for session 9a8b; UserAgent: {CHROME}"
)
SESSION = (
    "/qseow-proxy-session/;QS-PROD-01;Start session;ACME;jdoe;https://qlik.acme.com;/hub/;"
    "Start session for user 'ACME\\jdoe'"
)

S, INT, F = "string", "integer", "float"
UNKNOWN = ("qs_log_category", "unknown")


def log_common(parts: list[str]) -> dict[str, str]:
    return {
        "host": parts[5],
        "level": parts[4],
        "source": parts[0].strip("/"),
        "log_row": parts[1],
        "subsystem": parts[6],
    }


def butler_sos_engine() -> tuple[dict[str, str], dict[str, tuple[str, Any]]]:
    p = ENGINE.split(";")
    tags = log_common(p) | {"user_full": f"{p[10]}\\{p[11]}", "user_directory": p[10], "user_id": p[11]}
    tags |= {"windows_user": p[7], "app_id": p[18], "engine_exe_version": p[14]}
    fields = {"message": (S, p[8]), "session_id": (S, p[17])}
    return tags, fields


def butler_sos_generic(datagram: str) -> tuple[dict[str, str], dict[str, tuple[str, Any]]]:
    p = datagram.split(";")
    tags = log_common(p)
    if p[10] and p[11]:
        tags |= {"user_full": f"{p[10]}\\{p[11]}", "user_directory": p[10], "user_id": p[11]}
    if p[13]:
        tags["result_code"] = p[13]
    fields = {"message": (S, p[8]), "exception_message": (S, p[9]), "command": (S, p[12])}
    fields |= {"result_code": (S, p[13]), "origin": (S, p[14]), "context": (S, p[15])}
    return tags, fields


def butler_sos_scheduler() -> tuple[dict[str, str], dict[str, tuple[str, Any]]]:
    p = SCHEDULER.split(";")
    tags = log_common(p) | {"user_full": f"{p[10]}\\{p[11]}", "user_directory": p[10], "user_id": p[11]}
    tags |= {"task_id": p[15], "task_name": p[13]}
    fields = {"message": (S, p[8]), "exception_message": (S, p[9]), "app_name": (S, p[14])}
    fields |= {"app_id": (S, p[16]), "execution_id": (S, p[17])}
    return tags, fields


def butler_sos_qix() -> tuple[dict[str, str], dict[str, tuple[str, Any]]]:
    p = QIX.split(";")
    tags = log_common(p) | {"method": p[15], "object_type": p[25], "proxy_session_id": p[8]}
    tags |= {"session_id": p[12], "event_activity_source": "user", "user_full": f"{p[9]}\\{p[10]}"}
    tags |= {"user_directory": p[9], "user_id": p[10], "app_id": p[13], "object_id": p[22]}
    fields: dict[str, tuple[str, Any]] = {"app_id": (S, p[13])}
    for name, index in (("process_time", 16), ("work_time", 17), ("lock_time", 18)):
        fields[name] = (F, float(p[index]))
    fields |= {"validate_time": (F, float(p[19])), "traverse_time": (F, float(p[20]))}
    fields |= {"handle": (INT, int(p[21])), "net_ram": (INT, int(p[23])), "peak_ram": (INT, int(p[24]))}
    return tags, fields


def butler_sos_user(
    datagram: str, app: tuple[str, str] | None, ua: dict[str, str]
) -> tuple[dict[str, str], dict[str, tuple[str, Any]]]:
    p = datagram.split(";", 7)
    tags = {"host": p[1], "event_action": p[2], "userFull": f"{p[3]}\\{p[4]}", "userDirectory": p[3]}
    tags |= {"userId": p[4], "origin": p[5], **ua}
    fields: dict[str, tuple[str, Any]] = {"userFull": (S, f"{p[3]}\\{p[4]}"), "userId": (S, p[4])}
    if app is not None:
        tags |= {"appId": app[0], "appName": app[1]}
        fields |= {"appId": (S, app[0]), "appName": (S, app[1])}
    return tags, fields


#: (Butler SOS, sensebutler) differences, each with the words docs/influxdb.md says it in
DOCUMENTED = {
    "ids are fields": "**Unbounded ids are fields, not tags.**",
    "raw_event off": "**`raw_event` is off by default.**",
    # expected below: the row number (Butler SOS's v1 writer writes -1 for QIX rows)
    "qix log_row": "**QIX performance `log_row` is the row number.**",
}
MOVED_TO_FIELDS = ("log_row", "proxy_session_id", "session_id", "object_id")


def own_fields(measurement: str) -> set[str]:
    """Fields docs/influxdb.md's type table marks as sensebutler's own for ``measurement``."""
    own: set[str] = set()
    for line in DOCS.splitlines():
        if line.startswith(f"| `{measurement}` |") and "*(own)*" in line:
            own.update(re.findall(r"`([^`]+)`", line.split("|")[2]))
    return own


class Capture(Sink):
    name = "capture"
    kinds = frozenset({"log", "qix_perf", "user"})

    def __init__(self) -> None:
        self.events: list[Event] = []

    def submit(self, event: Event) -> None:
        self.events.append(event)


def ours(
    handler_type: type[LogEventsHandler] | type[UserEventsHandler], datagram: str
) -> tuple[dict[str, str], dict[str, tuple[str, Any]]]:
    config = Config.model_validate(
        {
            "udp": {
                "log_events": {
                    "categorise": {"enable": True},
                    "engine_performance_monitor": {
                        "enable": True,
                        "monitor_filter": {"all_apps": {"enable": True}},
                    },
                }
            }
        }
    )
    capture = Capture()
    runtime = Runtime(config, Router([capture]), Path("/nonexistent"))
    settings = config.udp.log_events if handler_type is LogEventsHandler else config.udp.user_events
    handler = handler_type(runtime, settings)  # type: ignore[arg-type]
    handler([datagram.encode()], 1_700_000_000_000_000_000)
    (event,) = capture.events
    (line,) = parse_records(InfluxMapping(MappingOptions(version=1)).encode(event))
    fields: dict[str, tuple[str, Any]] = {}
    for name, text in line.fields.items():
        if text.startswith('"'):
            fields[name] = (S, text[1:-1].replace('\\"', '"').replace("\\\\", "\\"))
        elif text.endswith("i"):
            fields[name] = (INT, int(text[:-1]))
        else:
            fields[name] = (F, float(text))
    return line.tags, fields


def assert_same_but_documented(
    butler_sos: tuple[dict[str, str], dict[str, tuple[str, Any]]],
    sensebutler: tuple[dict[str, str], dict[str, tuple[str, Any]]],
    categories: dict[str, str],
    measurement: str = "log_event",
) -> None:
    tags, fields = butler_sos
    our_tags, our_fields = sensebutler
    for name in own_fields(measurement) - set(fields) - (set(MOVED_TO_FIELDS) & set(tags)):
        our_fields.pop(name, None)  # documented additions
    expected_tags = {**tags, **categories}
    moved = {name: value for name, value in expected_tags.items() if name in MOVED_TO_FIELDS}
    for name in moved:
        del expected_tags[name]
    assert our_tags == expected_tags
    for name, value in moved.items():  # the same value, as a field (log_row as an integer)
        if name == "log_row":
            assert our_fields.pop("log_row") == (INT, int(value))
        else:
            assert our_fields.pop(name, (S, value)) == (S, value)
    assert our_fields == fields
    for words in DOCUMENTED.values():
        assert words in DOCS


@pytest.mark.parametrize(
    ("datagram", "expected"),
    [
        (ENGINE, butler_sos_engine),
        (PROXY, lambda: butler_sos_generic(PROXY)),
        (REPOSITORY, lambda: butler_sos_generic(REPOSITORY)),
        (SCHEDULER, butler_sos_scheduler),
    ],
    ids=["engine", "proxy", "repository", "scheduler"],
)
def test_log_event_points(datagram: str, expected: Any) -> None:
    assert_same_but_documented(expected(), ours(LogEventsHandler, datagram), dict([UNKNOWN]))


def test_qix_performance_point() -> None:
    assert_same_but_documented(butler_sos_qix(), ours(LogEventsHandler, QIX), dict([UNKNOWN]))


def test_user_event_points() -> None:
    ua = {
        "uaBrowserName": "Chrome",
        "uaBrowserMajorVersion": "120",
        "uaOsName": "Windows",
        "uaOsVersion": "NT 10.0",
    }
    app = ("7d5f6e2a-1111-2222-3333-444444444444", "<unknown app name>")
    connection = ours(UserEventsHandler, CONNECTION)
    assert_same_but_documented(butler_sos_user(CONNECTION, app, ua), connection, {}, "user_events")
    session = ours(UserEventsHandler, SESSION)
    assert_same_but_documented(butler_sos_user(SESSION, None, {}), session, {}, "user_events")
