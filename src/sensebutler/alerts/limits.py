"""Alert rate limits on the shared state backend (butler.md §7.6), kept across restarts.

Butler allows one alert per ``rateLimit`` seconds per destination and key (task id, or task id and
recipient for e-mail), in memory. Here the limit lives in the state backend (SQLite or Redis), so a
restart keeps it and several instances share it, and the key includes the event, so a failure does
not hold back the success that follows (Butler's service stopped/started share one limiter).

Keys: ``ratelimit:alert:<destination>:<event>:<key>`` (e.g. ``...:email:reload-failed:<task id>|<address>``).

When the state backend cannot answer, the alert is let through (an extra alert beats a lost one) and
counted in ``unavailable``.
"""

from __future__ import annotations

import logging
from collections import Counter

from sensebutler.logs import RateLimitedLog
from sensebutler.services.state.base import StateBackend
from sensebutler.services.state.errors import StateUnavailable
from sensebutler.services.state.limits import RateLimiter

log = logging.getLogger(__name__)


class AlertLimits:
    """One alert per ``window_s`` for each destination, event and key."""

    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend
        self._limiters: dict[tuple[str, str, float], RateLimiter] = {}
        #: per destination: alerts allowed, limited, and let through because the backend was down
        self.allowed: Counter[str] = Counter()
        self.limited: Counter[str] = Counter()
        self.unavailable: Counter[str] = Counter()
        self._log = RateLimitedLog(log, 60.0)

    async def allow(self, destination: str, event: str, key: str, *, window_s: float) -> bool:
        """True if an alert for ``key`` may go now (and records it); False when rate-limited.

        ``window_s`` 0 (or less) means no limit.
        """
        if window_s <= 0:
            self.allowed[destination] += 1
            return True
        limiter = self._limiter(destination, event, window_s)
        try:
            allowed = await limiter.allow(key)
        except StateUnavailable as exc:
            self.unavailable[destination] += 1
            self._log.log(
                logging.WARNING,
                f"unavailable:{destination}",
                "%s: rate limit state unavailable (%s); sending the alert anyway",
                destination,
                exc,
            )
            return True
        (self.allowed if allowed else self.limited)[destination] += 1
        if not allowed:
            log.info("%s: %s alert for %s rate-limited (one per %g s)", destination, event, key, window_s)
        return allowed

    def _limiter(self, destination: str, event: str, window_s: float) -> RateLimiter:
        found = self._limiters.get((destination, event, window_s))
        if found is None:
            found = RateLimiter(self.backend, f"alert:{destination}:{event}", window_s, 1)
            self._limiters[(destination, event, window_s)] = found
        return found


__all__ = ["AlertLimits"]
