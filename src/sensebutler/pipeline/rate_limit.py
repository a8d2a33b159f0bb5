"""Token bucket: ``rate`` tokens per second, at most ``burst`` saved up.

Unlike Butler SOS's fixed one-minute window, a bucket has no window boundary at which twice the
limit can pass.
"""

from __future__ import annotations

import time


class TokenBucket:
    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        """Take one token; False when the bucket is empty (the caller drops and counts)."""
        return self.take_up_to(1, now) == 1

    def take_up_to(self, count: int, now: float | None = None) -> int:
        """Take up to ``count`` tokens at once; how many were taken (the rest are refused)."""
        if now is None:
            now = time.monotonic()
        tokens = self._tokens + (now - self._last) * self.rate
        self._last = now
        if tokens > self.burst:
            tokens = self.burst
        taken = min(count, int(tokens)) if tokens >= 1.0 else 0
        self._tokens = tokens - taken
        return taken
