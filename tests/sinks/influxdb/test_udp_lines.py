"""The UDP hot path of the InfluxDB mapping (``encode`` of log and QIX events, tags cached per tag
set) writes exactly what the general path (``render`` of ``points``) writes, for any field values."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.sinks.influxdb.line_protocol import format_float
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions
from sensebutler.sinks.influxdb.render import float_text

# few distinct values, so tag sets repeat and the cache is hit as well as missed
names = st.sampled_from(
    ["", "QS-PROD-01", "a b", "x,y=z", "tail\\", "ÄÖ", "WARN", "7d5f6e2a-1111-2222-3333-444444444444"]
)
texts = st.one_of(names, st.text(max_size=20))
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10).map(float), st.just(-1.0)
)
ints = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([-99, -1, 0, 1, 17]))
categories = st.lists(
    st.tuples(st.sampled_from(["qs_log_category", "host", "", "env"]), names), max_size=2
).map(tuple)

log_events = st.builds(
    LogEvent,
    time_ns=st.integers(0, 2**62),
    source=st.sampled_from(["engine", "proxy", "repository", "scheduler"]),
    log_row=ints,
    ts_iso=texts,
    level=names,
    host=names,
    subsystem=names,
    windows_user=names,
    message=texts,
    exception_message=texts,
    user_directory=names,
    user_id=names,
    user_full=names,
    proxy_session_id=names,
    engine_exe_version=names,
    session_id=names,
    command=texts,
    result_code=names,
    origin=texts,
    context=texts,
    task_name=names,
    app_name=names,
    task_id=names,
    app_id=names,
    execution_id=names,
    categories=categories,
)
qix_events = st.builds(
    QixPerfEvent,
    time_ns=st.integers(0, 2**62),
    log_row=ints,
    level=names,
    host=names,
    subsystem=names,
    proxy_session_id=names,
    user_directory=names,
    user_id=names,
    user_full=names,
    session_id=names,
    app_id=names,
    app_name=names,
    method=names,
    process_time=numbers,
    work_time=numbers,
    lock_time=numbers,
    validate_time=numbers,
    traverse_time=numbers,
    handle=ints,
    object_id=texts,
    net_ram=ints,
    peak_ram=ints,
    object_type=names,
    event_activity_source=st.sampled_from(["user", "non-user"]),
    categories=categories,
)
options = st.builds(
    MappingOptions,
    version=st.sampled_from([1, 2, 3]),
    log_event_tags=st.dictionaries(st.sampled_from(["env", "host", "level", "a b"]), names, max_size=2),
    raw_event=st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=options, events=st.lists(st.one_of(log_events, qix_events), min_size=1, max_size=12))
def test_the_hot_path_writes_what_the_general_path_writes(
    options: MappingOptions, events: list[LogEvent | QixPerfEvent]
) -> None:
    fast, general = InfluxMapping(options), InfluxMapping(options)
    for event in events:
        expected = [
            line.encode("utf-8", "replace") for p in general.points(event) if (line := general.render(p))
        ]
        assert fast.encode(event) == expected


#: every field a log or QIX event's tags are made of
TAG_FIELDS = (
    "categories", "host", "level", "subsystem", "method", "object_type", "event_activity_source", "user_full",
    "user_directory", "user_id", "app_id", "app_name", "source", "result_code", "windows_user", "task_id",
    "task_name", "engine_exe_version",
)  # fmt: skip


def _other_value(name: str, value: object) -> object:
    """A value of field ``name`` that differs from ``value`` and makes a tag of its own."""
    if name == "categories":
        return (("qs_log_category", "other"),) if value != (("qs_log_category", "other"),) else ()
    if name == "source":
        return "proxy" if value != "proxy" else "engine"
    if name == "event_activity_source":
        return "user" if value != "user" else "non-user"
    return "other" if value != "other" else "another"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=options, event=st.one_of(log_events, qix_events))
def test_events_that_differ_in_one_tag_field_get_their_own_tags(
    options: MappingOptions, event: LogEvent | QixPerfEvent
) -> None:
    fast, general = InfluxMapping(options), InfluxMapping(options)
    for name in (f for f in TAG_FIELDS if hasattr(event, f)):
        changed = msgspec.structs.replace(event, **{name: _other_value(name, getattr(event, name))})  # type: ignore[arg-type]
        for each in (event, changed):  # the first one's tags are cached when the second comes
            expected = [
                line.encode("utf-8", "replace") for p in general.points(each) if (line := general.render(p))
            ]
            assert fast.encode(each) == expected, name


#: QIX timings: milliseconds with up to three decimals, as the engine writes them
three_decimals = st.builds(
    lambda whole, thousandths: float(f"{whole}.{thousandths:03d}"),
    st.integers(0, 10**12),
    st.integers(0, 999),
)


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(three_decimals, st.floats(), st.floats(0, 1e13), st.just(-0.0)))
def test_float_text_is_format_float(value: float) -> None:
    assert float_text(value) == format_float(value)
