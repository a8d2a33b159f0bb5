"""Who is using Sense right now, per proxy host, from the user session events.

A ``Start session`` adds the user to the host's set, ``Stop session`` removes it (a user with
several sessions stays until the last one stops). The monitors read it.
"""

from __future__ import annotations

from collections import Counter, defaultdict


class ActiveUsers:
    def __init__(self) -> None:
        self._sessions: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def session_started(self, host: str, user: str) -> None:
        self._sessions[host][user] += 1

    def session_stopped(self, host: str, user: str) -> None:
        users = self._sessions.get(host)
        if users is None or user not in users:
            return
        users[user] -= 1
        if users[user] <= 0:
            del users[user]

    def users(self, host: str | None = None) -> set[str]:
        if host is not None:
            return set(self._sessions.get(host, ()))
        return {user for users in self._sessions.values() for user in users}

    def hosts(self) -> dict[str, int]:
        return {host: len(users) for host, users in self._sessions.items() if users}
