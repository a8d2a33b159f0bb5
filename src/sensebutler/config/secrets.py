"""Find the secret values in a configuration so logs and ``config show`` never reveal them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr


def secret_values(model: BaseModel) -> set[str]:
    """Every non-empty ``SecretStr`` value anywhere in ``model``."""
    found: set[str] = set()
    _collect(model, found)
    return {s for s in found if s}


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, found)
