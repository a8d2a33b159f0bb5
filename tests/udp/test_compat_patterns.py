"""Datagrams built from the conversion patterns of the appender files users install.

The patterns are read from ``../shared/compat/*/log_appender_xml/*/LocalLogConfig.xml`` at test time.
Every ``%token`` is replaced with a realistic value, the fields are joined with ``;`` exactly as
log4net does, and the parser must put each value where the pattern says. A pattern with a token this
test does not know fails the test, so a changed appender file cannot slip through unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sensebutler.events import Event
from sensebutler.events.udp import LogEvent, QixPerfEvent, TaskEvent, UserEvent
from sensebutler.simulator.log4net import APPENDERS, LogRecord
from sensebutler.sources.udp import (
    MalformedDatagram,
    MalformedReason,
    parse_log_datagram,
    parse_task_datagram,
    parse_user_datagram,
)

RECEIVED = 1_000
GUIDS = {
    name: f"{index:08X}-ABCD-4EF0-9A1B-{index:012X}"
    for index, name in enumerate(
        ["ProxySessionId", "ProcessId", "SessionId", "AppId", "DocId", "TaskId", "ExecutionId"], start=1
    )
}
ISO = "20240115T094512.123-0500"  # a negative offset: Butler SOS would blank it
ISO_NS = 1_705_329_912_123_000_000  # 2024-01-15T14:45:12.123Z
PARSERS: dict[int, Callable[[bytes, int], Event]] = {
    9996: parse_log_datagram,
    9997: parse_user_datagram,
    9998: parse_task_datagram,
}


@dataclass(frozen=True)
class Token:
    value: str
    attribute: str
    expected: Any = None

    @property
    def want(self) -> Any:
        return self.value if self.expected is None else self.expected


def _guid(name: str, attribute: str) -> Token:
    return Token(GUIDS[name], attribute, GUIDS[name].lower())


TOKENS: dict[str, Token] = {
    "%rownum{9999}": Token("4711", "log_row", 4711),
    "%longIso8601date": Token(ISO, "ts_iso"),
    "%date": Token("2024-01-15 09:45:12,123", "ts_local"),
    "%level": Token("ERROR", "level"),
    "%hostname": Token("QS-PROD-01", "host"),
    "%logger": Token("System.Scheduler.Scheduler.Slave.Tasks.ReloadTask", "subsystem"),
    "%user": Token("ACME\\svc-qlik", "windows_user"),
    "%encodedmessage": Token("Åtkomst nekad; användare 'ACME\\jdoe'; försök 3", "message"),
    "%encodedexception": Token(
        "System.Net.WebException: Unable to connect to the remote server", "exception_message"
    ),
    "%message": Token(
        "connection Opened for session 9a8b; ok UserAgent: 'Mozilla/5.0 (X11; Linux x86_64)'", "message"
    ),
    "%property{ProxySessionId}": _guid("ProxySessionId", "proxy_session_id"),
    "%property{ActiveUserDirectory}": Token("ACME", "user_directory"),
    "%property{ActiveUserId}": Token("jdoe", "user_id"),
    "%property{EngineTimestamp}": Token("2024-01-15T09:45:12.120-05:00", "engine_ts"),
    "%property{ProcessId}": _guid("ProcessId", "process_id"),
    "%property{Exe Version}": Token("14.173.8", "engine_exe_version"),
    "%property{Server Started}": Token("2024-01-10T03:00:01.000-05:00", "server_started"),
    "%property{Entry Type}": Token("Error", "entry_type"),
    "%property{SessionId}": _guid("SessionId", "session_id"),
    "%property{AppId}": _guid("AppId", "app_id"),
    "%property{DocId}": _guid("DocId", "app_id"),
    "%property{UserDirectory}": Token("ACME", "user_directory"),
    "%property{UserId}": Token("jdoe", "user_id"),
    "%property{User}": Token("ACME\\jdoe", "user_full"),
    "%property{Command}": Token("Open connection", "command"),
    "%property{Result}": Token("403", "result_code"),
    "%property{Origin}": Token("https://qlik.acme.com", "origin"),
    "%property{Context}": Token("/app/7D5F6E2A-1111-2222-3333-444444444444?reloaduri=x", "context"),
    "%property{TaskName}": Token("Reload of Sales (nightly)", "task_name"),
    "%property{AppName}": Token("Sales", "app_name"),
    "%property{TaskId}": _guid("TaskId", "task_id"),
    "%property{ExecutionId}": _guid("ExecutionId", "execution_id"),
    "%property{RequestId}": Token("42", "request_id", 42),
    "%property{Method}": Token("GenericObject::GetLayout", "method"),
    "%property{ProcessTime}": Token("153.2", "process_time", 153.2),
    "%property{WorkTime}": Token("150.1", "work_time", 150.1),
    "%property{LockTime}": Token("0.4", "lock_time", 0.4),
    "%property{ValidateTime}": Token("1.2", "validate_time", 1.2),
    "%property{TraverseTime}": Token("2.1", "traverse_time", 2.1),
    "%property{Handle}": Token("-1", "handle", -1),
    "%property{ObjectId}": Token("rwPjBk", "object_id"),
    "%property{NetRAM}": Token("123456", "net_ram", 123456),
    "%property{PeakRAM}": Token("524288", "peak_ram", 524288),
    "%property{ObjectType}": Token("barchart", "object_type"),
}
# Butler's task datagrams name some of the same tokens differently (butler.md §6.2).
TASK_TOKENS: dict[str, Token] = {
    "%date": Token("2024-01-15 09:45:12,123", "log_timestamp"),
    "%property{User}": Token("ACME\\jdoe", "user"),
    "%message": Token("Max retries reached; giving up", "message"),
}


@dataclass(frozen=True)
class Appender:
    file: str
    name: str
    port: int
    pattern: str


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_APPENDER = re.compile(
    r'<appender\s+name="([^"]+)"\s+type="log4net\.Appender\.UdpAppender">(.*?)</appender>', re.DOTALL
)
_PORT = re.compile(r'name="remotePort"\s+value="(\d+)"')
_PATTERN = re.compile(r'name="conversionpattern"\s+value="([^"]+)"')


def read_appenders(compat: Path) -> list[Appender]:
    found = []
    for path in sorted(compat.glob("*/log_appender_xml/*/LocalLogConfig.xml")):
        text = _COMMENT.sub("", path.read_text(encoding="utf-8"))
        for name, body in _APPENDER.findall(text):
            port, pattern = _PORT.search(body), _PATTERN.search(body)
            assert port and pattern, f"{path}: appender {name} without port or pattern"
            found.append(Appender(str(path.relative_to(compat)), name, int(port[1]), pattern[1]))
    return found


def build(pattern: str, tokens: dict[str, Token]) -> tuple[bytes, str, list[Token]]:
    prefix, *fields = pattern.split(";")
    unknown = [field for field in fields if field not in tokens]
    assert not unknown, f"pattern tokens this test does not know: {unknown}"
    used = [tokens[field] for field in fields]
    return ";".join([prefix, *(token.value for token in used)]).encode("utf-8"), prefix, used


def test_every_shipped_appender_is_found(compat_dir: Path) -> None:
    appenders = read_appenders(compat_dir)
    names = {(a.file.split("/")[0], a.name) for a in appenders}
    assert names == {
        ("butler", "TaskFailLogger"),
        ("butler", "TaskAbortLogger"),
        ("butler", "TaskSuccessLogger"),
        ("butler", "DistributionTaskLogger"),
        ("butler-sos", "LogEvent"),
        ("butler-sos", "QixPerf"),
        ("butler-sos", "EventSession"),
        ("butler-sos", "EventConnection"),
    }
    assert len(appenders) == 11  # LogEvent once per service: engine, proxy, repository, scheduler
    assert {a.port for a in appenders} == set(PARSERS)


def test_datagrams_from_every_conversion_pattern_parse_field_by_field(compat_dir: Path) -> None:
    for appender in read_appenders(compat_dir):
        tokens = {**TOKENS, **TASK_TOKENS} if appender.port == 9998 else TOKENS
        datagram, prefix, used = build(appender.pattern, tokens)
        event = PARSERS[appender.port](datagram, RECEIVED)
        where = f"{appender.file} {appender.name}"
        for token in used:
            assert getattr(event, token.attribute) == token.want, f"{where}: {token.attribute}"
        if isinstance(event, LogEvent | QixPerfEvent):
            assert event.time_ns == ISO_NS, where
            assert event.user_full == "ACME\\jdoe", where
        if isinstance(event, LogEvent):
            assert event.source == prefix.strip("/").removeprefix("qseow-"), where
        if isinstance(event, UserEvent):
            assert event.message_type == prefix.strip("/"), where
            assert event.app_id == "7d5f6e2a-1111-2222-3333-444444444444", where
            assert (event.user_agent, event.ua_os_name) == ("Mozilla/5.0 (X11; Linux x86_64)", "Linux"), where
        if isinstance(event, TaskEvent):
            assert event.raw_type == prefix, where
            assert (event.user_directory, event.user_id) == ("ACME", "jdoe"), where
            assert (
                event.event_type
                == {
                    "TaskFailLogger": "failed",
                    "TaskAbortLogger": "aborted",
                    "TaskSuccessLogger": "success",
                    "DistributionTaskLogger": "distribute",
                }[appender.name]
            ), where


def test_butler_success_prefix_has_its_stray_slash(compat_dir: Path) -> None:
    success = [a for a in read_appenders(compat_dir) if a.name == "TaskSuccessLogger"]
    assert [a.pattern.split(";")[0] for a in success] == ["/scheduler-task-success//"]


def test_datagrams_rendered_by_the_simulator_parse() -> None:
    """The simulator's built-in appenders render rows the parsers accept (one row per appender)."""
    moment = datetime(2024, 1, 15, 9, 45, 12, 123000, tzinfo=timezone(timedelta(hours=-5)))
    properties = {name.removeprefix("%property{").removesuffix("}"): t.value for name, t in TOKENS.items()}
    for spec in APPENDERS:
        record = LogRecord(
            time=moment,
            level="ERROR",
            logger=spec.loggers[0],
            message="Max retries reached; Start session for user x",
            exception="",
            hostname="QS-PROD-01",
            service_user="ACME\\svc-qlik",
            row=4711,
            properties=properties,
        )
        datagram = spec.render(record).encode("utf-8")
        event = PARSERS[spec.remote_port](datagram, RECEIVED)
        assert getattr(event, "host", None) == "QS-PROD-01", spec.name
        if isinstance(event, LogEvent | QixPerfEvent):
            assert event.time_ns == ISO_NS, spec.name


@pytest.mark.parametrize("port", sorted(PARSERS))
def test_each_port_parser_rejects_the_other_ports_prefixes(port: int, compat_dir: Path) -> None:
    for appender in read_appenders(compat_dir):
        if appender.port == port:
            continue
        tokens = {**TOKENS, **TASK_TOKENS} if appender.port == 9998 else TOKENS
        datagram, _, _ = build(appender.pattern, tokens)
        with pytest.raises(MalformedDatagram) as info:
            PARSERS[port](datagram, RECEIVED)
        assert info.value.reason is MalformedReason.UNKNOWN_TYPE
