"""Remember keys (task execution ids) for a while so a repeated event is handled once.

A key is *claimed* when its event is first seen; :meth:`release` forgets it again when handling
failed, so a resend can succeed (Butler's behaviour).

* :class:`Dedupe` keeps the claims in a :class:`~sensebutler.services.state.StateBackend` (SQLite
  or Redis), so they survive a restart and several instances share them.
* :class:`MemoryDedupe` is the synchronous, in-process variant the UDP task input uses until
  de-duplication moves into the async processor stage.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from sensebutler.services.state.base import StateBackend, check_key, check_ttl


class Dedupe:
    """Claims under ``dedupe:<namespace>:<key>`` in ``backend``, each forgotten after ``ttl_s``."""

    def __init__(self, backend: StateBackend, namespace: str, ttl_s: float) -> None:
        checked = check_ttl(ttl_s)
        if checked is None:
            raise ValueError("dedupe needs a ttl_s")
        self.backend = backend
        self.namespace = check_key(namespace, "dedupe namespace")
        self.ttl_s = checked

    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is seen within the TTL (by any instance); False for a duplicate.

        Raises ``StateUnavailable`` when the backend is down: the caller decides whether to handle
        the event anyway (a possible duplicate) or to drop it, and counts which.
        """
        return await self.backend.put_if_absent(self._key(key), b"1", self.ttl_s)

    async def release(self, key: str) -> None:
        await self.backend.delete(self._key(key))

    def _key(self, key: str) -> str:
        return f"dedupe:{self.namespace}:{check_key(key, 'dedupe key')}"


class MemoryDedupe:
    """In-process claims for one instance; the oldest are forgotten beyond ``max_keys``."""

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
