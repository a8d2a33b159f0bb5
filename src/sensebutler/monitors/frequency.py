"""How often a monitor runs: Butler's text form (``every 30 seconds``, ``every 6 hours``), a number of
seconds, or a cron expression (5 fields, or 6 with seconds first; croniter, imported only for a
cron expression: every configuration loads this module, few use cron)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_UNITS = {
    "second": 1.0,
    "sec": 1.0,
    "s": 1.0,
    "minute": 60.0,
    "min": 60.0,
    "m": 60.0,
    "hour": 3600.0,
    "h": 3600.0,
    "day": 86400.0,
    "d": 86400.0,
}
_EVERY = re.compile(r"every\s+(?:(\d+(?:\.\d+)?)\s*)?([a-z]+?)s?", re.IGNORECASE)


@dataclass(frozen=True)
class Frequency:
    """A fixed interval (``interval_s``) or a cron schedule (``cron``)."""

    text: str
    interval_s: float | None = None
    cron: str | None = None

    def next_delay(self, now: datetime | None = None) -> float:
        """Seconds from ``now`` (UTC) until the next run."""
        if self.interval_s is not None:
            return self.interval_s
        assert self.cron is not None
        from croniter import croniter

        start = now or datetime.now(UTC)
        following: datetime = croniter(self.cron, start).get_next(datetime)
        return max(0.0, (following - start).total_seconds())


def parse_frequency(value: str | float | int) -> Frequency:
    """A :class:`Frequency`; ``ValueError`` saying which forms are accepted."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("a frequency in seconds must be above 0")
        return Frequency(str(value), interval_s=float(value))
    text = str(value).strip()
    match = _EVERY.fullmatch(text)
    if match is not None:
        number, unit = match.groups()
        seconds = _UNITS.get(unit.lower())
        if seconds is not None:
            interval = float(number or 1) * seconds
            if interval <= 0:
                raise ValueError(f"{text!r} is not a positive interval")
            return Frequency(text, interval_s=interval)
    fields = text.split()
    if len(fields) in (5, 6):
        from croniter import croniter

        # croniter takes seconds as a 6th field at the end; a 6-field cron here has them first
        expression = " ".join([*fields[1:], fields[0]]) if len(fields) == 6 else text
        if croniter.is_valid(expression):
            return Frequency(text, cron=expression)
    raise ValueError(
        f"{text!r} is not a frequency: write 'every 30 seconds' (seconds, minutes, hours or days), "
        "a number of seconds, or a cron expression ('*/5 * * * *', or 6 fields with seconds first)"
    )
