"""The state contract every backend keeps, and the input checks both backends share.

Key spaces:

* **values**: ``get``/``get_many``/``put``/``put_if_absent``/``delete``/``ttl``/``keys``, counters (``incr``)
  and leases live in one key space. A counter is stored as its decimal ASCII digits (``get`` of a
  counter at 5 returns ``b"5"``); a lease's value is its owner's name, UTF-8.
* **sets**: ``set_add``/``set_remove``/``set_members`` use a separate key space, so a set and a value
  may share a name without meeting; ``keys`` lists values only.

Expiry: a key whose TTL has passed is never returned by any call, and an atomic call treats it as
absent. ``ttl`` returns the remaining seconds, or ``None`` when the key has no expiry **or does not
exist** (use ``get`` to tell those apart). TTLs are seconds as floats, kept to the millisecond;
they must be positive and finite.

Errors: :class:`~sensebutler.services.state.errors.StateUnavailable` when the backend cannot answer
(retry and count), :class:`ValueError` for bad input.

Callers name their keys ``<area>:<namespace>:<key>`` (``dedupe:task:<execution id>``) so several
features share one backend without collisions; docs/state.md lists the areas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol


class StateBackend(Protocol):
    """Shared state: values with TTL, counters, leases and small sets. Every method is atomic."""

    name: str

    async def start(self) -> None:
        """Open the store; raises ``StateUnavailable`` (URL password masked) when it cannot."""

    async def close(self) -> None:
        """Release connections and threads; idempotent."""

    async def stop(self) -> None:
        """``close()`` under the name the runtime's components use."""

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys``, in their order (None for a missing one), read at one instant."""

    async def put(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        """Store ``value``; an overwrite replaces the TTL too (``None``: no expiry)."""

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        """Store ``value`` only if ``key`` holds nothing (or has expired); True if it was stored."""

    async def delete(self, key: str) -> bool:
        """Forget ``key``; True if it held a live value."""

    async def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; ``None`` if it has no expiry or does not exist."""

    async def keys(self, prefix: str = "") -> list[str]:
        """The live value keys starting with ``prefix``, sorted."""

    async def incr(self, key: str, by: int = 1, ttl_s: float | None = None) -> int:
        """Add ``by`` (may be negative) to the counter at ``key`` and return the new value.

        A missing or expired counter starts at 0 and gets ``ttl_s``; an existing one keeps its
        expiry. ``ValueError`` if ``key`` holds something that is not an integer.
        """

    async def throttle(self, key: str, interval_s: float, burst_s: float = 0.0) -> float:
        """One step of a shared rate limit (GCRA, a token bucket kept as one timestamp).

        Allows one call per ``interval_s`` on average, and up to ``burst_s / interval_s`` more at
        once. Returns 0.0 when the call is allowed (and recorded), else the seconds until one would
        be (nothing recorded). The value at ``key`` is the bucket's "theoretical arrival time" in
        epoch milliseconds; it expires when the bucket is full again. Redis uses its own clock, so
        instances with skewed clocks still agree.
        """

    async def lease(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take the lease ``name`` for ``owner`` or renew it if ``owner`` holds it, for ``ttl_s``.

        False while another owner holds an unexpired lease.
        """

    async def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up if ``owner`` holds it; True if it did."""

    async def set_add(self, key: str, member: str) -> bool:
        """Add ``member``; True if it was not there yet."""

    async def set_remove(self, key: str, member: str) -> bool:
        """Remove ``member``; True if it was there."""

    async def set_members(self, key: str) -> set[str]: ...


def check_key(key: str, what: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"{what} must be a non-empty string, got {key!r}")
    return key


def check_value(value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"value must be bytes, got {type(value).__name__}")
    return bytes(value)


def check_ttl(ttl_s: float | None) -> float | None:
    """``ttl_s`` as a float, or None; ValueError unless positive and finite."""
    if ttl_s is None:
        return None
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float):
        raise ValueError(f"ttl_s must be a number of seconds, got {ttl_s!r}")
    if not math.isfinite(ttl_s) or ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive and finite, got {ttl_s!r}")
    return float(ttl_s)


def ttl_ms(ttl_s: float) -> int:
    """Milliseconds for a checked TTL, at least 1 (Redis ``PX`` takes whole milliseconds)."""
    return max(1, math.ceil(ttl_s * 1000))


def check_throttle(interval_s: float, burst_s: float) -> tuple[int, int]:
    """``(interval_ms, burst_ms)``; ValueError unless the interval is positive and the burst not negative."""
    interval = check_ttl(interval_s)
    if interval is None:
        raise ValueError("throttle needs an interval_s")
    if isinstance(burst_s, bool) or not isinstance(burst_s, int | float):
        raise ValueError(f"burst_s must be a number of seconds, got {burst_s!r}")
    if not math.isfinite(burst_s) or burst_s < 0:
        raise ValueError(f"burst_s must be zero or positive and finite, got {burst_s!r}")
    # interval rounded down, burst to nearest: n-1 intervals never exceed the burst they should fill
    return max(1, math.floor(interval * 1000)), round(burst_s * 1000)


def check_by(by: int) -> int:
    if isinstance(by, bool) or not isinstance(by, int):
        raise ValueError(f"incr step must be an integer, got {by!r}")
    return by
