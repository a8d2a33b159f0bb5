"""Validation errors in our own words.

pydantic's messages ("Input should be …", "Value error, …") name its internals, not the user's file.
:func:`describe` turns one pydantic error into a message and a hint that say what was expected and
what was found; unknown error types fall back to pydantic's text with its phrasing removed, so no
library wording reaches a user (a property test checks this for random wrong values).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core.core_schema import ErrorType

Loc = tuple[str | int, ...]

#: phrases of pydantic's own messages that must never reach a user
LIBRARY_PHRASES = (
    "Input should",
    "Value error",
    "Assertion failed",
    "String should",
    "Field required",
    "Extra inputs are not permitted",
    "should have at least",
    "should have at most",
    "<root>",
)

_MAX_SHOWN = 60

TYPE_NAMES = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_parsing_size": "an integer of a sensible size",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "string_unicode": "a string",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "iterable_type": "a list",
    "none_required": "nothing (null)",
}

#: what the members of a union (``str | int | float | bool``) are called when none matched
_UNION_MEMBER_NAMES = {"str": "a string", "int": "a number", "float": "a number", "bool": "true/false"}

#: patterns of our config fields, described for people who do not read regular expressions
_PATTERN_NAMES = {
    r"^(INF|inf|([0-9]+(ns|u|µ|ms|s|m|h|d|w))+)$": "a duration such as 10d, 4w, 1h30m or INF",
    r"^[0-9]+$": "digits only",
    r"^[^\r\n]+$": "one line of text",
}

_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
    "multiple_of": ("multiple_of", "must be a multiple of {}"),
}


def shown(value: Any) -> str:
    """A value from the file as YAML would spell the simple ones (``null``, ``true``), else its
    ``repr``, cut short when long."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _number(value: Any) -> Any:
    """``2048.0`` → ``2048`` (bounds written as floats in the models read better whole)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _plural(count: Any, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


_PYDANTIC_ERROR_TYPES = frozenset(typing.get_args(ErrorType))


def describe(error: Mapping[str, Any], loc: Loc, allowed_keys: list[str]) -> tuple[str, str]:
    """(message, hint) for one pydantic error at ``loc``; ``allowed_keys`` are the keys valid where
    an unknown key was found."""
    kind = error["type"]
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), allowed_keys, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif allowed_keys:
            hint = f"allowed keys: {', '.join(sorted(allowed_keys))}"
        else:
            hint = "no keys are allowed here"
        return f"unknown key {loc[-1]!r}", hint
    if kind == "missing":
        return "required key is missing", ""
    if kind in TYPE_NAMES:
        return f"expected {TYPE_NAMES[kind]}, got {shown(value)}", ""
    if kind in ("literal_error", "enum"):
        return f"expected one of {ctx.get('expected', '?')}, got {shown(value)}", ""
    if kind in _BOUNDS:
        key, template = _BOUNDS[kind]
        return f"{template.format(_number(ctx.get(key, '?')))}, got {shown(value)}", ""
    if kind == "finite_number":
        return f"expected a finite number, got {shown(value)}", ""
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        if minimum == 1:
            return "must not be empty", ""
        return f"must be at least {_plural(minimum, 'character')} long, got {shown(value)}", ""
    if kind == "string_too_long":
        return f"must be at most {_plural(ctx.get('max_length', '?'), 'character')} long", ""
    if kind == "too_short":
        return f"needs at least {_plural(ctx.get('min_length', '?'), 'item')}", ""
    if kind == "too_long":
        return f"takes at most {_plural(ctx.get('max_length', '?'), 'item')}", ""
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"expected {_PATTERN_NAMES.get(pattern, f'text matching {pattern}')}, got {shown(value)}", ""
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"]), ""
    if kind not in _PYDANTIC_ERROR_TYPES:  # our own PydanticCustomError: its text is ours already
        return str(error.get("msg", "invalid value")), ""
    return _reworded(str(error.get("msg", "invalid value")), value), ""


def _reworded(message: str, value: Any) -> str:
    """pydantic's text for an error type we do not map, without pydantic's phrasing."""
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    for phrase, ours in (
        ("Input should be", "expected"),
        ("String should", "text should"),
        ("Input", "value"),
    ):
        if message.startswith(phrase):
            return f"{ours}{message[len(phrase) :]}, got {shown(value)}"
    return f"invalid value {shown(value)}: {message}"


def union_message(member_tags: list[str], value: Any) -> str:
    """One message for a value that matched no member of a union (pydantic reports one per member)."""
    names: list[str] = []
    for tag in member_tags:
        name = _UNION_MEMBER_NAMES.get(tag, tag)
        if name not in names:
            names.append(name)
    expected = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"expected {expected}, got {shown(value)}"


def is_union_member_tag(part: str | int) -> bool:
    return part in _UNION_MEMBER_NAMES


# -- where a location leads in the models -------------------------------------------------------------


def allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys a user may write in the mapping at ``loc`` (empty when it is not a model)."""
    model = _model_of(annotation_at(root, loc))
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def annotation_at(root: type[BaseModel], loc: Loc) -> Any:
    """The type annotation of the value at ``loc`` (``Any`` when the path leaves the models)."""
    annotation: Any = root
    for part in loc:
        annotation = _strip(annotation)
        model = _model_of(annotation)
        if model is not None and isinstance(part, str):
            field = _field(model, part)
            if field is None:
                return Any
            annotation = field
            continue
        args = typing.get_args(annotation)
        if not args:
            return Any
        annotation = args[-1]  # list[X] → X, dict[K, V] → V
    return annotation


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _strip(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``Annotated[X, …]`` → ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
