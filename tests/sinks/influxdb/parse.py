"""A small line-protocol reader for assertions: tags unescaped, field values as written (``12i``, ``"x"``)."""

from __future__ import annotations

from dataclasses import dataclass


def split_unescaped(text: str, separator: str, maxsplit: int = -1) -> list[str]:
    """Split on ``separator`` outside double quotes and not preceded by a backslash escape."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def unescape_name(text: str) -> str:
    return text.replace("\\,", ",").replace("\\=", "=").replace("\\ ", " ")


@dataclass(frozen=True)
class Line:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, str]
    time_ns: int


def parse_line(line: str) -> Line:
    key, fields, time_ns = split_unescaped(line, " ")
    measurement, *tag_parts = split_unescaped(key, ",")
    tags = dict(
        (unescape_name(k), unescape_name(v)) for k, v in (split_unescaped(part, "=", 1) for part in tag_parts)
    )
    field_map = {
        unescape_name(k): v
        for k, v in (split_unescaped(part, "=", 1) for part in split_unescaped(fields, ","))
    }
    return Line(unescape_name(measurement), tags, field_map, int(time_ns))


def parse_records(records: list[bytes]) -> list[Line]:
    return [parse_line(record.decode()) for record in records]
