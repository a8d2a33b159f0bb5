"""Shared state (values with TTL, counters, leases, small sets) on SQLite or Redis.

:func:`open_backend` picks the backend named by ``state.backend``; features take a
:class:`StateBackend` and never a concrete class. See docs/state.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensebutler.config.state import StateConfig
from sensebutler.services.state.base import StateBackend
from sensebutler.services.state.errors import StateUnavailable
from sensebutler.services.state.sqlite import SqliteStateBackend

if TYPE_CHECKING:
    from sensebutler.services.state.redis import RedisStateBackend

__all__ = [
    "SQLITE_FILE",
    "RedisStateBackend",
    "SqliteStateBackend",
    "StateBackend",
    "StateUnavailable",
    "open_backend",
]

#: the SQLite backend's file inside ``state.dir`` unless ``state.sqlite_file`` names another
SQLITE_FILE = "state.sqlite"


def __getattr__(name: str) -> Any:
    """``RedisStateBackend`` on first use: redis-py (~6 MB of memory) is imported only by a service
    whose ``state.backend`` is redis (or by code that names the class)."""
    if name == "RedisStateBackend":
        from sensebutler.services.state.redis import RedisStateBackend

        return RedisStateBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_backend(config: StateConfig, state_dir: Path) -> StateBackend:
    """The backend ``config`` asks for, not yet started.

    ``await backend.start()`` opens it and raises :class:`StateUnavailable` (Redis URL with its
    password masked) when it cannot be reached; ``await backend.close()`` (or ``stop()``) ends it.
    """
    if config.backend == "redis":
        if config.redis_url is None:  # the config model already refuses this
            raise ValueError("state.redis_url is required when state.backend is redis")
        from sensebutler.services.state.redis import RedisStateBackend

        return RedisStateBackend(config.redis_url.get_secret_value(), config.redis_prefix)
    return SqliteStateBackend(Path(config.sqlite_file) if config.sqlite_file else state_dir / SQLITE_FILE)
