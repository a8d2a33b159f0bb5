"""User-activity datagrams (proxy session/connection events, UDP 9997)."""

from __future__ import annotations

import pytest

from sensebutler.events.udp import UserEvent
from sensebutler.sources.udp import MalformedDatagram, MalformedReason, parse_user_datagram
from sensebutler.sources.udp.parse_user import app_id_from_context, user_agent_from_message
from sensebutler.sources.udp.user_agent import parse_user_agent

RECEIVED = 1_700_000_000_123_456_789
CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.130 Safari/537.36"
)
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0"


def user(datagram: str | bytes) -> UserEvent:
    return parse_user_datagram(datagram.encode() if isinstance(datagram, str) else datagram, RECEIVED)


def test_butler_sos_fixtures() -> None:
    first = user(
        "/qseow-proxy-connection/;host1;Start session;INTERNAL;testuser;https://host1;"
        "/app/12345678-1234-1234-1234-123456789abc;UserAgent: Mozilla/5.0"
    )
    assert first.message_type == "qseow-proxy-connection"
    assert (first.host, first.command, first.user_full) == ("host1", "Start session", "INTERNAL\\testuser")
    assert first.app_id == "12345678-1234-1234-1234-123456789abc"
    assert first.user_agent == "Mozilla/5.0"
    assert first.time_ns == RECEIVED

    second = user(
        "/qseow-proxy-session/;host2;Stop session;INTERNAL;testuser2;https://host2;"
        "/app/87654321-4321-4321-4321-cba987654321;UserAgent: Chrome/91.0"
    )
    assert second.message_type == "qseow-proxy-session"
    assert second.app_id == "87654321-4321-4321-4321-cba987654321"
    assert (second.ua_browser_name, second.ua_browser_version, second.ua_browser_major) == (
        "Chrome",
        "91.0",
        "91",
    )

    third = user(
        "/qseow-proxy-connection/;host1;Start session;INTERNAL;testuser;origin;"
        "/app/invalid-guid?param=value;message"
    )
    assert third.app_id == ""
    assert third.user_agent == third.ua_browser_name == third.ua_os_name == ""
    assert third.context == "/app/invalid-guid?param=value"


def test_connection_with_quoted_user_agent_and_semicolons_in_message() -> None:
    e = user(
        "/qseow-proxy-connection/;pro2-win1;Close connection;LAB;goran;AppAccess;"
        "/app/A421F4A2-C311-4EF4-BA41-FE2E6A2B0D69?reloaduri=https://pro2-win1/sense/app/x;"
        f"Connection closed for session 9a8b; reason: timeout UserAgent: '{CHROME_WIN}'"
    )
    assert e.app_id == "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69"
    assert e.message == f"Connection closed for session 9a8b; reason: timeout UserAgent: '{CHROME_WIN}'"
    assert e.user_agent == CHROME_WIN
    assert (e.ua_browser_name, e.ua_browser_major, e.ua_browser_version) == (
        "Chrome",
        "120",
        "120.0.6099.130",
    )
    assert (e.ua_os_name, e.ua_os_version) == ("Windows", "NT 10.0")


def test_firefox_on_macos() -> None:
    e = user(
        "/qseow-proxy-session/;h;Start session;D;u;o;/hub/;"
        f"Start session for user 'D\\u' UserAgent: {FIREFOX_MAC}"
    )
    assert (e.ua_browser_name, e.ua_browser_major) == ("Firefox", "121")
    assert (e.ua_os_name, e.ua_os_version) == ("macOS", "10.15")
    assert e.app_id == ""


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ("/app/7d5f6e2a-1111-2222-3333-444444444444", "7d5f6e2a-1111-2222-3333-444444444444"),
        ("/app/7D5F6E2A-1111-2222-3333-444444444444?reloaduri=x", "7d5f6e2a-1111-2222-3333-444444444444"),
        ("/app/7d5f6e2a-1111-2222-3333-444444444444/sheet/abc", "7d5f6e2a-1111-2222-3333-444444444444"),
        ("/hdr/app/7d5f6e2a-1111-2222-3333-444444444444#x", "7d5f6e2a-1111-2222-3333-444444444444"),
        ("/app/7d5f6e2a-1111-2222-3333-4444444444445", ""),
        ("/app/7d5f6e2a-1111-2222-3333-44444444444", ""),
        ("/hub/", ""),
        ("", ""),
        ("/app/", ""),
    ],
)
def test_app_id_from_context(context: str, expected: str) -> None:
    assert app_id_from_context(context) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("no agent here", ""),
        ("UserAgent:", ""),
        ("x UserAgent:   Mozilla/5.0  ", "Mozilla/5.0"),
        ("x UserAgent: 'Mozilla/5.0 (X11)'", "Mozilla/5.0 (X11)"),
        ('x UserAgent: "Mozilla/5.0 (X11)" trailing', "Mozilla/5.0 (X11)"),
        ("x UserAgent: 'unterminated", "unterminated"),
    ],
)
def test_user_agent_from_message(message: str, expected: str) -> None:
    assert user_agent_from_message(message) == expected


def test_user_agent_parsing_is_memoised_and_bounded() -> None:
    first = parse_user_agent(CHROME_WIN)
    assert parse_user_agent(CHROME_WIN) is first
    assert parse_user_agent("x" * 5000) == parse_user_agent("x" * 512)


def test_fields_are_sanitised_and_capped() -> None:
    e = user(
        f"/qseow-proxy-session/;h\x00ost;Start\tsession;{'D' * 150};u;{'o' * 300};/{'c' * 600};{'m' * 2000}"
    )
    assert (e.host, e.command) == ("host", "Startsession")
    assert (len(e.user_directory), len(e.origin), len(e.context), len(e.message)) == (100, 200, 500, 1000)


def test_prefix_case_and_whitespace() -> None:
    assert user(" /QSEOW-Proxy-Session/ ;h;Start session;D;u;o;c;m").message_type == "qseow-proxy-session"


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", MalformedReason.EMPTY),
        (b"\xc3\x28;x", MalformedReason.NOT_UTF8),
        (b"/qseow-engine/;1;2;3;4;5;6;7", MalformedReason.UNKNOWN_TYPE),
        (b"/proxy-session/;h;Start session;D;u;o;c;m", MalformedReason.UNKNOWN_TYPE),
        (b"/qseow-proxy-session/;h;Start session;D;u;o;c", MalformedReason.FIELD_COUNT),
        (b"/qseow-proxy-session/", MalformedReason.FIELD_COUNT),
    ],
)
def test_malformed(datagram: bytes, reason: MalformedReason) -> None:
    with pytest.raises(MalformedDatagram) as info:
        parse_user_datagram(datagram, RECEIVED)
    assert info.value.reason is reason
