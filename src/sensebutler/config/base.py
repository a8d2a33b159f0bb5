"""Shared behaviour of every configuration section.

* Unknown keys are errors (``extra="forbid"``); the loader turns them into "did you mean" hints.
* A YAML ``null`` where a list is expected means an empty list (Butler SOS users hit crashes on
  exactly this, issues #1450/#276/#281).
* Every feature section derives from :class:`FeatureSection`: it has ``enable`` and, while disabled,
  needs nothing else — required fields of a disabled section are not checked.
"""

from __future__ import annotations

import types
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


def _is_list_type(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list_type(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return False


class Section(BaseModel):
    """Base of all config models."""

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _null_lists_are_empty(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, info in cls.model_fields.items():
            for key in (name, info.alias):
                if key and key in data and data[key] is None and _is_list_type(info.annotation):
                    data = {**data, key: []}
        return data


class FeatureSection(Section):
    """A section that can be switched off. While ``enable`` is false nothing else is required."""

    enable: bool = False
    #: field names that only need a value when the feature is enabled
    required_when_enabled: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _require_when_enabled(self) -> FeatureSection:
        if self.enable:
            missing = [name for name in self.required_when_enabled if not getattr(self, name)]
            if missing:
                raise PydanticCustomError(
                    "required_when_enabled",
                    "required while enable is true: {fields}",
                    {"fields": ", ".join(missing)},
                )
        return self
