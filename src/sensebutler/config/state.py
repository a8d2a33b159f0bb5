"""``state:`` — where sensebutler keeps what must survive a restart (spools, embedded store) and
which backend holds state shared between instances (dedupe, rate limits; docs/state.md)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, model_validator
from pydantic_core import PydanticCustomError

from sensebutler.config.base import Section

_REDIS_SCHEMES = ("redis", "rediss", "unix")


class StateConfig(Section):
    dir: str = "state"
    #: ``sqlite``: a file in ``dir``, one machine; ``redis``: shared by several instances
    backend: Literal["sqlite", "redis"] = "sqlite"
    redis_url: SecretStr | None = None
    #: put before every key sensebutler writes to Redis, so one Redis can serve other uses too
    redis_prefix: str = "sensebutler:"
    #: the SQLite backend's file; default ``<dir>/state.sqlite``. Instances on one machine that
    #: should share state point here at one file, each keeping its own ``dir`` (spools are private)
    sqlite_file: str | None = None

    @model_validator(mode="after")
    def _redis_needs_a_url(self) -> StateConfig:
        if self.backend != "redis":
            return self
        url = self.redis_url.get_secret_value() if self.redis_url is not None else ""
        if not url:
            raise PydanticCustomError(
                "redis_url_missing",
                "redis_url is required when backend is redis (e.g. redis://:${REDIS_PASSWORD}@host:6379/0)",
            )
        scheme = urlsplit(url).scheme
        if scheme not in _REDIS_SCHEMES:
            allowed = ", ".join(s + "://" for s in _REDIS_SCHEMES)
            raise PydanticCustomError(
                "redis_url_scheme",
                "redis_url must start with {allowed}; got {scheme} scheme",
                {"allowed": allowed, "scheme": scheme or "no"},
            )
        return self
