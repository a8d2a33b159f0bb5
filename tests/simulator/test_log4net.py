"""log4net pattern rendering, appender decisions, and the appender files (shipped and our own)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensebutler.simulator.log4net import (
    APPENDERS,
    AppenderConfigError,
    AppenderSpec,
    DenyAllFilter,
    LogRecord,
    PatternError,
    StringMatchFilter,
    appender,
    load_appenders,
    render,
)

REPO = Path(__file__).resolve().parents[2]
COMPAT = REPO / "../shared/compat"
DEPLOY = REPO / "deploy" / "log4net"
COMPAT_FILES = {
    ("butler-sos", "engine"): "engine",
    ("butler-sos", "proxy"): "proxy",
    ("butler-sos", "repository"): "repository",
    ("butler-sos", "scheduler"): "scheduler",
    ("butler", "scheduler"): "scheduler",
}

CET = timezone(timedelta(hours=1))
TASK_ID = "dec2a02a-1680-44ef-8dc2-e2bfb180af87"
APP_ID = "4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"
EXECUTION_ID = "4831c6a5-34f6-45bb-9d40-73a6e6992670"


def record(**changes: Any) -> LogRecord:
    base = LogRecord(
        time=datetime(2024, 1, 5, 10, 22, 11, 123456, tzinfo=CET),
        level="ERROR",
        logger="System.Scheduler.Scheduler.Slave.Tasks.ReloadTask",
        message="Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
        hostname="QLIKSERVER1",
        service_user="LAB\\qlikservice",
        row=1432,
        properties={
            "User": "INTERNAL\\sa_scheduler",
            "TaskName": "Reload of Sales dashboard",
            "AppName": "Sales dashboard",
            "TaskId": TASK_ID,
            "AppId": APP_ID,
            "ExecutionId": EXECUTION_ID,
        },
    )
    return replace(base, **changes)


def compat_file(tool: str, service: str) -> Path:
    path = COMPAT / tool / "log_appender_xml" / service / "LocalLogConfig.xml"
    if not path.is_file():
        pytest.skip(f"compat appender file {path} is absent (../shared/compat not available)")
    return path


# --------------------------------------------------------------------------------------- rendering


def test_scheduler_log_event_renders_like_a_real_row() -> None:
    expected = (
        "/qseow-scheduler/;1432;20240105T102211.123+0100;2024-01-05 10:22:11,123;ERROR;QLIKSERVER1;"
        "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask;LAB\\qlikservice;Message from ReloadProvider: "
        "Reload failed in Engine. Check engine or script logs.;;;;INTERNAL\\sa_scheduler;"
        f"Reload of Sales dashboard;Sales dashboard;{TASK_ID};{APP_ID};{EXECUTION_ID}"
    )
    assert appender("scheduler", "LogEvent").render(record()) == expected


def test_butler_task_failed_renders_eleven_fields() -> None:
    row = record(logger="System.Scheduler.Scheduler.Master.Task.TaskSession", message="Max retries reached")
    expected = (
        "/scheduler-task-failed/;QLIKSERVER1;Reload of Sales dashboard;Sales dashboard;"
        f"INTERNAL\\sa_scheduler;{TASK_ID};{APP_ID};2024-01-05 10:22:11,123;ERROR;"
        f"{EXECUTION_ID};Max retries reached"
    )
    assert appender("scheduler", "TaskFailLogger").render(row) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("%level", "ERROR"),
        ("%hostname", "QLIKSERVER1"),
        ("%logger", "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask"),
        ("%logger{2}", "Tasks.ReloadTask"),
        ("%user", "LAB\\qlikservice"),
        ("%date", "2024-01-05 10:22:11,123"),
        ("%date{ABSOLUTE}", "10:22:11,123"),
        ("%utcdate", "2024-01-05 09:22:11,123"),
        ("%longIso8601date", "20240105T102211.123+0100"),
        ("%property{TaskName}", "Reload of Sales dashboard"),
        ("%property{NoSuchProperty}", ""),
        ("[%property{NoSuchProperty}]", "[]"),
        ("100%%", "100%"),
        ("%%level", "%level"),
        ("a;%rownum;b", "a;1432;b"),
        ("%-7level|", "ERROR  |"),
        ("%7level|", "  ERROR|"),
        ("%.4hostname", "VER1"),
        ("%p %P{AppName}", "ERROR Sales dashboard"),
        ("%m", "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs."),
    ],
)
def test_tokens(pattern: str, expected: str) -> None:
    assert render(pattern, record()) == expected


@pytest.mark.parametrize(
    ("row", "expected"), [(1, "1"), (9998, "9998"), (9999, "9999"), (10000, "1"), (20001, "3")]
)
def test_rownum_wraps(row: int, expected: str) -> None:
    assert render("%rownum{9999}", record(row=row)) == expected


def test_long_iso8601_date_keeps_the_local_offset() -> None:
    west = record(time=datetime(2021, 11, 9, 15, 37, 26, 28000, tzinfo=timezone(timedelta(hours=-5))))
    assert render("%longIso8601date", west) == "20211109T153726.028-0500"
    utc = record(time=datetime(2021, 11, 9, 15, 37, 26, 28000, tzinfo=UTC))
    assert render("%longIso8601date;%date", utc) == "20211109T153726.028+0000;2021-11-09 15:37:26,028"


def test_same_instant_in_two_zones_renders_two_wall_clocks() -> None:
    cet = record()
    utc = record(time=cet.time.astimezone(UTC))
    pattern = "%date|%longIso8601date"
    assert render(pattern, cet) == "2024-01-05 10:22:11,123|20240105T102211.123+0100"
    assert render(pattern, utc) == "2024-01-05 09:22:11,123|20240105T092211.123+0000"


def test_encoded_message_and_exception_stay_on_one_line() -> None:
    row = record(message="first line\r\nsecond\tline\nthird", exception="Timeout\r\n   at Engine.Reload()")
    assert render("%encodedmessage|%encodedexception", row) == (
        "first line second line third|Timeout    at Engine.Reload()"
    )
    assert render("%message", row) == "first line\r\nsecond\tline\nthird"


def test_custom_converter_names_map_to_qlik_types() -> None:
    converters = {"qdate": "Qlik.Sense.Logging.log4net.Layout.Pattern.Iso8601TimeOffsetPatternConverter"}
    assert render("%qdate", record(), converters) == "20240105T102211.123+0100"


@pytest.mark.parametrize("pattern", ["%zzz", "%Level", "%date{yyyy}", "%property{Open", "%rownum{ten}"])
def test_unknown_conversions_are_clear_errors(pattern: str) -> None:
    with pytest.raises(PatternError):
        render(pattern, record())


def test_unknown_converter_type_is_a_clear_error() -> None:
    with pytest.raises(PatternError):
        render("%x", record(), {"x": "Some.Other.Converter"})


@given(st.text(alphabet=st.characters(blacklist_characters=";"), max_size=200), st.text(max_size=50))
def test_any_message_keeps_the_field_count_of_the_log_patterns(message: str, value: str) -> None:
    row = record(message=message, exception=message, properties={"TaskName": value.replace(";", ",")})
    for spec in APPENDERS:
        if "%message" not in spec.pattern:
            assert len(spec.render(row).split(";")) == spec.pattern.count(";") + 1


# --------------------------------------------------------------------------------------- decisions


def test_threshold() -> None:
    spec = appender("scheduler", "LogEvent")
    assert spec.accepts(record(level="WARN"))
    assert spec.accepts(record(level="FATAL"))
    assert not spec.accepts(record(level="INFO"))
    assert not spec.accepts(record(level="DEBUG"))
    assert not spec.accepts(record(level="NOT-A-LEVEL"))
    assert appender("engine", "QixPerf").accepts(
        record(level="INFO", logger="QixPerformance.Engine.Engine", message="")
    )


def test_logger_hierarchy() -> None:
    spec = appender("scheduler", "LogEvent")  # referenced by loggers "Service" and "System.Scheduler"
    assert spec.accepts(record(logger="System.Scheduler"))
    assert spec.accepts(record(logger="System.Scheduler.Scheduler.Slave"))
    assert spec.accepts(record(logger="Service.Scheduler"))
    assert not spec.accepts(record(logger="System.SchedulerX"))
    assert not spec.accepts(record(logger="System"))
    assert not spec.accepts(record(logger="System.Engine.Engine"))


def test_string_match_filters_then_deny_all() -> None:
    spec = appender("scheduler", "TaskFailLogger")
    session = "System.Scheduler.Scheduler.Master.Task.TaskSession"
    for message in (
        "Task Reload Sales: Max retries reached",
        "Failed to start session for preload",
        "Could not reserve an executor for task 42",
    ):
        assert spec.accepts(record(logger=session, message=message, level="INFO"))
    assert not spec.accepts(record(logger=session, message="Execution State Change to Aborting"))
    assert not spec.accepts(
        record(logger=session, message="max retries reached")
    )  # log4net is case-sensitive
    assert not spec.accepts(record(logger="System.Scheduler", message="Max retries reached"))


def test_filter_chain_semantics() -> None:
    base = AppenderSpec(name="x", service="proxy", remote_port=1, pattern="%message", loggers=("",))
    assert base.accepts(record(message="anything"))  # no filters: everything passes
    neutral_only = replace(base, filters=(StringMatchFilter("abc"),))
    assert neutral_only.accepts(record(message="xyz"))  # no decision → accepted
    reject = replace(base, filters=(StringMatchFilter("secret", accept_on_match=False),))
    assert not reject.accepts(record(message="a secret"))
    regex = replace(base, filters=(StringMatchFilter(regex_to_match=r"^Start .* user$"), DenyAllFilter()))
    assert regex.accepts(record(message="Start session for user"))
    assert not regex.accepts(record(message="Stop session for user"))


# ------------------------------------------------------------------------------------ appender files


def test_built_in_appenders_equal_the_shipped_files() -> None:
    loaded: list[AppenderSpec] = []
    for tool, service in COMPAT_FILES:
        loaded.extend(load_appenders(compat_file(tool, service)))
    assert loaded == APPENDERS  # names, services, ports, thresholds, loggers, filters and patterns
    success = next(spec for spec in loaded if spec.name == "TaskSuccessLogger")
    assert success.pattern.startswith("/scheduler-task-success//;")


def test_butler_file_with_its_unescaped_placeholder_loads() -> None:
    specs = load_appenders(compat_file("butler", "scheduler"))
    assert {spec.remote_address for spec in specs} == {"<IP of server where Butler is running>"}
    assert all(
        spec.converters == {"hostname": "Qlik.Sense.Logging.log4net.Layout.Pattern.HostNamePatternConverter"}
        for spec in specs
    )


def _deployed() -> dict[str, list[AppenderSpec]]:
    return {
        service: load_appenders(DEPLOY / service / "LocalLogConfig.xml")
        for service in ("engine", "proxy", "repository", "scheduler")
    }


def test_our_files_render_the_same_fields_as_the_shipped_ones() -> None:
    ours = {(spec.service, spec.name): spec for specs in _deployed().values() for spec in specs}
    shipped: dict[tuple[str, str], AppenderSpec] = {}
    for tool, service in COMPAT_FILES:
        shipped.update({(s.service, s.name): s for s in load_appenders(compat_file(tool, service))})
    assert ours.keys() == shipped.keys()
    row = record(
        properties={
            name: f"<{name}>"
            for name in (
                "TaskName",
                "AppName",
                "User",
                "TaskId",
                "AppId",
                "ExecutionId",
                "UserDirectory",
                "UserId",
                "Command",
                "Result",
                "Origin",
                "Context",
                "ProxySessionId",
                "SessionId",
                "DocId",
                "Method",
                "ObjectType",
            )
        }
    )
    for key, spec in ours.items():
        theirs = shipped[key]
        assert (spec.remote_port, spec.threshold, spec.filters) == (
            theirs.remote_port,
            theirs.threshold,
            theirs.filters,
        )
        assert sorted(spec.loggers) == sorted(theirs.loggers)
        assert spec.remote_address == "SENSEBUTLER_HOST"
        mine, real = spec.render(row).split(";"), theirs.render(row).split(";")
        assert len(mine) == len(real)
        if key == ("scheduler", "TaskSuccessLogger"):
            assert (mine[0], real[0]) == ("/scheduler-task-success/", "/scheduler-task-success//")
            assert mine[1:] == real[1:]
        else:
            assert mine == real


def test_our_files_declare_every_converter_their_patterns_use() -> None:
    for specs in _deployed().values():
        for spec in specs:
            # Qlik Sense only knows a %name its file declares in a <converter> element
            for name in (
                "rownum",
                "hostname",
                "longIso8601date",
                "user",
                "encodedmessage",
                "encodedexception",
            ):
                if f"%{name}" in spec.pattern:
                    assert name in spec.converters, (spec.service, spec.name, name)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Engine" / "LocalLogConfig.xml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_service_comes_from_the_folder_and_other_appenders_are_skipped(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """<configuration>
      <appender name="File" type="log4net.Appender.RollingFileAppender"><file value="x.log"/></appender>
      <appender name="Udp" type="log4net.Appender.UdpAppender">
        <threshold value="ERROR"/><remotePort value="4000"/>
        <layout type="log4net.Layout.PatternLayout"><conversionPattern value="%level;%message"/></layout>
      </appender>
      <root><appender-ref ref="Udp"/></root>
    </configuration>""",
    )
    [spec] = load_appenders(path)
    assert (spec.service, spec.name, spec.remote_port, spec.threshold, spec.loggers) == (
        "engine",
        "Udp",
        4000,
        "ERROR",
        ("",),
    )
    assert spec.accepts(record(level="ERROR", logger="Anything.At.All"))
    assert spec.render(record()).startswith("ERROR;Message from ReloadProvider")


@pytest.mark.parametrize(
    "text",
    [
        "<configuration><appender",
        """<configuration><appender name="a" type="log4net.Appender.UdpAppender">
             <layout type="log4net.Layout.PatternLayout"><param name="conversionpattern" value="%m"/></layout>
           </appender></configuration>""",
        """<configuration><appender name="a" type="log4net.Appender.UdpAppender">
             <param name="remotePort" value="x"/>
             <layout type="log4net.Layout.PatternLayout"><param name="conversionpattern" value="%m"/></layout>
           </appender></configuration>""",
        """<configuration><appender name="a" type="log4net.Appender.UdpAppender">
             <param name="remotePort" value="1"/>
           </appender></configuration>""",
        """<configuration><appender name="a" type="log4net.Appender.UdpAppender">
             <filter type="log4net.Filter.LevelRangeFilter"/><param name="remotePort" value="1"/>
             <layout type="log4net.Layout.PatternLayout"><param name="conversionpattern" value="%m"/></layout>
           </appender></configuration>""",
        """<configuration><appender name="a" type="log4net.Appender.UdpAppender">
             <param name="remotePort" value="1"/><param name="threshold" value="loud"/>
             <layout type="log4net.Layout.PatternLayout"><param name="conversionpattern" value="%m"/></layout>
           </appender></configuration>""",
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(AppenderConfigError):
        load_appenders(_write(tmp_path, text))


def test_files_over_one_megabyte_are_rejected_like_qlik_does(tmp_path: Path) -> None:
    with pytest.raises(AppenderConfigError, match="1 MB"):
        load_appenders(_write(tmp_path, "<configuration>" + " " * (1024 * 1024) + "</configuration>"))
