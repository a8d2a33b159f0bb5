"""Rate limits shared by every instance on a state backend and kept across restarts.

For alert destinations (at most ``max_count`` alerts per ``window_s`` for one destination, task and
event type) and any other limit several instances must agree on. The UDP listener's per-process
token bucket (``pipeline/rate_limit.py``) stays in memory: it sits on the hot path.

The scheme is GCRA, a token bucket stored as one timestamp (:meth:`StateBackend.throttle`): up to
``max_count`` calls at once, then one every ``window_s / max_count``. Unlike a fixed window it never
lets twice the limit through around a window boundary, and with ``max_count: 1`` it behaves as
Butler's "one alert per window": the next one is allowed ``window_s`` after the last allowed one.
A refused call is not recorded, so a flood does not extend the wait.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from sensebutler.services.state.base import StateBackend, check_key, check_ttl

Outcome = Literal["allowed", "limited"]


class RateLimiter:
    """At most ``max_count`` per ``window_s`` for each key, under ``ratelimit:<namespace>:<key>``."""

    def __init__(self, backend: StateBackend, namespace: str, window_s: float, max_count: int) -> None:
        window = check_ttl(window_s)
        if window is None:
            raise ValueError("a rate limit needs a window_s")
        if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
            raise ValueError(f"max_count must be a positive integer, got {max_count!r}")
        self.backend = backend
        self.namespace = check_key(namespace, "rate limit namespace")
        self.window_s = window
        self.max_count = max_count
        self.interval_s = window / max_count
        #: how many calls were allowed and limited by this object (for self-metrics)
        self.counts: Counter[Outcome] = Counter()

    async def acquire(self, key: str) -> float:
        """0.0 if a call for ``key`` may go now (it is counted); else the seconds until one may.

        Raises ``StateUnavailable`` when the backend is down; the caller decides (and counts)
        whether to send anyway or hold back.
        """
        wait = await self.backend.throttle(
            f"ratelimit:{self.namespace}:{check_key(key, 'rate limit key')}",
            self.interval_s,
            self.window_s - self.interval_s,
        )
        self.counts["allowed" if wait == 0 else "limited"] += 1
        return wait

    async def allow(self, key: str) -> bool:
        """True if a call for ``key`` may go now (and counts it)."""
        return await self.acquire(key) == 0
