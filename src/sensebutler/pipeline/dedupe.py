"""Remember keys (task execution ids) for a while so a repeated event is handled once.

A key is *claimed* when its event is first seen; :meth:`release` forgets it again when handling
failed, so a resend can succeed (Butler's behaviour). This in-memory store serves one instance;
the shared-state backends (SQLite, Redis) implement the same two methods for several instances.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class Dedupe:
    def __init__(self, ttl_s: float, max_keys: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()

    def claim(self, key: str, now: float | None = None) -> bool:
        """True the first time ``key`` is seen within the TTL; False for a duplicate."""
        now = time.monotonic() if now is None else now
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now + self.ttl_s
        if len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return True

    def release(self, key: str) -> None:
        self._seen.pop(key, None)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)
