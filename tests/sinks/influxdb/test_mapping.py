"""The canonical mapping and its per-version rendering, without a server."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from sensebutler.events.polled import ProxySession, ProxySessions
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions, engine_uptime
from sensebutler.sinks.influxdb.schema import FIELDS, VERSIONS, output_name
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
from tests.sinks.influxdb.parse import Line, parse_records
from tests.sinks.output_events import T0_NS, health, scheduler_log_event, server, sessions, user_event

DOCS = Path(__file__).parents[3] / "docs" / "influxdb.md"
SECOND = 1_000_000_000


def mapping(version: int = 1, **options: object) -> InfluxMapping:
    return InfluxMapping(MappingOptions(version=version, **options))  # type: ignore[arg-type]


def by_measurement(lines: list[Line]) -> dict[str, Line]:
    return {line.measurement: line for line in lines}


REF = server("central", "qs-central", env="prod", primary=True)
SERVER_TAGS = {
    "host": "qs-central",
    "server_name": "central",
    "server_description": "central node",
    "env": "prod",
    "primary": "true",
}


# -- engine uptime ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        # 2024-01-15T09:45:12Z is T0; started 5 days earlier at 09:45:12 local time +01:00 = 08:45:12Z
        ("20240110T094512.000+0100", "5 days, 1h 00m 00s"),
        ("20240110T094512.000-0500", "4 days, 19h 00m 00s"),
        ("20240110T094512.000", "5 days, 0h 00m 00s"),  # no offset: UTC
        ("20240115T094511.999Z", "0 days, 0h 00m 01s"),
        ("20240116T000000.000+0000", "0 days, 0h 00m 00s"),  # started "after" the sample: clock skew
        ("not a date", ""),
        ("20241315T000000.000+0100", ""),
    ],
)
def test_engine_uptime_honours_the_utc_offset_of_started(started: str, expected: str) -> None:
    assert engine_uptime(started, T0_NS) == expected


# -- health ------------------------------------------------------------------------------------------------


def test_health_sample_gives_the_eight_butler_sos_measurements_with_server_tags() -> None:
    lines = parse_records(mapping().encode(health(REF)))
    assert [line.measurement for line in lines] == [
        "sense_server",
        "mem",
        "apps",
        "cpu",
        "session",
        "users",
        "cache",
        "saturated",
    ]
    for line in lines:
        assert line.tags == SERVER_TAGS
        assert line.time_ns == T0_NS
    m = by_measurement(lines)
    assert m["sense_server"].fields == {
        "version": '"14.173.8"',
        "started": '"20240110T030001.000+0100"',
        "uptime": '"5 days, 7h 45m 11s"',
    }
    assert m["saturated"].fields == {"saturated": "false"}
    assert m["cache"].fields == {
        "hits": "9911i",
        "lookups": "12040i",
        "added": "2100i",
        "replaced": "310i",
        "bytes_added": "884736i",
    }


@pytest.mark.parametrize(
    ("version", "mem", "cpu", "calls", "active"),
    [
        (1, "10240i", "12i", "1520334i", "4i"),
        (2, "10240.5", "12.4", "1520334u", "4u"),
        (3, "10240.5", "12i", "1520334i", "4i"),
    ],
)
def test_health_field_types_are_those_butler_sos_wrote_to_each_version(
    version: int, mem: str, cpu: str, calls: str, active: str
) -> None:
    m = by_measurement(parse_records(mapping(version).encode(health(REF, cpu_total=12.4))))
    assert m["mem"].fields["comitted"] == mem
    assert m["cpu"].fields["total"] == cpu
    assert m["apps"].fields["calls"] == calls
    assert m["session"].fields["active"] == active
    assert m["cache"].fields["added"] == "2100i"  # int in every version


def test_negative_counters_are_clamped_to_zero_and_counted() -> None:
    influx = mapping(2)
    event = health(REF, cache_bytes_added=-2068853448, calls=-1, cpu_total=-3.0)
    m = by_measurement(parse_records(influx.encode(event)))
    assert m["cache"].fields["bytes_added"] == "0i"
    assert m["apps"].fields["calls"] == "0u"
    assert m["cpu"].fields["total"] == "0"
    influx.encode(health(REF, cache_bytes_added=-5))
    assert influx.clamped == {"cache.bytes_added": 2, "apps.calls": 1, "cpu.total": 1}
    assert influx.values_clamped == 4


def test_counters_beyond_int64_are_clamped_too() -> None:
    influx = mapping(1)
    m = by_measurement(parse_records(influx.encode(health(REF, cache_hits=2**64))))
    assert m["cache"].fields["hits"] == f"{2**63 - 1}i"
    assert influx.clamped == {"cache.hits": 1}


def test_app_lists_are_empty_unless_included() -> None:
    m = by_measurement(parse_records(mapping().encode(health(REF))))
    apps = m["apps"].fields
    assert (apps["active_docs_count"], apps["loaded_docs_count"], apps["in_memory_docs_count"]) == (
        "2i",
        "3i",
        "5i",
    )
    for name in ("active_docs", "loaded_docs", "in_memory_docs"):
        assert apps[name] == '""'
        assert apps[f"{name}_names"] == '""'
    assert apps["in_memory_session_docs_names"] == '""'


@pytest.mark.parametrize(
    ("version", "names", "session_names"),
    [
        (1, '"\\"Finance\\",\\"HR\\",\\"Sales\\""', '"\\"SessionApp_1\\",\\"SessionApp_2\\""'),
        (2, '"Finance,HR,Sales"', '"SessionApp_1,SessionApp_2"'),
        (3, '"Finance,HR,Sales"', '"SessionApp_1,SessionApp_2"'),
    ],
)
def test_included_app_lists_carry_ids_sorted_names_and_session_apps_apart(
    version: int, names: str, session_names: str
) -> None:
    influx = mapping(version, include_docs=frozenset({"in_memory_docs"}))
    apps = by_measurement(parse_records(influx.encode(health(REF))))["apps"].fields
    assert apps["in_memory_docs"] == '"a1,a2,a3,SessionApp_1,SessionApp_2"'
    assert apps["in_memory_docs_names"] == names
    assert apps["in_memory_session_docs_names"] == session_names
    assert apps["active_docs"] == '""'


def test_unknown_app_ids_are_listed_by_id_and_nothing_is_named_without_app_name_polling() -> None:
    event = health(REF, active_docs=("zz-unknown", "a2"))
    included = frozenset({"active_docs"})
    apps = by_measurement(parse_records(mapping(2, include_docs=included).encode(event)))["apps"].fields
    assert apps["active_docs_names"] == '"Finance,zz-unknown"'
    unnamed = by_measurement(parse_records(mapping(2, include_docs=included, app_names=False).encode(event)))
    assert unnamed["apps"].fields["active_docs_names"] == '""'
    assert unnamed["apps"].fields["active_docs"] == '"zz-unknown,a2"'


# -- proxy sessions ------------------------------------------------------------------------------------


def test_sessions_summary_and_list_count_everyone_details_skip_excluded_users() -> None:
    event = sessions(REF, "/hdr", count=4)
    lines = parse_records(mapping(1).encode(event))
    assert [line.measurement for line in lines] == [
        "user_session_summary",
        "user_session_list",
        "user_session_details",
        "user_session_details",
        "user_session_details",
    ]
    tags = {**SERVER_TAGS, "user_session_virtual_proxy": "/hdr", "user_session_host": "qs-central:4243"}
    summary, listing, *details = lines
    assert summary.tags == tags == listing.tags
    expected = {
        "session_count": "4i",
        "session_user_id_list": '"ACME\\\\jdoe,ACME\\\\asmith,INTERNAL\\\\sa_scheduler"',
    }
    assert summary.fields == expected == listing.fields
    assert [d.tags["user_session_user_id"] for d in details] == ["jdoe", "asmith", "jdoe"]
    assert all("user_session_id" not in d.tags for d in details)  # unbounded id: a field
    assert [d.fields["session_id"] for d in details] == [
        f'"5e1f1f1f-aaaa-bbbb-cccc-00000000000{i}"' for i in range(3)
    ]
    assert details[0].fields["user_directory"] == '"ACME"'
    # two sessions of one user share a series: distinct timestamps keep both
    assert len({(d.time_ns, d.tags["user_session_user_id"]) for d in details}) == 3
    assert all(T0_NS <= d.time_ns < T0_NS + 1000 for d in details)


def test_no_sessions_still_reports_a_zero_count() -> None:
    event = ProxySessions(
        time_ns=T0_NS, server=REF, virtual_proxy="/", proxy_host="qs-central:4243", sessions=()
    )
    lines = parse_records(mapping(2).encode(event))
    assert [(line.measurement, line.fields["session_count"]) for line in lines] == [
        ("user_session_summary", "0u"),
        ("user_session_list", "0u"),
    ]


def test_excluded_only_sessions_give_no_details() -> None:
    only_excluded = (ProxySession("INTERNAL", "sa_scheduler", "s-1", excluded=True),)
    event = ProxySessions(
        time_ns=T0_NS, server=REF, virtual_proxy="/", proxy_host="h:4243", sessions=only_excluded
    )
    assert [line.measurement for line in parse_records(mapping().encode(event))] == [
        "user_session_summary",
        "user_session_list",
    ]


# -- poll failures and self metrics ----------------------------------------------------------------------


def test_poll_failure_is_a_butler_sos_error_point() -> None:
    (line,) = parse_records(mapping().encode(poll_failed(REF)))
    assert line.measurement == "butler_sos_errors"
    # Butler SOS: the host tag is the polled host:port; its v1 writer writes numbers as floats
    host = {"host": "qs-central:4747"}
    assert line.tags == {**SERVER_TAGS, **host, "error_type": "HEALTH_API", "module": "HEALTH_METRICS"}
    assert line.fields == {
        "error_category": '"timeout"',
        "error_code": '"ECONNABORTED"',
        "error_message": '"no answer within 5 s"',
        "error_count": "1",
        "duration_ms": "5001.5",
        "request_url": '"https://qs-central:4747/engine/healthcheck"',
        "request_timeout_ms": "5000",
    }


@pytest.mark.parametrize(("version", "suffix"), [(2, "i"), (3, "i")])
def test_poll_failure_counts_are_integers_in_v2_and_v3(version: int, suffix: str) -> None:
    (line,) = parse_records(mapping(version).encode(poll_failed(REF, http_status=503)))
    assert line.fields["error_count"] == f"1{suffix}"
    assert line.fields["http_status"] == f"503{suffix}"
    assert line.fields["request_timeout_ms"] == f"5000{suffix}"


def test_a_refused_tls_handshake_is_connection_reset_and_app_name_errors_keep_the_qrs_host() -> None:
    event = poll_failed(REF, target="app_names", category="tls_error", error_code="ECONNRESET")
    (line,) = parse_records(mapping().encode(event))
    assert line.fields["error_category"] == '"connection_reset"'
    assert line.tags["host"] == "qs-central"
    assert line.tags["env"] == "prod"  # the server's own tags


@pytest.mark.parametrize(
    ("category", "status", "expected"),
    [
        ("http_4xx", 401, "auth_error"),
        ("http_4xx", 404, "not_found"),
        ("tls_error", None, "certificate_error"),
    ],
)
def test_poll_failure_categories_use_butler_sos_words(
    category: str, status: int | None, expected: str
) -> None:
    event = poll_failed(REF, target="sessions", virtual_proxy="/hdr", category=category, http_status=status)
    (line,) = parse_records(mapping().encode(event))
    assert line.tags["error_type"] == "PROXY_API"
    assert line.tags["virtual_proxy"] == "/hdr"
    assert line.fields["error_category"] == f'"{expected}"'
    assert ("http_status" in line.fields) == (status is not None)


def test_self_metrics_give_memory_usage_sink_processor_and_poll_points() -> None:
    influx = mapping(1, instance="prod-sb")
    influx.encode(health(REF, cache_bytes_added=-1))  # one clamped value, reported on our own row
    lines = parse_records(influx.encode(self_metrics()))
    memory, sink, other_sink, processor, poll = lines
    assert (processor.measurement, processor.tags) == (
        "sensebutler_processor",
        {"instance": "prod-sb", "processor": "reload alerts"},
    )
    assert processor.fields == {
        "received": "5i",
        "processed": "3i",
        "emitted": "3i",
        "failed": "1i",
        "queued": "0i",
        "restarts": "0i",
        "dropped": "1i",
        "dropped_duplicate": "1i",
    }
    assert memory.measurement == "butlersos_memory_usage"
    assert memory.tags == {"butler_sos_instance": "prod-sb", "version": "0.1.0"}
    assert memory.fields == {
        "heap_used": "150.5",
        "heap_total": "150.5",
        "process_memory": "150.5",
        "uptime_s": "3600.5",
        "cpu_pct": "3.25",
    }
    assert (sink.measurement, sink.tags) == ("sensebutler_sink", {"instance": "prod-sb", "sink": "influxdb"})
    assert sink.fields == {
        "delivered": "100i",
        "retried": "2i",
        "spooled": "10i",
        "queued": "1i",
        "spool_records": "0i",
        "spool_bytes": "0i",
        "dropped": "3i",
        "dropped_rejected": "3i",
        "values_clamped": "1i",
    }
    assert other_sink.tags["sink"] == "mqtt"
    assert "values_clamped" not in other_sink.fields
    assert (poll.measurement, poll.tags) == (
        "sensebutler_poll",
        {"instance": "prod-sb", "target": "health:central"},
    )
    assert poll.fields == {
        "polls": "10i",
        "failures": "1i",
        "skipped_overlap": "0i",
        "last_ms": "42",
        "max_ms": "120.5",
    }


def test_self_metrics_instance_falls_back_to_the_event() -> None:
    (memory, *_) = parse_records(mapping(1).encode(self_metrics()))
    assert memory.tags["butler_sos_instance"] == "host-a"


# -- UDP ingest reports ------------------------------------------------------------------------------------


def test_event_count() -> None:
    (line,) = parse_records(mapping(2).encode(event_count()))
    assert (line.measurement, line.fields) == ("event_count", {"counter": "17i"})
    assert line.tags == {
        "event_type": "log",
        "source": "qseow-engine",
        "host": "QS-PROD-01",
        "subsystem": "System.Engine.Engine",
    }


def test_rejected_event_count_says_whether_the_app_name_was_known() -> None:
    (line,) = parse_records(mapping(1).encode(rejected_event_count()))
    assert line.measurement == "rejected_event_count"
    assert line.tags == {
        "source": "qseow-qix-perf",
        "app_id": "e7af59a0-c243-480d-9571-08727551a66f",
        "method": "Doc::GetObject",
        "object_type": "barchart",
        "app_name": "Sales",
        "app_name_set": "true",
    }
    assert line.fields == {"counter": "5", "process_time": "123.25"}  # v1: a float, as Butler SOS
    (unnamed,) = parse_records(mapping(1).encode(rejected_event_count(app_name="")))
    assert "app_name" not in unnamed.tags
    assert unnamed.tags["app_name_set"] == "false"


def test_udp_queue_metrics_use_butler_sos_names_plus_our_drop_reasons() -> None:
    (line,) = parse_records(mapping(2).encode(udp_queue()))
    assert line.measurement == "log_events_queue"
    assert line.tags == {"queue_type": "log_events", "host": "sensebutler-host"}
    assert line.fields == {
        "queue_size": "50i",
        "queue_max_size": "200i",
        "queue_utilization_pct": "25",
        "messages_received": "1000i",
        "messages_queued": "990i",
        "messages_processed": "980i",
        "messages_failed": "2i",
        "messages_dropped_total": "10i",
        "messages_dropped_rate_limit": "4i",
        "messages_dropped_queue_full": "0i",
        "messages_dropped_size": "1i",
        "messages_dropped_source_not_allowed": "5i",
        "messages_malformed": "4i",
        "kernel_drops": "7i",
        "processing_time_avg_ms": "0.4",
        "processing_time_p95_ms": "1.5",
        "processing_time_max_ms": "3",
        "rate_limit_current": "3000i",
        "backpressure_active": "1i",
    }
    (user,) = parse_records(mapping(2).encode(udp_queue(queue_type="user_events", backpressure_active=False)))
    assert (user.measurement, user.fields["backpressure_active"]) == ("user_events_queue", "0i")


def test_v1_writes_butler_sos_queue_counters_as_floats_and_our_own_as_integers() -> None:
    (line,) = parse_records(mapping(1).encode(udp_queue()))
    assert (line.fields["queue_size"], line.fields["backpressure_active"]) == ("50", "1")
    assert (line.fields["messages_malformed"], line.fields["kernel_drops"]) == ("4i", "7i")


def test_ingest_reports_carry_their_configured_static_tags() -> None:
    influx = mapping(
        1,
        event_count_tags={"qs_env": "prod", "source": "ignored"},
        rejected_event_tags={"qs_env": "perf"},
        queue_tags={"log_events": {"qs_env": "queue"}},
    )
    (count,) = parse_records(influx.encode(event_count()))
    assert (count.tags["qs_env"], count.tags["source"]) == ("prod", "qseow-engine")  # the event's own wins
    (rejected,) = parse_records(influx.encode(rejected_event_count()))
    assert rejected.tags["qs_env"] == "perf"
    (queue,) = parse_records(influx.encode(udp_queue()))
    assert queue.tags["qs_env"] == "queue"
    (user_queue,) = parse_records(influx.encode(udp_queue(queue_type="user_events")))
    assert "qs_env" not in user_queue.tags


# -- UDP events --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "result_code"),
    [(1, "result_code"), (2, "result_code_field"), (3, "result_code_field")],
)
def test_proxy_log_event(version: int, result_code: str) -> None:
    (line,) = parse_records(mapping(version, log_event_tags={"env": "prod"}).encode(proxy_log_event()))
    assert line.measurement == "log_event"
    assert line.tags == {
        "env": "prod",
        "host": "QS-PROD-01",
        "level": "ERROR",
        "source": "qseow-proxy",
        "subsystem": "Audit.Proxy.Proxy.SessionEstablishment",
        "user_full": "ACME\\jdoe",
        "user_directory": "ACME",
        "user_id": "jdoe",
        "result_code": "403",
    }
    assert line.fields[result_code] == '"403"'
    assert line.fields["command"] == '"Login"'
    log_row = "log_row_field" if version == 3 else "log_row"
    assert line.fields[log_row] == "88i"
    assert "log_row" not in line.tags


@pytest.mark.parametrize("version", VERSIONS)
def test_scheduler_log_event_with_categories_and_raw_event(version: int) -> None:
    event = scheduler_log_event()
    (line,) = parse_records(mapping(version, raw_event=True).encode(event))
    assert line.tags["qs_log_category"] == "reload-failed"
    assert line.tags["task_name"] == "Manually triggered reload of Test failing reloads 2"
    assert line.tags["source"] == "qseow-scheduler"
    suffix = "_field" if version == 3 else ""
    assert line.fields[f"app_id{suffix}"] == '"e7af59a0-c243-480d-9571-08727551a66f"'
    assert line.fields[f"app_name{suffix}"] == '"Test failing reloads 2"'
    assert line.fields["execution_id"] == '"4831c6a5-34f6-45bb-9d40-73a6e6992670"'
    raw = orjson.loads(line.fields["raw_event"][1:-1].replace('\\"', '"').replace("\\\\", "\\"))
    assert raw["source"] == "qseow-scheduler"
    assert raw["log_row"] == 14
    assert raw["category"] == [{"name": "qs_log_category", "value": "reload-failed"}]
    assert raw["user_full"] == "LAB\\goran"


def test_raw_event_is_off_by_default() -> None:
    (line,) = parse_records(mapping(1).encode(scheduler_log_event()))
    assert "raw_event" not in line.fields
    (line,) = parse_records(mapping(1).encode(qix_perf_event()))
    assert "raw_event" not in line.fields


def test_engine_log_event_moves_session_ids_to_fields() -> None:
    (line,) = parse_records(mapping(1).encode(engine_log_event()))
    assert line.tags["engine_exe_version"] == "14.173.8.0"
    assert line.tags["app_name"] == "Sales"
    assert line.tags["windows_user"] == "LAB\\qlikservice"
    assert "proxy_session_id" not in line.tags and "session_id" not in line.tags
    assert line.fields["session_id"] == '"77d0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1bb"'
    assert line.fields["proxy_session_id"] == '"6bd0f1a9-7a3d-4a4e-8f7e-0d7d06f3c1aa"'


@pytest.mark.parametrize(
    ("version", "handle", "unknown"),
    [(1, "3i", "<Unknown>"), (2, '"3"', None), (3, "3i", "Unknown")],
)
def test_qix_perf_event(version: int, handle: str, unknown: str | None) -> None:
    (line,) = parse_records(mapping(version).encode(qix_perf_event()))
    assert line.tags["source"] == "qseow-qix-perf"
    assert (line.tags["method"], line.tags["object_type"]) == ("Doc::GetObject", "barchart")
    assert line.tags["event_activity_source"] == "user"
    assert line.tags["app_id"] == "e7af59a0-c243-480d-9571-08727551a66f"
    for moved in ("proxy_session_id", "session_id", "object_id", "log_row"):
        assert moved not in line.tags
        assert output_name("log_event", moved, version) in line.fields
    assert line.fields["handle"] == handle
    assert line.fields["process_time"] == "12.5"
    assert line.fields["net_ram"] == "2048i"
    (bare,) = parse_records(mapping(version).encode(qix_perf_event(method="", object_type="")))
    assert bare.tags.get("method") == unknown
    assert bare.tags.get("object_type") == unknown


def test_qix_perf_missing_numbers_are_left_out() -> None:
    event = qix_perf_event(process_time=-1.0, handle=-99, net_ram=-1, peak_ram=-1, log_row=-1)
    (line,) = parse_records(mapping(1).encode(event))
    for name in ("process_time", "handle", "net_ram", "peak_ram", "log_row"):
        assert name not in line.fields
    assert line.fields["work_time"] == "11"


@pytest.mark.parametrize(
    ("version", "names"),
    [
        (1, ("userFull", "userId", "appId", "appName")),
        (2, ("userFull", "userId", "appId_field", "appName_field")),
        (3, ("userFull_field", "userId_field", "appId_field", "appName_field")),
    ],
)
def test_user_event_field_names_per_version(version: int, names: tuple[str, ...]) -> None:
    (line,) = parse_records(mapping(version, user_event_tags={"qs_env": "dev"}).encode(user_event()))
    assert line.measurement == "user_events"
    assert line.tags == {
        "qs_env": "dev",
        "host": "QS-PROD-01",
        "event_action": "Open connection",
        "userFull": "ACME\\jdoe",
        "userDirectory": "ACME",
        "userId": "jdoe",
        "origin": "https://qlik.acme.com",
        "appId": "7d5f6e2a-1111-2222-3333-444444444444",
        "appName": "Operations Dashboard",
        "uaBrowserName": "Chrome",
        "uaBrowserMajorVersion": "120",
        "uaOsName": "Windows",
        "uaOsVersion": "NT 10.0",
    }
    assert tuple(line.fields) == names
    assert line.fields[names[0]] == '"ACME\\\\jdoe"'


def test_user_event_without_app_has_no_app_tags_or_fields() -> None:
    (line,) = parse_records(mapping(1).encode(user_event(app_id="", app_name="", ua_browser_name="")))
    assert not {"appId", "appName", "uaBrowserName"} & (line.tags.keys() | line.fields.keys())


def test_event_tags_win_over_config_tags_with_the_same_name() -> None:
    (line,) = parse_records(
        mapping(1, log_event_tags={"host": "spoofed", "site": "x"}).encode(proxy_log_event())
    )
    assert (line.tags["host"], line.tags["site"]) == ("QS-PROD-01", "x")


def test_udp_points_sharing_series_and_millisecond_get_distinct_timestamps() -> None:
    influx = mapping(1)
    times = [parse_records(influx.encode(qix_perf_event()))[0].time_ns for _ in range(1000)]
    assert len(set(times)) == 1000
    assert all(T0_NS <= t < T0_NS + 1000 for t in times)  # still inside the source's millisecond


def test_a_lone_surrogate_costs_one_character_not_the_event() -> None:
    (record,) = mapping(1).encode(proxy_log_event(message="bad \ud800 char"))
    assert parse_records([record])[0].fields["message"] == '"bad ? char"'


def test_unsupported_events_give_nothing() -> None:
    from sensebutler.events.udp import TaskEvent

    assert mapping().encode(TaskEvent(event_type="failed", raw_type="/scheduler-reloadfailed/")) == []


# -- the documentation keeps up with the schema ----------------------------------------------------------


def test_docs_name_every_measurement_and_every_field_as_written_to_each_version() -> None:
    text = DOCS.read_text()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    missing = [
        f"{measurement}.{output_name(measurement, name, version)}"
        for measurement, fields in FIELDS.items()
        for name in fields
        for version in VERSIONS
        if measurement not in words or output_name(measurement, name, version) not in words
    ]
    assert not missing, f"docs/influxdb.md does not mention: {sorted(set(missing))}"


def test_uptime_of_a_whole_number_of_days() -> None:
    assert engine_uptime("20240105T094512.123+0000", T0_NS + 2 * SECOND) == "10 days, 0h 00m 02s"
