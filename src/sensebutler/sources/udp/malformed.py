"""The one exception a UDP parser may raise, and the fixed set of reasons it carries.

The reasons are label values for drop counters, so the set is small and closed.
"""

from __future__ import annotations

from enum import StrEnum

PREVIEW_MAX = 60


class MalformedReason(StrEnum):
    EMPTY = "empty"
    NOT_UTF8 = "not_utf8"
    UNKNOWN_TYPE = "unknown_type"
    FIELD_COUNT = "field_count"
    BAD_ID = "bad_id"
    MISSING_FIELD = "missing_field"


MALFORMED_REASONS: tuple[str, ...] = tuple(reason.value for reason in MalformedReason)


def safe_preview(data: bytes | str, limit: int = PREVIEW_MAX) -> str:
    """A log-safe excerpt: undecodable bytes escaped, non-printable characters dropped, ≤ ``limit``."""
    text = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data
    out: list[str] = []
    for char in text:
        if char.isprintable():
            out.append(char)
            if len(out) >= limit:
                break
    return "".join(out)


class MalformedDatagram(ValueError):
    """A datagram that is not an event; ``reason`` is counted, ``preview`` goes to a rate-limited log."""

    def __init__(self, reason: MalformedReason, data: bytes | str, detail: str = "") -> None:
        self.reason = reason
        self.preview = safe_preview(data)
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)


__all__ = ["MALFORMED_REASONS", "PREVIEW_MAX", "MalformedDatagram", "MalformedReason", "safe_preview"]
