"""What every feature builder gets: the config, the router, the web mounts, and the shared services.

Shared services (the Qlik client, the state backend) are made on first use by the features that need
them, started before every feature and stopped after all of them, in reverse order.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sensebutler.config import Config
from sensebutler.pipeline.router import Router
from sensebutler.qlik.service import QlikService
from sensebutler.services.active_users import ActiveUsers
from sensebutler.services.app_names import AppNames
from sensebutler.services.state import StateBackend, open_backend
from sensebutler.tls import CertificateError
from sensebutler.web.mounts import WebMounts


class Component(Protocol):
    """Anything the app starts and stops: a sink, a processor, a poller, a UDP listener, a service."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class StartupError(Exception):
    """A component could not start (port in use, unreadable certificate, ...)."""


@dataclass
class Runtime:
    config: Config
    router: Router
    state_dir: Path
    #: what the feature builders made, in registry order (started in this order, stopped in reverse)
    components: list[Component] = field(default_factory=list)
    #: shared services, in the order they were first asked for
    services: list[Component] = field(default_factory=list)
    #: app id → name, refreshed by the app-name poller
    app_names: AppNames = field(default_factory=AppNames)
    active_users: ActiveUsers = field(default_factory=ActiveUsers)
    web: WebMounts = field(default_factory=WebMounts)
    _qlik: QlikService | None = None
    _state: StateBackend | None = None

    @property
    def qlik(self) -> QlikService:
        """The one Qlik client (QRS, proxy, engine, About), made on first use."""
        if self._qlik is None:
            try:
                self._qlik = QlikService(self.config.qlik)
            except CertificateError as exc:
                raise StartupError(str(exc)) from exc
            self.services.append(self._qlik)
        return self._qlik

    @property
    def state(self) -> StateBackend:
        """The shared state backend (``state.backend``: SQLite in ``state.dir``, or Redis), made on
        first use; started before the features, so a Redis that cannot be reached stops startup."""
        if self._state is None:
            self._state = open_backend(self.config.state, self.state_dir)
            self.services.append(self._state)
        return self._state


def install_stop_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT/SIGTERM (loop signal handlers where the loop supports them)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows event loops
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
