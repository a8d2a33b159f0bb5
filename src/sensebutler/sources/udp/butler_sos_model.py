"""Base for config models that mirror a Butler SOS YAML section key for key.

A Butler SOS section validates as-is (camelCase keys); snake_case names work too. Unknown keys are
errors, a YAML ``null`` where a list belongs is an empty list (Butler SOS's own template has such
nulls), and numbers are accepted where strings belong (``value: 403`` in a filter).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


def _none_is_empty(value: object) -> object:
    return [] if value is None else value


NullableList = Annotated[list[T], BeforeValidator(_none_is_empty)]


class ButlerSosModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
    )


class NameValue(ButlerSosModel):
    """A ``{name, value}`` pair (categories, tags)."""

    name: str
    value: str


__all__ = ["ButlerSosModel", "NameValue", "NullableList"]
