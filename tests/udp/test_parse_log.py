"""Log-event datagrams: the reference fixtures, reconstructed examples and the edge cases."""

from __future__ import annotations

from datetime import datetime

import pytest

from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.sources.udp import MalformedDatagram, MalformedReason, parse_log_datagram

RECEIVED = 1_700_000_000_000_000_000
G = "3b3b3b3b-3b3b-3b3b-3b3b-3b3b3b3b3b3b"


def ns(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) * 1_000_000_000


def log(datagram: str | bytes) -> LogEvent:
    event = parse_log_datagram(datagram.encode() if isinstance(datagram, str) else datagram, RECEIVED)
    assert isinstance(event, LogEvent)
    return event


def qix(datagram: str) -> QixPerfEvent:
    event = parse_log_datagram(datagram.encode(), RECEIVED)
    assert isinstance(event, QixPerfEvent)
    return event


def malformed(datagram: bytes) -> MalformedReason:
    with pytest.raises(MalformedDatagram) as info:
        parse_log_datagram(datagram, RECEIVED)
    return info.value.reason


# ------------------------------------------------------------------------ Butler SOS test fixtures


def test_engine_fixture() -> None:
    e = log(
        f"/qseow-engine/;1;20211109T153726.028+0200;2021-11-09 15:37:26,028;WARN;host1;sub1;user1;message1;"
        f"{G};dir1;uid1;ts1;{G};v1;ts2;type1;{G};{G}"
    )
    assert (e.source, e.log_row, e.level, e.host, e.subsystem, e.windows_user, e.message) == (
        "engine", 1, "WARN", "host1", "sub1", "user1", "message1"
    )  # fmt: skip
    # Butler SOS blanks both timestamps here; they are the forms the appender really sends
    assert e.ts_iso == "20211109T153726.028+0200"
    assert e.ts_local == "2021-11-09 15:37:26,028"
    assert e.time_ns == ns("2021-11-09T15:37:26+02:00") + 28_000_000
    assert (e.proxy_session_id, e.process_id, e.session_id, e.app_id) == (G, G, G, G)
    assert (e.user_directory, e.user_id, e.user_full) == ("dir1", "uid1", "dir1\\uid1")
    assert (e.engine_ts, e.engine_exe_version) == ("ts1", "v1")
    assert (e.server_started, e.entry_type) == ("ts2", "type1")
    assert e.exception_message == e.command == e.task_id == ""


def test_qix_perf_fixture() -> None:
    e = qix(
        "/qseow-qix-perf/;1;20211109T153726.028+0200;2021-11-09 15:37:26,028;WARN;host1;sub1;user1;0;"
        f"dir1;uid1;ts1;{G};uuid4;{G};method1;100;100;100;100;100;1;obj1;100;100;type1"
    )
    assert e.proxy_session_id == ""  # "0" (engine-internal) is no session id, as in Butler SOS
    assert e.event_activity_source == "non-user"
    assert e.session_id == G
    assert e.app_id == ""  # "uuid4" is no GUID
    assert e.request_id == -99  # a GUID where a number belongs → the sentinel
    assert e.method == "method1"
    assert (e.process_time, e.work_time, e.lock_time, e.validate_time, e.traverse_time) == (100.0,) * 5
    assert (e.handle, e.object_id, e.net_ram, e.peak_ram, e.object_type) == (1, "obj1", 100, 100, "type1")
    assert e.time_ns == ns("2021-11-09T15:37:26+02:00") + 28_000_000


def test_proxy_fixture_with_engine_shaped_fields_is_anchored_from_both_ends() -> None:
    """Butler SOS's proxy fixture reuses the 19-field engine string: 3 fields too many for a proxy row.

    The six trailing fields come from the end; the extra ``;`` land in the message.
    """
    e = log(
        f"/qseow-proxy/;1;20211109T153726.028+0200;2021-11-09 15:37:26,028;WARN;host1;sub1;user1;message1;"
        f"{G};dir1;uid1;ts1;{G};v1;ts2;type1;{G};{G}"
    )
    assert e.source == "proxy"
    assert e.message == f"message1;{G};dir1;uid1"
    assert e.exception_message == "ts1"
    assert (e.user_directory, e.user_id, e.command, e.result_code, e.origin, e.context) == (
        G, "v1", "ts2", "type1", G, G
    )  # fmt: skip


# ------------------------------------------------------------------- reconstructed reference rows


def test_engine_reconstructed_rows() -> None:
    e = log(
        "/qseow-engine/;1434;20240115T094601.002+0100;2024-01-15 09:46:01,002;ERROR;QS-PROD-01;"
        "Performance.Engine.Engine;ACME\\svc-qlik;Engine is running low on memory;;;;"
        "2024-01-15T09:46:01.000+01:00;5e1f1f1f-aaaa-bbbb-cccc-ddddeeeeffff;14.173.8;"
        "2024-01-10T03:00:01.000+01:00;Error;;"
    )
    assert e.level == "ERROR"
    assert e.windows_user == "ACME\\svc-qlik"
    assert e.message == "Engine is running low on memory"
    assert e.user_full == e.proxy_session_id == e.session_id == e.app_id == ""
    assert e.process_id == "5e1f1f1f-aaaa-bbbb-cccc-ddddeeeeffff"
    assert e.entry_type == "Error"
    assert e.time_ns == ns("2024-01-15T09:46:01+01:00") + 2_000_000


def test_proxy_and_repository_rows() -> None:
    proxy = log(
        "/qseow-proxy/;2551;20240115T101502.456+0100;2024-01-15 10:15:02,456;WARN;QS-PROD-01;"
        "Audit.Proxy.Proxy.Core.RequestListener;ACME\\svc-qlik;Access was denied for User: 'ACME\\jdoe';;"
        "ACME;jdoe;Authenticate;403;Proxy;/hub"
    )
    assert proxy.source == "proxy"
    assert proxy.message == "Access was denied for User: 'ACME\\jdoe'"
    assert proxy.exception_message == ""
    assert (proxy.user_full, proxy.command, proxy.result_code, proxy.origin, proxy.context) == (
        "ACME\\jdoe", "Authenticate", "403", "Proxy", "/hub"
    )  # fmt: skip
    repo = log(
        "/qseow-repository/;812;20240115T110000.789+0100;2024-01-15 11:00:00,789;ERROR;QS-PROD-02;"
        "System.Repository.Repository.Core.Service.ServiceAliveChecker;ACME\\svc-qlik;"
        "Failed to request service alive response from https://qs-prod-03:4899/;"
        "Unable to connect to the remote server;;;;;;"
    )
    assert repo.source == "repository"
    assert repo.message == "Failed to request service alive response from https://qs-prod-03:4899/"
    assert repo.exception_message == "Unable to connect to the remote server"
    assert repo.user_full == repo.context == ""


def test_scheduler_rows_and_user_normalisation() -> None:
    first = log(
        "/qseow-scheduler/;14;20211109T193744.331+0100;2021-11-09 19:37:44,331;ERROR;QS-PROD-01;"
        "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask;LAB\\qlikservice;"
        "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.;;"
        "LAB;goran;LAB\\goran;"
        "Manually triggered reload of Test failing reloads 2;Test failing reloads 2;"
        "dec2a02a-1680-44ef-8dc2-e2bfb180af87;e7af59a0-c243-480d-9571-08727551a66f;"
        "4831c6a5-34f6-45bb-9d40-73a6e6992670"
    )
    assert first.source == "scheduler"
    # Butler SOS leaves both empty for this very row (§2.7); the event time is the row's own
    assert first.ts_iso == "20211109T193744.331+0100"
    assert first.ts_local == "2021-11-09 19:37:44,331"
    assert first.time_ns == ns("2021-11-09T19:37:44+01:00") + 331_000_000
    assert (first.user_directory, first.user_id, first.user_full) == ("LAB", "goran", "LAB\\goran")
    assert first.task_name == "Manually triggered reload of Test failing reloads 2"
    assert first.app_name == "Test failing reloads 2"
    assert first.task_id == "dec2a02a-1680-44ef-8dc2-e2bfb180af87"
    assert first.app_id == "e7af59a0-c243-480d-9571-08727551a66f"
    assert first.execution_id == "4831c6a5-34f6-45bb-9d40-73a6e6992670"

    # directory and id empty: both come from the User property
    second = log(
        "/qseow-scheduler/;15;20211109T193745.002+0100;2021-11-09 19:37:45,002;WARN;QS-PROD-01;"
        "System.Scheduler.Scheduler.Master.Task.TaskSession;LAB\\qlikservice;"
        "Task finished with state FinishedFail;"
        ";;;INTERNAL\\sa_scheduler;Reload Sales;Sales;dec2a02a-1680-44ef-8dc2-e2bfb180af87;"
        "e7af59a0-c243-480d-9571-08727551a66f;4831c6a5-34f6-45bb-9d40-73a6e6992670"
    )
    assert (second.user_directory, second.user_id, second.user_full) == (
        "INTERNAL", "sa_scheduler", "INTERNAL\\sa_scheduler"
    )  # fmt: skip

    # no usable user at all
    third = log(
        "/qseow-scheduler/;16;20211109T193745.002+0100;2021-11-09 19:37:45,002;WARN;h;l;u;m;;;;nobody;t;a;;;"
    )
    assert (third.user_directory, third.user_id, third.user_full) == ("", "", "")


def test_qix_perf_user_row() -> None:
    e = qix(
        "/qseow-qix-perf/;3001;20240115T120001.001+0100;2024-01-15 12:00:01,001;INFO;QS-PROD-01;"
        "QixPerformance.Engine.Engine;ACME\\svc-qlik;a0b1c2d3-1111-2222-3333-444455556666;ACME;jdoe;"
        "2024-01-15T12:00:01.000+01:00;0f0e0d0c-1234-4abc-9def-001122334455;7d5f6e2a-1111-2222-3333-444444444444;"
        "42;GenericObject::GetLayout;153.2;150.1;0.4;1.2;2.1;17;rwPjBk;123456;524288;barchart"
    )
    assert e.event_activity_source == "user"
    assert e.proxy_session_id == "a0b1c2d3-1111-2222-3333-444455556666"
    assert e.user_full == "ACME\\jdoe"
    assert e.app_id == "7d5f6e2a-1111-2222-3333-444444444444"
    assert (e.request_id, e.method) == (42, "GenericObject::GetLayout")
    assert (e.process_time, e.work_time) == (153.2, 150.1)
    assert (e.lock_time, e.validate_time, e.traverse_time, e.handle) == (0.4, 1.2, 2.1, 17)
    assert (e.object_id, e.net_ram, e.peak_ram, e.object_type) == ("rwPjBk", 123456, 524288, "barchart")


# ------------------------------------------------------------------------------------ edge cases

ENGINE_TAIL = f"{G};ACME;jdoe;ets;{G};14.1;started;Error;{G};{G}"
HEAD = "20240115T094512.123+0100;2024-01-15 09:45:12,123;WARN;host;System.Engine.Engine;ACME\\svc"


@pytest.mark.parametrize(
    "message",
    ["a;b", "Reload failed; retrying; attempt 3 of 3", ";", ";;leading and trailing;;", "semi;colon;" * 20],
)
def test_semicolons_inside_the_engine_message(message: str) -> None:
    e = log(f"/qseow-engine/;7;{HEAD};{message};{ENGINE_TAIL}")
    assert e.message == message
    assert (e.user_id, e.engine_exe_version, e.app_id) == ("jdoe", "14.1", G)


def test_semicolons_in_proxy_message_go_to_the_message_and_the_exception_stays_last() -> None:
    message = "Access denied; user 'x'; path /a"
    e = log(f"/qseow-proxy/;7;{HEAD};{message};System.Exception: boom;ACME;jdoe;C;500;O;/ctx")
    assert e.message == "Access denied; user 'x'; path /a"
    assert e.exception_message == "System.Exception: boom"
    assert (e.user_full, e.command, e.result_code) == ("ACME\\jdoe", "C", "500")
    assert (e.origin, e.context) == ("O", "/ctx")


def test_semicolons_in_scheduler_message() -> None:
    tail = f"LAB;goran;LAB\\goran;Task;App;{G};{G};{G}"
    e = log(f"/qseow-scheduler/;9;{HEAD};Script error; line 12; Field not found;;{tail}")
    assert e.message == "Script error; line 12; Field not found"
    assert e.exception_message == ""
    assert (e.task_name, e.app_name, e.execution_id) == ("Task", "App", G)


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("20240115T094512.123-0500", "2024-01-15T14:45:12.123+00:00"),
        ("2024-01-15T09:45:12.123-05:00", "2024-01-15T14:45:12.123+00:00"),
        ("2024-01-15T09:45:12.123-0330", "2024-01-15T13:15:12.123+00:00"),
        ("2024-01-15T09:45:12+0545", "2024-01-15T04:00:12+00:00"),
        ("20240115T094512Z", "2024-01-15T09:45:12+00:00"),
        ("20240115T094512.1234567+0000", "2024-01-15T09:45:12.1234567+00:00"),
    ],
)
def test_any_utc_offset_and_optional_fraction(iso: str, expected: str) -> None:
    e = log(f"/qseow-engine/;7;{iso};2024-01-15 09:45:12,123;WARN;h;l;u;m;{ENGINE_TAIL}")
    assert e.ts_iso == iso
    whole, _, fraction = expected.removesuffix("+00:00").partition(".")
    assert e.time_ns == ns(whole + "+00:00") + int(fraction.ljust(9, "0"))


@pytest.mark.parametrize(
    "bad", ["", "yesterday", "20241315T094512.123+0100", "20240115T094512.123+2500", "2024"]
)
def test_invalid_timestamps_are_blanked_and_received_time_used(bad: str) -> None:
    e = log(f"/qseow-engine/;7;{bad};{bad};WARN;h;l;u;m;{ENGINE_TAIL}")
    assert e.ts_iso == e.ts_local == ""
    assert e.time_ns == RECEIVED


def test_hyphenated_iso_is_accepted_for_the_local_field() -> None:
    stamps = "20240115T094512.123+0100;2024-01-15T09:45:12.123+0100"
    e = log(f"/qseow-engine/;7;{stamps};WARN;h;l;u;m;{ENGINE_TAIL}")
    assert e.ts_local == "2024-01-15T09:45:12.123+0100"


def test_upper_case_guids_are_accepted_and_lowered() -> None:
    upper = "7D5F6E2A-1111-2222-3333-44444444ABCD"
    e = log(f"/qseow-engine/;7;{HEAD};m;{upper};d;u;e;{upper};v;s;t;{upper};{upper}")
    assert e.proxy_session_id == e.process_id == e.session_id == e.app_id == upper.lower()


@pytest.mark.parametrize(
    "bad", ["not-a-guid", G[:-1], G + "0", "g" + G[1:], G.replace("-", "_"), " " + G[1:]]
)
def test_invalid_guids_are_blanked(bad: str) -> None:
    e = log(f"/qseow-engine/;7;{HEAD};m;{bad};d;u;e;{bad};v;s;t;{bad};{bad}")
    assert e.proxy_session_id == e.process_id == e.session_id == e.app_id == ""


def test_control_characters_are_removed_from_every_field() -> None:
    raw = (
        f"/qseow-\x00engine/;1\t2;{HEAD};line one\r\nline two\x1b[31m;{G};AC\x7fME;jdoe\x01;ets;"
        f"{G};14.1;started;Error;{G};{G}\r\n"
    ).encode()
    e = log(raw)
    assert e.log_row == 12
    assert e.message == "line oneline two[31m"
    assert e.user_directory == "ACME"
    assert e.user_id == "jdoe"
    assert e.app_id == G


def test_oversized_fields_are_capped() -> None:
    head = HEAD.rsplit(";", 1)[0]
    e = log(f"/qseow-engine/;7;{head};{'S' * 500};{'m' * 5000};{'P' * 40};{'d' * 300};u;e;p;v;s;t;s;a")
    assert e.windows_user == "S" * 100
    assert len(e.message) == 1000
    assert e.user_directory == "d" * 100
    q = qix(
        f"/qseow-qix-perf/;1;{HEAD};0;d;u;t;{G};{G};1;{'M' * 300};1;1;1;1;1;1;{'o' * 300};1;1;{'T' * 300}"
    )
    assert (len(q.method), len(q.object_id), len(q.object_type)) == (100, 100, 100)


def test_scheduler_user_property_is_split_only_when_directory_and_id_are_empty() -> None:
    tail = "ACME;;OTHER\\someone;Task;App;;;"
    e = log(f"/qseow-scheduler/;9;{HEAD};msg;;{tail}")
    assert (e.user_directory, e.user_id, e.user_full) == ("OTHER", "someone", "OTHER\\someone")


@pytest.mark.parametrize(
    ("row", "expected"),
    [("1", 1), ("9999", 9999), ("0", -1), ("-3", -1), ("abc", -1), ("", -1), ("9" * 40, -1)],
)
def test_log_row(row: str, expected: int) -> None:
    assert log(f"/qseow-engine/;{row};{HEAD};m;{ENGINE_TAIL}").log_row == expected


QIX_HEAD = f"/qseow-qix-perf/;1;{HEAD};{G};d;u;t;{G};{G}"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("42;M;1.5;2;0;0,25;3;-1;obj;10;20", (42, 1.5, 2.0, 0.0, 0.25, 3.0, -1, 10, 20)),
        ("-1;M;nan;inf;-2;1e999;x;1.5;obj;-5;x", (-99, -1.0, -1.0, -1.0, -1.0, -1.0, -99, -1, -1)),
        (";M;;;;;;;obj;;", (-99, -1.0, -1.0, -1.0, -1.0, -1.0, -99, -1, -1)),
        ("1;M;Infinity;NaN;1;1;1;99999999999999999999999;obj;1;1", (1, -1.0, -1.0, 1.0, 1.0, 1.0, -99, 1, 1)),
    ],
)
def test_qix_numbers_fall_back_to_sentinels(fields: str, expected: tuple[float, ...]) -> None:
    e = qix(f"{QIX_HEAD};{fields};type")
    got = (e.request_id, e.process_time, e.work_time, e.lock_time, e.validate_time, e.traverse_time)
    assert (*got, e.handle, e.net_ram, e.peak_ram) == expected


@pytest.mark.parametrize("prefix", ["/QSEOW-ENGINE/", "  /qseow-engine/", "/Qseow-Engine/ \t"])
def test_prefix_case_and_surrounding_whitespace(prefix: str) -> None:
    assert log(f"{prefix};7;{HEAD};m;{ENGINE_TAIL}").source == "engine"


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", MalformedReason.EMPTY),
        (b" \r\n\x00\t ", MalformedReason.EMPTY),
        (b"/qseow-engine/;\xff\xfe;rest", MalformedReason.NOT_UTF8),
        (b"/qseow-nothing/;1;2;3", MalformedReason.UNKNOWN_TYPE),
        (b"/qseow-proxy-session/;h;Start session;D;u;o;c;m", MalformedReason.UNKNOWN_TYPE),
        (b"qseow-engine;1;2", MalformedReason.UNKNOWN_TYPE),
        (b"/qseow-engine/", MalformedReason.FIELD_COUNT),
        (b"/qseow-engine/;1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17", MalformedReason.FIELD_COUNT),
        (b"/qseow-proxy/;1;2;3;4;5;6;7;8;9;10;11;12;13;14", MalformedReason.FIELD_COUNT),
        (b"/qseow-scheduler/;1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16", MalformedReason.FIELD_COUNT),
        (b"/qseow-qix-perf/" + b";x" * 24, MalformedReason.FIELD_COUNT),
        (b"/qseow-qix-perf/" + b";x" * 26, MalformedReason.FIELD_COUNT),
    ],
)
def test_malformed_reasons(datagram: bytes, reason: MalformedReason) -> None:
    assert malformed(datagram) is reason


def test_malformed_preview_is_short_and_printable() -> None:
    with pytest.raises(MalformedDatagram) as info:
        parse_log_datagram(b"\x1b[2J/evil/\xff;" + b"A" * 500, RECEIVED)
    assert info.value.reason is MalformedReason.NOT_UTF8
    assert len(info.value.preview) == 60
    assert info.value.preview.isprintable()
    assert info.value.preview.startswith("[2J/evil/\\xff;AAA")


def test_the_events_have_the_field_order_the_parser_builds_them_in() -> None:
    """parse_log passes the fields positionally: a field added, moved or renamed must be made there too."""
    assert LogEvent.__struct_fields__ == (
        "source", "log_row", "ts_iso", "ts_local", "level", "host", "subsystem", "windows_user", "message",
        "exception_message", "user_directory", "user_id", "user_full", "proxy_session_id", "engine_ts",
        "process_id", "engine_exe_version", "server_started", "entry_type", "session_id", "command",
        "result_code", "origin", "context", "task_name", "app_name", "task_id", "app_id", "execution_id",
        "categories", "time_ns",
    )  # fmt: skip
    assert QixPerfEvent.__struct_fields__ == (
        "log_row", "ts_iso", "ts_local", "level", "host", "subsystem", "windows_user", "proxy_session_id",
        "user_directory", "user_id", "user_full", "engine_ts", "session_id", "app_id", "app_name", "request_id",
        "method", "process_time", "work_time", "lock_time", "validate_time", "traverse_time", "handle",
        "object_id", "net_ram", "peak_ram", "object_type", "event_activity_source", "categories", "time_ns",
    )  # fmt: skip
