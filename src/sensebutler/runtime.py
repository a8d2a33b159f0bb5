"""What every feature builder gets: the config, the router to publish to, where state lives."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sensebutler.config import Config
from sensebutler.pipeline.router import Router
from sensebutler.services.active_users import ActiveUsers
from sensebutler.services.app_names import AppNames


class Component(Protocol):
    """Anything the app starts and stops: a poller, a UDP listener, an HTTP endpoint."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class StartupError(Exception):
    """A component could not start (port in use, unreadable certificate, ...)."""


@dataclass
class Runtime:
    """What a builder needs: the config, the router to publish to, and where state lives."""

    config: Config
    router: Router
    state_dir: Path
    components: list[Component] = field(default_factory=list)
    #: app id → name, refreshed by the app-name poller
    app_names: AppNames = field(default_factory=AppNames)
    active_users: ActiveUsers = field(default_factory=ActiveUsers)


def install_stop_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT/SIGTERM (loop signal handlers where the loop supports them)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows event loops
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
