"""User-agent tags as Butler SOS writes them (bowser's names), checked against bowser's own corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from sensebutler.sources.udp.parse_user import parse_user_datagram
from sensebutler.sources.udp.user_agent import UNKNOWN, parse_user_agent

CORPUS: list[dict[str, Any]] = YAML(typ="safe").load(Path(__file__).with_name("user_agents.yaml"))


def test_the_corpus_covers_desktop_and_mobile_browsers_and_systems() -> None:
    assert len(CORPUS) >= 40
    browsers = {case["browser"] for case in CORPUS}
    systems = {case["os"] for case in CORPUS}
    assert {"Chrome", "Microsoft Edge", "Firefox", "Safari", "Internet Explorer", "Opera"} <= browsers
    assert {"Windows", "macOS", "iOS", "Android", "Linux"} <= systems


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: f"{case['browser']}-{case['os']}")
def test_names_and_versions_are_bowsers(case: dict[str, Any]) -> None:
    info = parse_user_agent(case["ua"])
    got = (info.browser_name, info.browser_major, info.os_name, info.os_version)
    assert got == (case["browser"], case["major"], case["os"], case["os_version"])


def test_the_names_dashboards_group_by() -> None:
    edge = parse_user_agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
    )
    assert (edge.browser_name, edge.browser_major, edge.os_name, edge.os_version) == (
        "Microsoft Edge",
        "120",
        "Windows",
        "NT 10.0",
    )
    iphone = parse_user_agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
    )
    assert (iphone.browser_name, iphone.browser_major, iphone.os_name, iphone.os_version) == (
        "Safari",
        "17",
        "iOS",
        "17.1.2",
    )
    mac = parse_user_agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.2 Safari/605.1.15"
    )
    assert (mac.os_name, mac.os_version) == ("macOS", "10.15.7")


def test_user_event_carries_the_tags() -> None:
    event = parse_user_datagram(
        b"/qseow-proxy-connection/;QS1;Open connection;ACME;jdoe;https://qlik;/hub/;Opened; UserAgent: "
        b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        1,
    )
    assert (event.ua_browser_name, event.ua_browser_major, event.ua_os_name, event.ua_os_version) == (
        "Firefox",
        "121",
        "Linux",
        "",
    )


@pytest.mark.parametrize("ua", ["", "   ", "x" * 600, "\x00\x01", "Mozilla/5.0", "((((", "/" * 300])
def test_odd_strings_never_fail(ua: str) -> None:
    info = parse_user_agent(ua)
    assert info == UNKNOWN or isinstance(info.browser_name, str)
