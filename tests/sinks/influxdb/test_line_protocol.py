"""The hand-written encoder against the official client's serializer, and against a real influxd."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from influxdb_client import Point as OraclePoint

from sensebutler.sinks.influxdb.line_protocol import (
    FieldValue,
    Unsigned,
    encode_line,
    escape_name,
    format_value,
    quote_string,
)
from tests.fixtures.servers import InfluxdServer

HOSTILE = [" ", ",", "=", '"', "\\", "\n", "\r", "\t", "'", "#", "é", "漢", "🙂", "\u200b"]
#: any Unicode text (no lone surrogates: they are not UTF-8; see the mapping's encode test)
texts = st.text(
    alphabet=st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(HOSTILE)), max_size=12
)
keys = texts.filter(lambda k: not k.endswith("\\"))  # the documented difference for names
one_line_texts = texts.filter(lambda s: "\n" not in s and "\r" not in s)  # documented difference
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
field_values = st.one_of(
    int64,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    one_line_texts,
)


def oracle(
    measurement: str, tags: dict[str, str], fields: dict[str, object], time_ns: int, uint: set[str]
) -> str:
    point = OraclePoint.from_dict(
        {"measurement": measurement, "tags": tags, "fields": fields, "time": time_ns},
        field_types={key: "uint" for key in uint},
    )
    return str(point.to_line_protocol())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    measurement=texts.filter(lambda m: m and not m.startswith("#")),
    tags=st.dictionaries(keys, texts, max_size=5),
    fields=st.dictionaries(keys.filter(bool), field_values, max_size=6),
    unsigned=st.dictionaries(keys.filter(bool), st.integers(0, 2**64 - 1), max_size=2),
    time_ns=st.integers(0, 2**63 - 1),
)
def test_encoder_matches_the_official_client(
    measurement: str,
    tags: dict[str, str],
    fields: dict[str, FieldValue],
    unsigned: dict[str, int],
    time_ns: int,
) -> None:
    fields = {**fields, **unsigned}
    ours_fields = [(k, Unsigned(v) if k in unsigned else v) for k, v in sorted(fields.items())]
    expected = oracle(measurement, tags, dict(fields), time_ns, set(unsigned))
    assert encode_line(measurement, sorted(tags.items()), ours_fields, time_ns) == expected


def test_string_field_newlines_become_escapes_so_a_record_is_one_line() -> None:
    assert quote_string('a\nb\r\nc"d\\e') == '"a\\nb\\r\\nc\\"d\\\\e"'
    line = encode_line("m", [("t", "x\ny")], [("f", "one\ntwo")], 1)
    assert "\n" not in line
    assert line == 'm,t=x\\ny f="one\\ntwo" 1'


def test_names_ending_in_a_backslash_stay_parseable() -> None:
    assert escape_name("a\\") == "a\\ "
    assert encode_line("m", [("k\\", "v\\")], [("f\\", 1)], 5) == "m,k\\ =v\\  f\\ =1i 5"


def test_empty_tags_and_fields_are_left_out_and_a_point_without_fields_is_no_line() -> None:
    assert encode_line("m", [("", "x"), ("t", ""), ("u", "1")], [("", 1), ("f", 2)], 3) == "m,u=1 f=2i 3"
    assert encode_line("m", [("t", "v")], [("f", math.nan), ("g", math.inf)], 3) == ""
    assert encode_line("m", [], [("f", 1.0)]) == "m f=1"


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (12.6, "int", "12i"),
        (-0.5, "int", "-1i"),
        (7, "uint", "7u"),
        (7, "float", "7"),
        (0.1, "float", "0.1"),
        (1e16, "float", "1e+16"),
        (True, None, "true"),
        (False, "bool", "false"),
        (3, "string", '"3"'),
        (math.nan, "int", None),
    ],
)
def test_typed_values(value: float, kind: str | None, text: str | None) -> None:
    assert format_value(value, kind) == text  # type: ignore[arg-type]


_times = itertools.count(1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(texts.filter(lambda v: v and not v.endswith("\\")), texts), max_size=25))
def test_hostile_values_round_trip_through_influxd(
    influxd: InfluxdServer, influx_db: str, values: list[tuple[str, str]]
) -> None:
    """What influxd stores is the value itself, CR/LF/TAB in tags and CR/LF in strings as escapes."""
    written = {next(_times): value for value in values}
    if not written:
        return
    influxd.write(
        influx_db, [encode_line("hostile", [("t", t)], [("s", s)], n) for n, (t, s) in written.items()]
    )
    first, last = min(written), max(written)
    rows = influxd.query(
        influx_db, f"SELECT * FROM hostile WHERE time >= {first} AND time <= {last}", epoch="ns"
    )
    assert len(rows) == len(written)
    for row in rows:
        tag, text = written[row["time"]]
        assert row["t"] == tag.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        assert row["s"] == text.replace("\n", "\\n").replace("\r", "\\r")
