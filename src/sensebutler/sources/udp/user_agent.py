"""Browser and OS from a user-agent string, with the maintained ``ua-parser`` package.

Parsing one new string costs milliseconds (a long regex list), but a site has few distinct user
agents, so results are memoised in a bounded LRU cache. Only the user-agent and OS domains are
resolved (the device domain is never used).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import ua_parser

#: longer strings are cut before parsing; real user agents are a few hundred characters
MAX_UA = 512
_CACHE_SIZE = 1024
_DOMAINS = ua_parser.Domain.USER_AGENT | ua_parser.Domain.OS


class UserAgentInfo(NamedTuple):
    browser_name: str
    browser_version: str
    browser_major: str
    os_name: str
    os_version: str


UNKNOWN = UserAgentInfo("", "", "", "", "")


def _version(*parts: str | None) -> str:
    out: list[str] = []
    for part in parts:
        if not part:
            break
        out.append(part)
    return ".".join(out)


@lru_cache(maxsize=_CACHE_SIZE)
def _parse(ua: str) -> UserAgentInfo:
    result = ua_parser.parser(ua, _DOMAINS)
    agent, system = result.user_agent, result.os
    return UserAgentInfo(
        browser_name=agent.family if agent else "",
        browser_version=_version(agent.major, agent.minor, agent.patch, agent.patch_minor) if agent else "",
        browser_major=(agent.major or "") if agent else "",
        os_name=system.family if system else "",
        os_version=_version(system.major, system.minor, system.patch, system.patch_minor) if system else "",
    )


def parse_user_agent(ua: str) -> UserAgentInfo:
    """Browser name/version/major and OS name/version; empty strings for what is not recognised."""
    ua = ua[:MAX_UA].strip()
    return _parse(ua) if ua else UNKNOWN


__all__ = ["MAX_UA", "UNKNOWN", "UserAgentInfo", "parse_user_agent"]
