"""The building blocks: decoding, GUIDs, numbers, users and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensebutler.sources.udp import MalformedDatagram, MalformedReason, timestamps
from sensebutler.sources.udp.sanitise import (
    bounded_int,
    decode,
    duration_ms,
    durations_ms,
    guid_or_empty,
    join_user,
    split_user,
)
from sensebutler.sources.udp.timestamps import instant_ns, is_local_timestamp


def utc_ns(*parts: int, nanos: int = 0) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1_000_000_000 + nanos


def test_decode_strips_control_bytes_and_a_byte_order_mark() -> None:
    assert decode(b"\xef\xbb\xbf/qseow-engine/;a\x00b\x1f\x7fc\r\n") == "/qseow-engine/;abc"
    assert decode("Å\x01ö".encode()) == "Åö"


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", MalformedReason.EMPTY), (b"\r\n\x00", MalformedReason.EMPTY), (b"  ", MalformedReason.EMPTY),
     (b"\xef\xbb\xbf", MalformedReason.EMPTY), (b"abc\xc3", MalformedReason.NOT_UTF8)],
)  # fmt: skip
def test_decode_rejects(data: bytes, reason: MalformedReason) -> None:
    with pytest.raises(MalformedDatagram) as info:
        decode(data)
    assert info.value.reason is reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3B3B3B3B-3B3B-3B3B-3B3B-3B3B3B3B3B3B", "3b3b3b3b-3b3b-3b3b-3b3b-3b3b3b3b3b3b"),
        ("dec2a02a-1680-44ef-8dc2-e2bfb180af87", "dec2a02a-1680-44ef-8dc2-e2bfb180af87"),
        ("{dec2a02a-1680-44ef-8dc2-e2bfb180af87}", ""),
        ("dec2a02a16804 4ef8dc2e2bfb180af87aaaa", ""),
        ("dec2a02a-1680-44ef-8dc2-e2bfb180af8\u0663", ""),
        ("", ""),
    ],
)
def test_guid_or_empty(value: str, expected: str) -> None:
    assert guid_or_empty(value) == expected


@pytest.mark.parametrize(
    ("value", "minimum", "expected"),
    [("42", 0, 42), ("0", 1, -7), ("-1", -(2**63), -1), ("9223372036854775807", 0, 2**63 - 1),
     ("9223372036854775808", 0, -7), ("1.5", 0, -7), ("", 0, -7), ("1" * 5000, 0, -7), ("x", 0, -7)],
)  # fmt: skip
def test_bounded_int(value: str, minimum: int, expected: int) -> None:
    assert bounded_int(value, minimum, -7) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("153.2", 153.2), ("0", 0.0), ("0,25", 0.25), ("1,2,3", -1.0), ("-0.5", -1.0), ("nan", -1.0),
     ("inf", -1.0), ("1e400", -1.0), ("", -1.0), ("abc", -1.0)],
)  # fmt: skip
def test_duration_ms(value: str, expected: float) -> None:
    assert duration_ms(value) == expected
    assert durations_ms([value, "1"]) == [expected, 1.0]


def test_users() -> None:
    assert split_user("ACME\\jdoe") == ("ACME", "jdoe")
    assert split_user("ACME\\ops\\jdoe") == ("ACME", "ops\\jdoe")
    assert split_user("jdoe") == split_user("\\jdoe") == split_user("ACME\\") == ("", "")
    assert join_user("ACME", "jdoe") == "ACME\\jdoe"
    assert join_user("", "jdoe") == join_user("ACME", "") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20211109T153726.028+0200", utc_ns(2021, 11, 9, 13, 37, 26, nanos=28_000_000)),
        ("2021-11-09T15:37:26.028+02:00", utc_ns(2021, 11, 9, 13, 37, 26, nanos=28_000_000)),
        ("2021-11-09T15:37:26.028+0200", utc_ns(2021, 11, 9, 13, 37, 26, nanos=28_000_000)),
        ("20211109T083726.028-0500", utc_ns(2021, 11, 9, 13, 37, 26, nanos=28_000_000)),
        ("2021-11-09T10:07:26-03:30", utc_ns(2021, 11, 9, 13, 37, 26)),
        ("20211109T133726Z", utc_ns(2021, 11, 9, 13, 37, 26)),
        ("2021-11-09T23:37:26.5+10", utc_ns(2021, 11, 9, 13, 37, 26, nanos=500_000_000)),
        ("20211231T233000.000-0100", utc_ns(2022, 1, 1, 0, 30, 0)),
        ("2021-11-09T15:37:26.123456789+02:00", utc_ns(2021, 11, 9, 13, 37, 26, nanos=123_456_789)),
    ],
)
def test_instant_ns(text: str, expected: int) -> None:
    assert instant_ns(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "2021-11-09 15:37:26,028", "20211109T153726.028", "2021-11-09T15:37:26", "20211109T153726.028+2400",
     "20210230T153726+0100", "20211109T246000+0100", "2021-1109T15:37:26Z", "00000101T000000Z",
     "20211109T153726.0123456789+0100", "２０２１1109T153726Z", "20211109T153726.028+0200" + " " * 20],
)  # fmt: skip
def test_instant_ns_rejects(text: str) -> None:
    assert instant_ns(text) is None


@pytest.mark.parametrize(
    ("text", "valid"),
    [("2021-11-09 15:37:26,028", True), ("2021-11-09 15:37:26", True), ("20211109T153726.028+0200", True),
     ("2021-02-29 15:37:26,028", False), ("2021-11-09 15:37", False), ("09/11/2021 15:37:26", False), ("", False)],
)  # fmt: skip
def test_is_local_timestamp(text: str, valid: bool) -> None:
    assert is_local_timestamp(text) is valid


# near-valid timestamps: the common forms with one character changed anywhere
_FORMS = [
    "20211109T153726.028+0200",
    "20211109T153726.028-0530",
    "2021-11-09 15:37:26,028",
    "20211109T153726,028Z",
]
_CHARS = "0123456789T:.,+-Z ٣é"
near_timestamps = st.builds(
    lambda form, at, char: form[:at] + char + form[at + 1 :],
    st.sampled_from(_FORMS),
    st.integers(0, 24),
    st.sampled_from([*_CHARS, ""]),
)


def _plain_is_local(text: str) -> bool:
    match = timestamps._LOCAL.fullmatch(text)
    if match is None:
        return timestamps._instant_ns(text) is not None
    try:
        datetime(*(int(part) for part in match.groups()))  # type: ignore[misc]
    except ValueError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(near_timestamps, st.text(max_size=30)))
def test_the_cached_millisecond_shortcuts_answer_as_the_full_patterns(text: str) -> None:
    """A new millisecond is answered from its second (cached); that must be what the patterns say."""
    assert instant_ns(text) == timestamps._instant_ns(text)
    assert is_local_timestamp(text) == _plain_is_local(text)
