"""Qlik Sense's timestamp formats.

QRS answers in UTC with milliseconds and ``Z``; "never" is the year 1753. The engine healthcheck
and the native log rows use the compact ISO-8601 basic form with the local offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NEVER = datetime(1753, 1, 1, tzinfo=UTC)
NEVER_TEXT = "1753-01-01T00:00:00.000Z"


def utcnow() -> datetime:
    return datetime.now(UTC)


def qrs_time(moment: datetime) -> str:
    """``2024-01-05T10:22:11.123Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_qrs_time(text: str) -> datetime:
    """Inverse of :func:`qrs_time` (also accepts other ISO-8601 forms with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _offset(moment: datetime) -> str:
    delta = moment.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def compact_local(moment: datetime) -> str:
    """``20240105T081502.000+0100`` in the machine's local time zone."""
    local = moment.astimezone()
    return local.strftime("%Y%m%dT%H%M%S.") + f"{local.microsecond // 1000:03d}" + _offset(local)


def compact_utc(moment: datetime) -> str:
    """``20240105T092003.112+0000`` as used in script log file names."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%S.") + f"{utc.microsecond // 1000:03d}+0000"
