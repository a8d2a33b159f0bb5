"""Fuzzing: every input is an event or a MalformedDatagram with a known reason; nothing else escapes."""

from __future__ import annotations

import re
from collections.abc import Callable

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensebutler.events import Event
from sensebutler.events.udp import EngineReloadFailedEvent, LogEvent, QixPerfEvent, TaskEvent, UserEvent
from sensebutler.sources.udp import (
    MALFORMED_REASONS,
    MalformedDatagram,
    MalformedReason,
    parse_log_datagram,
    parse_task_datagram,
    parse_user_datagram,
)
from sensebutler.sources.udp.malformed import PREVIEW_MAX
from sensebutler.sources.udp.parse_log import ENGINE_FIELDS, PROXY_FIELDS, QIX_PERF_FIELDS, SCHEDULER_FIELDS
from sensebutler.sources.udp.parse_task import TASK_TYPES

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECEIVED = 1_234
Parser = Callable[[bytes, int], Event]
PARSERS: list[Parser] = [parse_log_datagram, parse_user_datagram, parse_task_datagram]

LOG_PREFIXES = {
    "/qseow-engine/": ENGINE_FIELDS,
    "/qseow-proxy/": PROXY_FIELDS,
    "/qseow-repository/": PROXY_FIELDS,
    "/qseow-scheduler/": SCHEDULER_FIELDS,
    "/qseow-qix-perf/": QIX_PERF_FIELDS,
}
USER_PREFIXES = ["/qseow-proxy-session/", "/qseow-proxy-connection/"]
TASK_PREFIXES = [*TASK_TYPES, "/engine-reload-failed/"]
ALL_PREFIXES = [*LOG_PREFIXES, *USER_PREFIXES, *TASK_PREFIXES]

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GUID_FIELDS = {"proxy_session_id", "process_id", "session_id", "app_id", "task_id"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def outcome(parser: Parser, data: bytes) -> Event | MalformedDatagram:
    try:
        return parser(data, RECEIVED)
    except MalformedDatagram as exc:
        assert exc.reason in MALFORMED_REASONS
        assert len(exc.preview) <= PREVIEW_MAX
        assert exc.preview.isprintable()
        return exc


def assert_clean(event: Event) -> None:
    """Sanitised: no control characters, capped lengths, GUID fields normalised, numbers finite."""
    assert isinstance(event.time_ns, int)
    for field in msgspec.structs.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, str):
            assert not CONTROL.search(value), field.name
            assert len(value) <= 1000, field.name
            if field.name in GUID_FIELDS:
                assert value == "" or GUID.fullmatch(value)
        elif isinstance(value, float):
            assert value == -1.0 or 0.0 <= value < float("inf"), field.name


def prefix_variants(prefixes: list[str]) -> st.SearchStrategy[str]:
    def vary(prefix: str, upper: list[bool], before: str, after: str) -> str:
        cased = "".join(c.upper() if up else c for c, up in zip(prefix, upper, strict=False))
        return before + cased + after

    return st.builds(
        vary,
        st.sampled_from(prefixes),
        st.lists(st.booleans(), min_size=40, max_size=40),
        st.sampled_from(["", " ", "  \t"]),
        st.sampled_from(["", " ", "\r\n"]),
    )


field_text = st.text(max_size=30)
field_without_delimiter = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=";"), max_size=30)
guid = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    for parser in PARSERS:
        result = outcome(parser, data)
        if isinstance(result, Event):
            assert_clean(result)


@FUZZ
@given(prefix_variants(ALL_PREFIXES), st.lists(field_text, max_size=40))
def test_valid_prefixes_with_random_fields(prefix: str, fields: list[str]) -> None:
    data = ";".join([prefix, *fields]).encode("utf-8")
    for parser in PARSERS:
        result = outcome(parser, data)
        if isinstance(result, Event):
            assert_clean(result)


@FUZZ
@given(prefix_variants(list(LOG_PREFIXES)), st.data())
def test_log_rows_with_the_right_field_count_always_parse(prefix: str, data: st.DataObject) -> None:
    count = LOG_PREFIXES[prefix.strip().lower()]
    fields = data.draw(st.lists(field_without_delimiter, min_size=count - 1, max_size=count - 1))
    event = parse_log_datagram(";".join([prefix, *fields]).encode("utf-8"), RECEIVED)
    assert isinstance(event, QixPerfEvent if count == QIX_PERF_FIELDS else LogEvent)
    assert_clean(event)


@FUZZ
@given(
    prefix_variants(["/qseow-engine/", "/qseow-proxy/", "/qseow-scheduler/"]),
    st.lists(field_text, min_size=1, max_size=6),
    st.data(),
)
def test_semicolons_in_log_messages_never_shift_the_trailing_fields(
    prefix: str, message_parts: list[str], data: st.DataObject
) -> None:
    count = LOG_PREFIXES[prefix.strip().lower()]
    head = data.draw(st.lists(field_without_delimiter, min_size=7, max_size=7))
    exception = [] if count == ENGINE_FIELDS else [""]
    tail_count = count - 9 - len(exception)
    tail = data.draw(st.lists(guid, min_size=tail_count, max_size=tail_count))
    message = ";".join(message_parts)
    event = parse_log_datagram(";".join([prefix, *head, message, *exception, *tail]).encode(), RECEIVED)
    assert isinstance(event, LogEvent)
    assert event.message == CONTROL.sub("", message)[:1000]
    last = {"engine": event.app_id, "proxy": event.context, "scheduler": event.execution_id}[event.source]
    assert last == (tail[-1][:200] if event.source == "proxy" else tail[-1].lower())


@FUZZ
@given(prefix_variants(USER_PREFIXES), st.lists(field_without_delimiter, min_size=6, max_size=6), field_text)
def test_user_rows_always_parse(prefix: str, fields: list[str], message: str) -> None:
    event = parse_user_datagram(";".join([prefix, *fields, message]).encode("utf-8"), RECEIVED)
    assert isinstance(event, UserEvent)
    assert event.message == CONTROL.sub("", message)[:1000]
    assert_clean(event)


@FUZZ
@given(
    prefix_variants(list(TASK_TYPES)),
    st.lists(field_without_delimiter, min_size=4, max_size=4),
    guid,
    guid | st.just(""),
    st.lists(field_without_delimiter, min_size=3, max_size=3),
    field_text,
)
def test_task_rows_with_valid_ids_always_parse(
    prefix: str, first: list[str], task_id: str, app_id: str, rest: list[str], message: str
) -> None:
    data = ";".join([prefix, *first, task_id, app_id, *rest, message]).encode("utf-8")
    event = parse_task_datagram(data, RECEIVED)
    assert isinstance(event, TaskEvent)
    assert (event.task_id, event.app_id) == (task_id.lower(), app_id.lower())
    assert event.message == CONTROL.sub("", message)[:1000]
    assert_clean(event)


@FUZZ
@given(prefix_variants(list(TASK_TYPES)), st.lists(field_without_delimiter, min_size=10, max_size=10))
def test_task_rows_with_random_ids_are_events_or_id_errors(prefix: str, fields: list[str]) -> None:
    result = outcome(parse_task_datagram, ";".join([prefix, *fields]).encode("utf-8"))
    if isinstance(result, MalformedDatagram):
        assert result.reason in (MalformedReason.BAD_ID, MalformedReason.MISSING_FIELD)
    else:
        assert isinstance(result, TaskEvent)
        assert_clean(result)


@FUZZ
@given(st.lists(field_without_delimiter, min_size=7, max_size=7), guid, field_text)
def test_engine_reload_failed_rows_parse(fields: list[str], app_id: str, message: str) -> None:
    host, app_name, directory, user_id, stamp, execution_id, _ = fields
    data = ";".join(
        ["/engine-reload-failed/", host, app_id, app_name, directory, user_id, stamp, execution_id, message]
    )
    event = parse_task_datagram(data.encode("utf-8"), RECEIVED)
    assert isinstance(event, EngineReloadFailedEvent)
    assert event.app_id == app_id.lower()
    assert_clean(event)
