"""Distinct user agents parsed per second on one core (every string new: no cache hits).

A datagram flood with a new user agent in each one is the worst case for the user-event input
(issue 16, item 10); the target is 2,000 distinct user agents per second within one core.
Strings are real browser user agents with their version numbers varied, so each is distinct but
takes the same path through the rules as the real one. Prints one JSON object.

    .venv/bin/python bench/user_agents.py [--count 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from sensebutler.sources.udp import user_agent
from sensebutler.sources.udp.user_agent import parse_user_agent

TEMPLATES = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{a}.0.{b}.{c} "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{a}.0.0.0 "
    "Safari/537.36 Edg/{a}.0.{b}.{c}",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{c}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{a}.{b} Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{a}.0) Gecko/20100101 Firefox/{a}.{b}.{c}",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {a}_{b}_{c} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{a}.{b} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS {a}_{b} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/{a}.0.{b}.{c} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android {b}; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/{a}.{c} Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android {b}; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{a}.0.{c}.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{a}.0.{b}.{c} "
    "Safari/537.36 OPR/{b}.0.0.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.{c}) like Gecko",
]


def distinct_agents(count: int, salt: int) -> list[str]:
    return [
        TEMPLATES[i % len(TEMPLATES)].format(a=60 + i % 70, b=i // 70 % 1000, c=i + salt * count)
        for i in range(count)
    ]


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--count", type=int, default=20_000, help="distinct user agents per pass")
    args.add_argument("--rounds", type=int, default=3, help="best of this many passes")
    options = args.parse_args()
    best = float("inf")
    for round_ in range(options.rounds):
        agents = distinct_agents(options.count, round_)
        user_agent._parse.cache_clear()
        start = time.process_time()
        for ua in agents:
            parse_user_agent(ua)
        best = min(best, time.process_time() - start)
    result = {
        "bench": "user_agents",
        "python": platform.python_version(),
        "distinct_user_agents": options.count,
        "distinct_per_s": round(options.count / best),
        "us_per_distinct": round(best / options.count * 1e6, 2),
        "cached_per_s": round(cached_rate(options.count)),
        "target_distinct_per_s": 2000,
    }
    print(json.dumps(result))


def cached_rate(count: int) -> float:
    agents = distinct_agents(100, 99) * (count // 100)
    for ua in agents[:100]:
        parse_user_agent(ua)
    start = time.process_time()
    for ua in agents:
        parse_user_agent(ua)
    return len(agents) / (time.process_time() - start)


if __name__ == "__main__":
    main()
