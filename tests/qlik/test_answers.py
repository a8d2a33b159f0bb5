"""Checking Qlik's JSON answers: the documented shapes parse, anything else is one clear ShapeError."""

from __future__ import annotations

import contextlib
import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensebutler.qlik.answers import ShapeError
from sensebutler.qlik.healthcheck import parse_healthcheck
from sensebutler.qlik.proxy import parse_sessions, session_path
from sensebutler.qlik.xrfkey import new_xrfkey

# the reconstructed example from qlik-sense-apis.md §2.2
HEALTHCHECK = {
    "version": "14.187.4",
    "started": "20240105T081502.000+0100",
    "mem": {
        "committed": 1873.42578125,
        "allocated": 2304.1171875,
        "free": 11842.26953125,
        "totalPhysical": 16383.5,
    },
    "cpu": {"total": 3},
    "session": {"active": 2, "total": 7},
    "apps": {
        "active_docs": ["4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"],
        "in_memory_docs": [
            "4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11",
            "SessionApp_2b7e8a40-5c1d-4e39-a0f1-9d3c6b2e7f58",
        ],
        "loaded_docs": ["4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"],
        "calls": 18234,
        "selections": 412,
    },
    "users": {"active": 2, "total": 5},
    "cache": {"hits": 1520, "lookups": 2240, "added": 718, "replaced": 12, "bytes_added": -48123456},
    "saturated": False,
}


def test_documented_healthcheck_parses() -> None:
    answer = parse_healthcheck(orjson.dumps(HEALTHCHECK))
    assert answer.version == "14.187.4"
    assert answer.started == "20240105T081502.000+0100"
    assert answer.mem.committed == pytest.approx(1873.42578125)
    assert answer.cpu.total == 3.0
    assert answer.session.total == 7
    assert answer.apps.in_memory_docs[1].startswith("SessionApp_")
    assert answer.cache.bytes_added == -48123456  # Butler SOS issue 933: kept as sent, sinks clamp
    assert answer.saturated is False


def test_old_comitted_spelling_is_accepted() -> None:
    old = {**HEALTHCHECK, "mem": {"comitted": 10.5, "allocated": 20.0, "free": 30.0}}
    assert parse_healthcheck(orjson.dumps(old)).mem.committed == 10.5


def test_unknown_keys_are_ignored() -> None:
    newer = {**HEALTHCHECK, "lameDuck": True, "apps": {**HEALTHCHECK["apps"], "extra": [1]}}  # type: ignore[dict-item]
    assert parse_healthcheck(orjson.dumps(newer)).apps.calls == 18234


def test_missing_and_mistyped_fields_are_named() -> None:
    broken = {**HEALTHCHECK, "cpu": {}, "saturated": "sometimes"}
    del broken["users"]
    with pytest.raises(ShapeError) as caught:
        parse_healthcheck(orjson.dumps(broken))
    message = str(caught.value)
    assert "cpu.total: Field required" in message
    assert "users: Field required" in message
    assert "saturated:" in message


@pytest.mark.parametrize("body", [b"", b"<html>busy</html>", b"[]", b"null", b'{"version": 1}'])
def test_not_a_healthcheck(body: bytes) -> None:
    with pytest.raises(ShapeError):
        parse_healthcheck(body)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON)
def test_any_json_is_parsed_or_refused_with_shape_error(value: object) -> None:
    body = json.dumps(value).encode()  # the stdlib also writes integers beyond 64 bits
    for parse in (parse_healthcheck, parse_sessions):
        with contextlib.suppress(ShapeError):
            parse(body)


@given(st.binary(max_size=64))
def test_any_bytes_are_parsed_or_refused_with_shape_error(body: bytes) -> None:
    for parse in (parse_healthcheck, parse_sessions):
        with contextlib.suppress(ShapeError):
            parse(body)


def test_sessions_parse_pascal_case() -> None:
    body = orjson.dumps(
        [
            {
                "UserDirectory": "LAB",
                "UserId": "goran",
                "Attributes": [{"Group": "Sales"}],
                "SessionId": "6a1f",
            },
            {"UserDirectory": "LAB", "UserId": "anna", "SessionId": "0d9c"},
        ]
    )
    sessions = parse_sessions(body)
    assert [(s.user_directory, s.user_id, s.session_id) for s in sessions] == [
        ("LAB", "goran", "6a1f"),
        ("LAB", "anna", "0d9c"),
    ]
    with pytest.raises(ShapeError, match=r"0\.UserId: Field required"):
        parse_sessions(b'[{"UserDirectory": "LAB", "SessionId": "x"}]')


@pytest.mark.parametrize(
    ("virtual_proxy", "path"), [("/", "/qps/session"), ("", "/qps/session"), ("/hdr", "/qps/hdr/session")]
)
def test_session_path(virtual_proxy: str, path: str) -> None:
    assert session_path(virtual_proxy) == path


def test_xrfkey_is_sixteen_alphanumerics_and_fresh() -> None:
    keys = {new_xrfkey() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(key) == 16 and key.isascii() and key.isalnum() for key in keys)
