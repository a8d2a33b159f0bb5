"""Who is using Sense right now, per proxy host, from the user session events.

A ``Start session`` adds the user to the host's set, ``Stop session`` removes it (a user with
several sessions stays until the last one stops). Any other activity of the user on the host
(connections opening or closing) keeps it alive; :meth:`expire` drops users idle for longer than
the proxy's session timeout, whose stop event never came. :meth:`seed` replaces a host's sessions
with what its proxy lists (at startup). Listeners are told after every change; the active-users
monitor publishes from there, and the REST API reads :meth:`users` and :meth:`count`.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping


class ActiveUsers:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._seen: dict[tuple[str, str], float] = {}
        self._clock = clock
        self.listeners: list[Callable[[], None]] = []

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    def session_started(self, host: str, user: str) -> None:
        self._sessions[host][user] += 1
        self._seen[(host, user)] = self._clock()
        self._changed()

    def session_stopped(self, host: str, user: str) -> None:
        users = self._sessions.get(host)
        if users is None or user not in users:
            return
        users[user] -= 1
        if users[user] <= 0:
            del users[user]
            self._seen.pop((host, user), None)
        else:
            self._seen[(host, user)] = self._clock()
        self._changed()

    def touch(self, host: str, user: str) -> None:
        """The user did something on ``host`` (a connection opened or closed)."""
        if user in self._sessions.get(host, ()):
            self._seen[(host, user)] = self._clock()

    def seed(self, host: str, sessions: Mapping[str, int]) -> None:
        """Replace what is known of ``host`` with its proxy's list: user → number of sessions."""
        now = self._clock()
        for user in list(self._sessions.get(host, ())):
            self._seen.pop((host, user), None)
        self._sessions[host] = Counter({user: count for user, count in sessions.items() if count > 0})
        for user in self._sessions[host]:
            self._seen[(host, user)] = now
        self._changed()

    def expire(self, idle_s: float) -> list[tuple[str, str]]:
        """Drop users with no activity for ``idle_s`` seconds; the (host, user) pairs dropped."""
        limit = self._clock() - idle_s
        gone = [key for key, seen in self._seen.items() if seen < limit]
        for host, user in gone:
            self._sessions[host].pop(user, None)
            del self._seen[(host, user)]
        if gone:
            self._changed()
        return gone

    def users(self, host: str | None = None) -> set[str]:
        if host is not None:
            return set(self._sessions.get(host, ()))
        return {user for users in self._sessions.values() for user in users}

    def count(self, host: str | None = None) -> int:
        return len(self.users(host))

    def hosts(self) -> dict[str, int]:
        return {host: len(users) for host, users in self._sessions.items() if users}

    def per_host(self) -> dict[str, tuple[str, ...]]:
        """Every host seen (also those now without users, so their count can go to 0)."""
        return {host: tuple(sorted(users)) for host, users in self._sessions.items()}
