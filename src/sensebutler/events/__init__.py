"""Typed events: what sources produce and the router hands to sinks.

Every event carries the time it happened at its source (``time_ns``, nanoseconds since the
epoch, UTC) so a point that waits in a spool is still written at the right time. ``kind`` is a
class-level routing key; the router and the config's per-sink ``events`` lists use it.

Events are frozen ``msgspec.Struct``s: every sink and processor holds the same object, so none may
change it. The source that builds an event may still settle fields it decides after parsing (an app
name from a lookup, categories) with :func:`settle`, before it publishes the event. Structs rather
than frozen dataclasses because the UDP hot path builds tens of thousands a second: a frozen
dataclass's ``__init__`` sets each field through ``object.__setattr__`` (~6 µs for a QIX event),
a Struct's is C (~1 µs). ``msgspec.structs`` gives ``fields``/``replace``/``asdict``.
"""

from __future__ import annotations

import time
from typing import ClassVar

import msgspec
from msgspec.structs import force_setattr


def now_ns() -> int:
    return time.time_ns()


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event. Subclasses set ``kind`` and add their own fields."""

    kind: ClassVar[str] = "event"
    time_ns: int = msgspec.field(default_factory=now_ns)


def settle(event: Event, **fields: object) -> None:
    """Set ``fields`` on an event its source has not published yet.

    Only the source that built ``event`` may call this, before :meth:`Router.publish`: a published
    event is shared by every consumer and never changes. (``msgspec.structs.replace`` would copy
    all ~30 fields of a log event on the UDP hot path.)
    """
    for name, value in fields.items():
        force_setattr(event, name, value)


__all__ = ["Event", "now_ns", "settle"]
