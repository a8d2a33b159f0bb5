"""Typed events: what sources produce and the router hands to sinks.

Every event carries the time it happened at its source (``time_ns``, nanoseconds since the
epoch, UTC) so a point that waits in a spool is still written at the right time. ``kind`` is a
class-level routing key; the router and the config's per-sink ``events`` lists use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ClassVar


def now_ns() -> int:
    return time.time_ns()


@dataclass(slots=True, kw_only=True)
class Event:
    """Base of every event. Subclasses set ``kind`` and add their own fields."""

    kind: ClassVar[str] = "event"
    time_ns: int = field(default_factory=now_ns)


__all__ = ["Event", "now_ns"]
