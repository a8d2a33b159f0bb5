"""Checking Qlik's JSON answers against the shapes the endpoints document.

The models are lenient where Sense versions differ (unknown keys ignored, numbers sent as strings
accepted, the old ``mem.comitted`` spelling) and strict where data would be wrong (a missing counter
is an error, never a silent zero). A mismatch becomes one readable line naming the fields.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

T = TypeVar("T")

_MAX_LISTED = 3


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ShapeError(ValueError):
    """The answer is not JSON or not the documented shape; the message names the fields."""


def describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False)[:_MAX_LISTED]:
        where = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append(f"{where}: {item['msg']}")
    more = error.error_count() - _MAX_LISTED
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def parse(adapter: TypeAdapter[T], body: bytes) -> T:
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        raise ShapeError(describe(exc)) from exc
