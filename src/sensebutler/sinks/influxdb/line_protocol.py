"""InfluxDB line protocol: escaping and formatting of one point per line.

Written by hand rather than with ``influxdb_client.Point``: that serializer builds a Point object,
sorts its tags and fields and escapes every name with ``str.translate`` on every call, which costs
tens of microseconds per point — far too slow for 50,000 events/s. Here names that repeat (tag
keys, tag values, field keys) are escaped once and cached, string fields are escaped with a few C
``replace`` calls, and the caller controls tag and field order. The official client's output is the
test oracle (``tests/sinks/influxdb/test_line_protocol.py``); the deliberate differences are:

* a newline or carriage return in a string field is written as the two characters ``\\n``/``\\r``
  (the client writes it raw; InfluxDB documents raw newlines in values as unsupported), so one
  record is always exactly one line;
* a name ending in a backslash gets an escaped space after it, as the client already does for tag
  values (a bare trailing backslash would escape the separator and break the line); tag keys and
  field keys get the same treatment (the client writes an unparseable line);
* an empty field key is skipped like an empty tag key (the client writes an unparseable line).

Empty tag values and empty tag keys are left out (line protocol cannot carry them), as the client
does; non-finite floats are left out; a point without fields is no line at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Literal

from sensebutler.sinks.influxdb.unsigned import Unsigned

FieldType = Literal["int", "uint", "float", "string", "bool"]
FieldValue = str | int | float | bool

_NAME_SPECIALS = re.compile(r"[,= \n\r\t]")
_NAME_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\r": r"\r", "\t": r"\t"})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\r": r"\r", "\t": r"\t"})
_CACHE_LIMIT = 50_000
_name_cache: dict[str, str] = {}


def escape_measurement(name: str) -> str:
    return name.translate(_MEASUREMENT_ESCAPES)


def escape_name(text: str) -> str:
    """Escape a tag key, tag value or field key (cached: these repeat)."""
    try:
        return _name_cache[text]
    except KeyError:
        pass
    escaped = text.translate(_NAME_ESCAPES) if _NAME_SPECIALS.search(text) else text
    if escaped.endswith("\\"):
        escaped += " "
    if len(_name_cache) >= _CACHE_LIMIT:
        _name_cache.clear()
    _name_cache[text] = escaped
    return escaped


def quote_string(value: FieldValue) -> str:
    """A string field value, quoted and escaped (one line: CR/LF become ``\\r``/``\\n``)."""
    if type(value) is not str:
        value = str(value)
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if '"' in value:
        value = value.replace('"', '\\"')
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return f'"{value}"'


def format_float(value: FieldValue) -> str | None:
    """Shortest round-trip repr without a trailing ``.0``; None for NaN and infinities."""
    text = repr(value if type(value) is float else float(value))
    if text.endswith(".0"):
        return text[:-2]
    if text[-1] in "fn":  # inf, -inf, nan
        return None
    return text


def _integer(value: FieldValue) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    # floored, as Butler SOS's InfluxDB clients write a decimal into an integer field (95.7 → 95)
    return math.floor(value) if isinstance(value, float) else int(value)


def format_int(value: FieldValue) -> str | None:
    number = value if type(value) is int else _integer(value)
    return None if number is None else f"{number}i"


def format_uint(value: FieldValue) -> str | None:
    number = value if type(value) is int else _integer(value)
    return None if number is None else f"{number}u"


def format_bool(value: FieldValue) -> str:
    return "true" if value else "false"


#: the text of a field value of each type (None = leave the field out)
FORMATTERS: dict[FieldType, Callable[[FieldValue], str | None]] = {
    "int": format_int,
    "uint": format_uint,
    "float": format_float,
    "string": quote_string,
    "bool": format_bool,
}


def format_value(value: FieldValue, kind: FieldType | None = None) -> str | None:
    """The line-protocol text of one field value; ``kind`` None = by Python type. None = leave out."""
    if kind is None:
        if isinstance(value, bool):
            kind = "bool"
        elif isinstance(value, Unsigned):
            kind = "uint"
        elif isinstance(value, int):
            kind = "int"
        elif isinstance(value, float):
            kind = "float"
        else:
            kind = "string"
    return FORMATTERS[kind](value)


def encode_line(
    measurement: str,
    tags: Iterable[tuple[str, str]],
    fields: Iterable[tuple[str, FieldValue]],
    time_ns: int | None = None,
) -> str:
    """One point, tags and fields in the given order; ``""`` when no field can be written."""
    field_parts = []
    for key, value in fields:
        if not key:
            continue
        text = format_value(value)
        if text is not None:
            field_parts.append(f"{escape_name(key)}={text}")
    if not field_parts:
        return ""
    tag_text = "".join(f",{escape_name(key)}={escape_name(value)}" for key, value in tags if key and value)
    line = f"{escape_measurement(measurement)}{tag_text} {','.join(field_parts)}"
    return line if time_ns is None else f"{line} {time_ns}"


__all__ = [
    "FORMATTERS",
    "FieldType",
    "FieldValue",
    "Unsigned",
    "encode_line",
    "escape_measurement",
    "escape_name",
    "format_float",
    "format_value",
    "quote_string",
]
