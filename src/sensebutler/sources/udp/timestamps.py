"""Timestamps as log4net and Qlik's converters write them.

* ``%longIso8601date`` (Qlik's ``Iso8601TimeOffsetPatternConverter``): local time with its UTC offset,
  compact ``20211109T153726.028+0200``; the hyphenated ``2021-11-09T15:37:26.028+02:00`` (or ``+0200``)
  is accepted as well. Any offset, negative ones included (Butler SOS blanks those), ``Z``, and an
  optional fraction of 1–9 digits.
* ``%date``: local time without an offset, ``2021-11-09 15:37:26,028``.

Both checks are memoised in a dict (cleared when full): every datagram logged in the same millisecond
carries the same strings. A new millisecond in the common forms (``...T153726.028+0200``,
``... 15:37:26,028``) costs only its fraction: the rest is the second's, looked up in the same cache.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Final

_FRACTION_AND_OFFSET: Final = r"(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)"
_HYPHENATED: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})" + _FRACTION_AND_OFFSET, re.ASCII
)
_COMPACT: Final = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})" + _FRACTION_AND_OFFSET, re.ASCII)
_LOCAL: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:,\d{1,9})?", re.ASCII)

_EPOCH: Final = datetime(1970, 1, 1)
_SECOND: Final = timedelta(seconds=1)
_CACHE_SIZE: Final = 4096
#: longer strings are no timestamp; they are rejected before reaching (and filling) a cache
_LONGEST: Final = 40


def _offset_seconds(offset: str) -> int | None:
    if offset == "Z":
        return 0
    hours = int(offset[1:3])
    minutes = int(offset[-2:]) if len(offset) > 3 else 0
    if hours > 23 or minutes > 59:
        return None
    seconds = hours * 3600 + minutes * 60
    return -seconds if offset[0] == "-" else seconds


#: what a cache holds for a text that is no timestamp (no 4-digit-year timestamp is this far off)
_INVALID: Final = -(2**80)
_instants: Final[dict[str, int]] = {}
_locals: Final[dict[str, bool]] = {}


def instant_ns(text: str) -> int | None:
    """Nanoseconds since the epoch (UTC) for an ISO 8601 timestamp with an offset, else ``None``."""
    if len(text) > _LONGEST:
        return None
    known = _instants.get(text)
    if known is None:
        made = _new_instant_ns(text)
        if len(_instants) >= _CACHE_SIZE:
            _instants.clear()
        known = _instants[text] = _INVALID if made is None else made
    return None if known == _INVALID else known


def _digits(text: str) -> bool:
    return text.isdigit() and text.isascii()


def _new_instant_ns(text: str) -> int | None:
    # compact with milliseconds and a numeric offset (20211109T153726.028+0200): exactly when the
    # text without its fraction is a valid timestamp, and then that instant plus the fraction
    if len(text) == 24 and text[8] == "T" and text[15] == "." and text[19] in "+-":
        fraction = text[16:19]
        if _digits(fraction):
            second = instant_ns(text[:15] + text[19:])
            return None if second is None else second + int(fraction) * 1_000_000
    return _instant_ns(text)


def is_local_timestamp(text: str) -> bool:
    """``%date`` form (or an ISO form with offset, which some appenders put there)."""
    if len(text) > _LONGEST:
        return False
    known = _locals.get(text)
    if known is None:
        # %date with milliseconds (2021-11-09 15:37:26,028): valid exactly when its second is
        if len(text) == 23 and text[10] == " " and text[19] == "," and _digits(text[20:]):
            made = is_local_timestamp(text[:19])
        else:
            made = _is_local_timestamp(text)
        if len(_locals) >= _CACHE_SIZE:
            _locals.clear()
        known = _locals[text] = made
    return known


def _instant_ns(text: str) -> int | None:
    match = _COMPACT.fullmatch(text) or _HYPHENATED.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    offset_s = _offset_seconds(offset)
    if offset_s is None:
        return None
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    seconds = (local - _EPOCH) // _SECOND - offset_s
    return seconds * 1_000_000_000 + (int(fraction.ljust(9, "0")) if fraction else 0)


def _is_local_timestamp(text: str) -> bool:
    match = _LOCAL.fullmatch(text)
    if match is None:
        return instant_ns(text) is not None
    year, month, day, hour, minute, second = match.groups()
    try:
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return False
    return True


__all__ = ["instant_ns", "is_local_timestamp"]
