"""``state:`` — where sensebutler keeps what must survive a restart (spools, embedded store) and
which backend holds state shared between instances."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from sensebutler.config.base import Section


class StateConfig(Section):
    dir: str = "state"
    backend: Literal["sqlite", "redis"] = "sqlite"
    redis_url: SecretStr | None = None
