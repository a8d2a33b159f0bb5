"""Browser and OS from a user-agent string, named as Butler SOS names them.

Butler SOS tags user events with what the JavaScript library *bowser* (2.x) says about the user
agent, and dashboards group by those values: ``Microsoft Edge`` (not ``Edge``), ``Safari`` on an
iPhone (not ``Mobile Safari``), ``macOS`` (not ``Mac OS X``), Windows ``NT 10.0`` (not ``10``).
This module gives the same answers with bowser's rules: an ordered list of browsers, the first
whose token appears in the string wins, and its version comes from the browser's own token or
from ``Version/x``; the OS list works the same way. The rules here are written from bowser's
documented behaviour and checked against its own test corpus (``tests/udp/user_agents.yaml``).

Browsers and systems Qlik Sense users run are covered, and crawlers are named as bowser names
them; anything else falls back to bowser's generic rule (the first ``name/version`` token).

Cost: a few compiled regex searches per new string, and a site has few distinct user agents, so
results are memoised in a bounded LRU cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

#: longer strings are cut before parsing; real user agents are a few hundred characters
MAX_UA = 512
_CACHE_SIZE = 4096


class UserAgentInfo(NamedTuple):
    browser_name: str
    browser_version: str
    browser_major: str
    os_name: str
    os_version: str


UNKNOWN = UserAgentInfo("", "", "", "", "")

_I = re.IGNORECASE
_VERSION = re.compile(r"version/(\d+(\.?_?\d+)+)", _I)
_NUMBER = r"(\d+(\.?_?\d+)+)"

Version = Callable[[str], str]
Test = Callable[[str], bool]


def _first(pattern: str, flags: int = _I, group: int = 1) -> Version:
    """The ``group`` of the first match of ``pattern``, or ``""`` (bowser's getFirstMatch/getSecondMatch)."""
    compiled = re.compile(pattern, flags)

    def version(ua: str) -> str:
        match = compiled.search(ua)
        return (match.group(group) or "") if match else ""

    return version


def _common(ua: str) -> str:
    match = _VERSION.search(ua)
    return match.group(1) if match else ""


def _either(first: Version, second: Version) -> Version:
    return lambda ua: first(ua) or second(ua)


def _token(name: str) -> Version:
    """``<name>[ /]<version>``, else ``Version/x``."""
    return _either(_first(rf"(?:{name})[\s/]{_NUMBER}"), _common)


def _version_then_token(name: str) -> Version:
    """``Version/x``, else ``<name>[ /]<version>``."""
    return _either(_common, _first(rf"(?:{name})[\s/]{_NUMBER}"))


def _has(*patterns: str, flags: int = _I) -> Test:
    compiled = [re.compile(pattern, flags) for pattern in patterns]
    return lambda ua: any(p.search(ua) for p in compiled)


def _android(ua: str) -> bool:
    return "android" in ua.lower() and "like android" not in ua.lower()


def _bot(token: str, name: str, version: str | None = None) -> tuple[Test, str, Version]:
    pattern = version or rf"{token}/(\d+(\.\d+)+)"
    return _has(token), name, _either(_first(pattern), _common)


def _generic(ua: str) -> tuple[str, str]:
    """bowser's last resort: ``name/version`` of the first token."""
    pattern = r"^(.*)/(.*)[ \t]\((.*)" if "(" in ua else r"^(.*)/(.*) "
    match = re.search(pattern, ua)
    return (match.group(1) or "", match.group(2) or "") if match else ("", "")


#: (test, name, version) in bowser's order: the first test that matches names the browser
_BROWSERS: tuple[tuple[Test, str, Version], ...] = (
    _bot("gptbot", "GPTBot"),
    _bot("chatgpt-user", "ChatGPT-User"),
    _bot("oai-searchbot", "OAI-SearchBot"),
    (
        _has("claudebot", "claude-web", "claude-user", "claude-searchbot"),
        "ClaudeBot",
        _either(_first(r"(?:claudebot|claude-web|claude-user|claude-searchbot)/(\d+(\.\d+)+)"), _common),
    ),
    (
        _has("omgilibot", "webzio-extended"),
        "Omgilibot",
        _either(_first(r"(?:omgilibot|webzio-extended)/(\d+(\.\d+)+)"), _common),
    ),
    _bot("diffbot", "Diffbot"),
    _bot("perplexitybot", "PerplexityBot"),
    _bot("perplexity-user", "Perplexity-User"),
    _bot("youbot", "YouBot"),
    _bot("meta-webindexer", "Meta-WebIndexer"),
    _bot("meta-externalads", "Meta-ExternalAds"),
    _bot("meta-externalagent", "Meta-ExternalAgent"),
    _bot("meta-externalfetcher", "Meta-ExternalFetcher"),
    _bot("googlebot", "Googlebot", r"googlebot/(\d+(\.\d+))"),
    _bot("linespider", "Linespider", r"(?:linespider)(?:-[-\w]+)?[\s/](\d+(\.\d+)+)"),
    _bot("amazonbot", "AmazonBot"),
    _bot("bingbot", "BingCrawler"),
    _bot("baiduspider", "BaiduSpider"),
    _bot("duckduckbot", "DuckDuckBot"),
    _bot("ia_archiver", "InternetArchiveCrawler"),
    (_has("facebookexternalhit", "facebookcatalog"), "FacebookExternalHit", lambda ua: ""),
    (
        _has("slackbot", "slack-imgProxy"),
        "SlackBot",
        _either(_first(r"(?:slackbot|slack-imgproxy)(?:-[-\w]+)?[\s/](\d+(\.\d+)+)"), _common),
    ),
    (_has(r"yahoo!?[\s/]*slurp"), "YahooSlurp", lambda ua: ""),
    (_has("yandexbot", "yandexmobilebot"), "YandexBot", lambda ua: ""),
    (_has("pingdom"), "PingdomBot", lambda ua: ""),
    (_has("opera"), "Opera", _version_then_token("opera")),
    (_has(r"opr/|opios"), "Opera", _either(_first(r"(?:opr|opios)[\s/](\S+)"), _common)),
    (_has("SamsungBrowser"), "Samsung Internet for Android", _version_then_token("SamsungBrowser")),
    (_has("Whale"), "NAVER Whale Browser", _either(_common, _first(r"(?:whale)[\s/](\d+(?:\.\d+)+)"))),
    (_has("PaleMoon"), "Pale Moon", _either(_common, _first(r"(?:PaleMoon)[\s/](\d+(?:\.\d+)+)"))),
    (_has("MZBrowser"), "MZ Browser", _either(_first(r"(?:MZBrowser)[\s/](\d+(?:\.\d+)+)"), _common)),
    (_has("focus"), "Focus", _either(_first(r"(?:focus)[\s/](\d+(?:\.\d+)+)"), _common)),
    (_has("swing"), "Swing", _either(_first(r"(?:swing)[\s/](\d+(?:\.\d+)+)"), _common)),
    (_has("coast"), "Opera Coast", _version_then_token("coast")),
    (_has(r"opt/\d+(?:.?_?\d+)+"), "Opera Touch", _token("opt")),
    (_has("yabrowser"), "Yandex Browser", _token("yabrowser")),
    (_has("ucbrowser"), "UC Browser", _version_then_token("ucbrowser")),
    (_has("Maxthon|mxios"), "Maxthon", _version_then_token("Maxthon|mxios")),
    (_has("epiphany"), "Epiphany", _version_then_token("epiphany")),
    (_has("puffin"), "Puffin", _version_then_token("puffin")),
    (_has("sleipnir"), "Sleipnir", _version_then_token("sleipnir")),
    (_has("k-meleon"), "K-Meleon", _version_then_token("k-meleon")),
    (_has("micromessenger"), "WeChat", _token("micromessenger")),
    (
        _has("qqbrowserlite"),
        "QQ Browser Lite",
        _either(_first(rf"(?:qqbrowserlite|qqbrowser)/{_NUMBER}"), _common),
    ),
    (_has("qqbrowser"), "QQ Browser", _either(_first(rf"(?:qqbrowserlite|qqbrowser)/{_NUMBER}"), _common)),
    (_has("msie|trident"), "Internet Explorer", _first(rf"(?:msie |rv:){_NUMBER}")),
    (_has(r"\sedg/"), "Microsoft Edge", _first(rf"\sedg/{_NUMBER}")),
    (_has(r"edg([ea]|ios)"), "Microsoft Edge", _first(rf"edg([ea]|ios)/{_NUMBER}", group=2)),
    (_has("vivaldi"), "Vivaldi", _first(rf"vivaldi/{_NUMBER}")),
    (_has("seamonkey"), "SeaMonkey", _first(rf"seamonkey/{_NUMBER}")),
    (_has("sailfish"), "Sailfish", _first(r"sailfish\s?browser/(\d+(\.\d+)?)")),
    (_has("silk"), "Amazon Silk", _first(rf"silk/{_NUMBER}")),
    (_has("phantom"), "PhantomJS", _first(rf"phantomjs/{_NUMBER}")),
    (_has("slimerjs"), "SlimerJS", _first(rf"slimerjs/{_NUMBER}")),
    (
        _has(r"blackberry|\bbb\d+", r"rim\stablet"),
        "BlackBerry",
        _either(_common, _first(rf"blackberry[\d]+/{_NUMBER}")),
    ),
    (_has(r"(web|hpw)[o0]s"), "WebOS Browser", _either(_common, _first(rf"w(?:eb)?[o0]sbrowser/{_NUMBER}"))),
    (_has("bada"), "Bada", _first(rf"dolfin/{_NUMBER}")),
    (_has("tizen"), "Tizen", _either(_first(rf"(?:tizen\s?)?browser/{_NUMBER}"), _common)),
    (_has("qupzilla"), "QupZilla", _token("qupzilla")),
    (_has("librewolf"), "LibreWolf", _first(rf"(?:librewolf)[\s/]{_NUMBER}")),
    (_has("firefox|iceweasel|fxios"), "Firefox", _first(rf"(?:firefox|iceweasel|fxios)[\s/]{_NUMBER}")),
    (_has("electron"), "Electron", _first(rf"(?:electron)/{_NUMBER}")),
    (
        _has("sogoumobilebrowser", "metasr", r"se 2\.[x]"),
        "Sogou Browser",
        lambda ua: (
            _first(rf"(?:sogoumobilebrowser)[\s/]{_NUMBER}")(ua)
            or _first(rf"(?:chrome|crios|crmo)/{_NUMBER}")(ua)
            or _first(r"se ([\d.]+)x")(ua)
        ),
    ),
    (_has("MiuiBrowser"), "Miui", _first(rf"(?:MiuiBrowser)[\s/]{_NUMBER}")),
    (_has(r"\sDdg/[\d.]+$"), "DuckDuckGo", _first(r"\sDdg/([\d.]+)$")),
    (_has("chromium"), "Chromium", _token("chromium")),
    (_has("chrome|crios|crmo"), "Chrome", _first(rf"(?:chrome|crios|crmo)/{_NUMBER}")),
    (_has("GSA"), "Google Search", _first(rf"(?:GSA)/{_NUMBER}")),
    (_android, "Android Browser", _common),
    (_has("playstation 4"), "PlayStation 4", _common),
    (_has("safari|applewebkit"), "Safari", _common),
)


def _dotted(text: str) -> str:
    return re.sub(r"[_\s]", ".", text)


_OS_RULES: tuple[tuple[Test, str, Version], ...] = (
    (_has(r"Roku/DVP", flags=0), "Roku", _first(r"Roku/DVP-(\d+\.\d+)")),
    (_has("windows phone"), "Windows Phone", _first(r"windows phone (?:os)?\s?(\d+(\.\d+)*)")),
    (_has("windows "), "Windows", _first(r"Windows ((NT|XP)( \d\d?.\d)?)")),
    (_has(r"Macintosh(.*?) FxiOS(.*?)/", flags=0), "iOS", _first(r"(Version/)(\d[\d.]+)", 0, group=2)),
    (_has("macintosh"), "macOS", lambda ua: _dotted(_first(rf"mac os x {_NUMBER}")(ua))),
    (_has("(ipod|iphone|ipad)"), "iOS", lambda ua: _dotted(_first(r"os (\d+([_\s]\d+)*) like mac os x")(ua))),
    (_has("OpenHarmony"), "HarmonyOS", _first(r"OpenHarmony\s+(\d+(\.\d+)*)")),
    (_android, "Android", _first(r"android[\s/-](\d+(\.\d+)*)")),
    (_has(r"(web|hpw)[o0]s"), "WebOS", _first(r"(?:web|hpw)[o0]s/(\d+(\.\d+)*)")),
    (
        _has(r"blackberry|\bbb\d+", r"rim\stablet"),
        "BlackBerry",
        lambda ua: (
            _first(r"rim\stablet\sos\s(\d+(\.\d+)*)")(ua)
            or _first(r"blackberry\d+/(\d+([_\s]\d+)*)")(ua)
            or _first(r"\bbb(\d+)")(ua)
        ),
    ),
    (_has("bada"), "Bada", _first(r"bada/(\d+(\.\d+)*)")),
    (_has("tizen"), "Tizen", _first(r"tizen[/\s](\d+(\.\d+)*)")),
    (_has("linux"), "Linux", lambda ua: ""),
    (_has("CrOS", flags=0), "Chrome OS", lambda ua: ""),
    (_has("PlayStation 4", flags=0), "PlayStation 4", _first(r"PlayStation 4[/\s](\d+(\.\d+)*)")),
)

_MAJOR = re.compile(r"^(\d+)")


def _browser(ua: str) -> tuple[str, str]:
    for test, name, version in _BROWSERS:
        if test(ua):
            return name, version(ua)
    return _generic(ua)


def _os(ua: str) -> tuple[str, str]:
    for test, name, version in _OS_RULES:
        if test(ua):
            return name, version(ua)
    return "", ""


@lru_cache(maxsize=_CACHE_SIZE)
def _parse(ua: str) -> UserAgentInfo:
    browser_name, browser_version = _browser(ua)
    major = _MAJOR.match(browser_version)
    os_name, os_version = _os(ua)
    return UserAgentInfo(browser_name, browser_version, major.group(1) if major else "", os_name, os_version)


def parse_user_agent(ua: str) -> UserAgentInfo:
    """Browser name/version/major and OS name/version as bowser gives them; ``""`` for what is unknown."""
    ua = ua[:MAX_UA].strip()
    return _parse(ua) if ua else UNKNOWN


__all__ = ["MAX_UA", "UNKNOWN", "UserAgentInfo", "parse_user_agent"]
