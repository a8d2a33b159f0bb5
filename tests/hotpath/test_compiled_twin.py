"""The compiled hot path (``_sensebutler_compiled``) gives exactly what its pure-Python sources give:
the same event or the same malformed reason for any datagram, the same lines for any event; and a
compiled package built from other sources is never used."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensebutler import hotpath
from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.hotpath import FORCED_PURE, load_compiled
from sensebutler.hotpath.manifest import source_hash
from sensebutler.sinks.influxdb import render
from sensebutler.sinks.influxdb.mapping import MappingOptions
from sensebutler.sources.udp import parse_log
from sensebutler.sources.udp import timestamps as pure_timestamps
from sensebutler.sources.udp.malformed import MalformedDatagram
from tests.sinks.influxdb.test_udp_lines import log_events, options, qix_events, three_decimals
from tests.udp.test_fuzz import LOG_PREFIXES, field_text, guid, prefix_variants
from tests.udp.test_sanitise_and_timestamps import near_timestamps

TWIN = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECEIVED = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def compiled() -> ModuleType:
    package, status = load_compiled()
    if package is None:
        pytest.skip(f"the compiled hot path does not run here: {status}")
    return package


def outcome(parse: object, data: bytes, categories: tuple[tuple[str, str], ...]) -> object:
    try:
        return parse(data, RECEIVED, categories)  # type: ignore[operator]
    except MalformedDatagram as bad:
        return (bad.reason, bad.detail, bad.preview)


def assert_same_parse(
    compiled: ModuleType, data: bytes, categories: tuple[tuple[str, str], ...] = ()
) -> None:
    expected = outcome(parse_log.parse_log_datagram, data, categories)
    got = outcome(compiled.parse_log.parse_log_datagram, data, categories)
    assert got == expected
    assert type(got) is type(expected)


# values that are almost what a field should hold: valid, and valid but for one detail
timestamps = st.sampled_from(
    [
        "20240115T090000.123+0100", "2024-01-15T09:00:00.123+01:00", "20240115T090000Z", "20240115T090000.1-0530",
        "20241315T090000.123+0100", "20240115T250000+0100", "20240115T090000.123+2400", "2024-01-15 09:00:00,123",
        "2024-02-30 09:00:00,123", "2024-01-15 09:00:00", "", "20240115T090000.1234567891+0100",
    ]
)  # fmt: skip
numbers = st.sampled_from(
    ["0", "1", "-1", "17", "1.5", "1,5", "-0.0", "nan", "inf", "-inf", "1e400", "9223372036854775807",
     "9223372036854775808", "+3", " 4 ", "1_000", "", "x", "0x10", "12345678901234567890123"]
)  # fmt: skip
#: texts around the length caps (20, 50, 100, 200, 1000 characters)
long_text = st.integers(15, 1010).map(lambda n: "é;x"[n % 2] * n)
near_valid_field = st.one_of(timestamps, numbers, guid, guid.map(lambda g: g[:-1]), field_text, long_text)
categories = st.lists(st.tuples(st.sampled_from(["qs_log_category", "env"]), st.text(max_size=5)), max_size=2)


@TWIN
@given(data=st.binary(max_size=700))
def test_arbitrary_bytes_parse_alike(compiled: ModuleType, data: bytes) -> None:
    assert_same_parse(compiled, data)


@TWIN
@given(
    prefix=prefix_variants(list(LOG_PREFIXES)),
    extra=st.integers(-2, 3),
    draw=st.data(),
    qix_categories=categories.map(tuple),
)
def test_near_valid_log_and_qix_datagrams_parse_alike(
    compiled: ModuleType,
    prefix: str,
    extra: int,
    draw: st.DataObject,
    qix_categories: tuple[tuple[str, str], ...],
) -> None:
    count = LOG_PREFIXES[prefix.strip().lower()] - 1 + extra
    fields = draw.draw(st.lists(near_valid_field, min_size=max(count, 0), max_size=max(count, 0)))
    assert_same_parse(compiled, ";".join([prefix, *fields]).encode("utf-8"), qix_categories)


@TWIN
@given(options=options, events=st.lists(st.one_of(log_events, qix_events), min_size=1, max_size=12))
def test_events_render_alike(
    compiled: ModuleType, options: MappingOptions, events: list[LogEvent | QixPerfEvent]
) -> None:
    def renderer(module: ModuleType) -> render.LineRenderer:
        made: render.LineRenderer = module.LineRenderer(
            options.version, options.log_event_tags, options.raw_event
        )
        return made

    pure, fast = renderer(render), renderer(compiled.render)
    for event in events:
        assert fast.udp_line(event) == pure.udp_line(event)
        assert fast.udp_records(event) == pure.udp_records(event)
        if isinstance(event, QixPerfEvent):
            tags, fields = pure.qix_tags(event), pure.qix_fields(event)
        else:
            tags, fields = pure.log_tags(event), pure.log_fields(event)
        assert fast.line("log_event", tags, fields, event.time_ns) == pure.line(
            "log_event", tags, fields, event.time_ns
        )


@TWIN
@given(text=st.one_of(near_timestamps, timestamps, st.text(max_size=30)))
def test_timestamps_parse_alike(compiled: ModuleType, text: str) -> None:
    assert compiled.timestamps.instant_ns(text) == pure_timestamps.instant_ns(text)
    assert compiled.timestamps.is_local_timestamp(text) == pure_timestamps.is_local_timestamp(text)


@TWIN
@given(value=st.one_of(three_decimals, st.floats()))
def test_float_texts_alike(compiled: ModuleType, value: float) -> None:
    assert compiled.render.float_text(value) == render.float_text(value)


def stale_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source_hash: str) -> str:
    name = "_sensebutler_compiled_stale"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text(f'SOURCE_HASH = "{source_hash}"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def test_a_package_built_from_other_sources_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SENSEBUTLER_PURE_PYTHON", raising=False)
    package, status = load_compiled(stale_package(tmp_path, monkeypatch, "0" * 64))
    assert package is None
    assert status.startswith(
        "pure Python: the compiled module _sensebutler_compiled_stale was built from other"
    )


def test_a_package_built_from_these_sources_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check passes for a current build (here a stand-in package with the right hash)."""
    monkeypatch.delenv("SENSEBUTLER_PURE_PYTHON", raising=False)
    name = stale_package(tmp_path, monkeypatch, source_hash(Path(hotpath.__file__).resolve().parents[2]))
    for module in ("parse_log", "render"):
        (tmp_path / name / f"{module}.py").write_text("")
        monkeypatch.delitem(sys.modules, f"{name}.{module}", raising=False)
    package, status = load_compiled(name)
    assert package is not None
    assert status == f"compiled ({name}, mypyc)"


def test_without_a_compiled_package_pure_python_runs_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENSEBUTLER_PURE_PYTHON", raising=False)
    package, status = load_compiled("_sensebutler_not_built")
    assert package is None
    assert status.startswith("pure Python: the compiled module was not built")


def test_pure_python_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSEBUTLER_PURE_PYTHON", "1")
    assert load_compiled() == (None, FORCED_PURE)
