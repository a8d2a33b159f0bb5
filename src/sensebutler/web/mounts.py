"""What features put on the web server: ASGI apps at paths, on named listeners.

Builders call :meth:`WebMounts.mount` while the app is built; the web builder (last in the
registry) then opens one server per listener that has something mounted. Mounted apps get no
lifespan: features start their services in ``app.run``, never in ASGI hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class Mount:
    path: str
    app: ASGIApp
    #: ``True``: only exactly ``path``; ``False``: ``path`` and everything below it
    exact: bool
    name: str


class AsgiEndpoint:
    """Wraps an ASGI callable so Starlette's ``Route`` treats it as an app, not a request handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@dataclass
class WebMounts:
    mounts: dict[str, list[Mount]] = field(default_factory=dict)
    #: listener → the port bound once its server started
    ports: dict[str, int] = field(default_factory=dict)

    def mount(
        self, path: str, app: ASGIApp, *, name: str, listener: str = "main", exact: bool = True
    ) -> None:
        taken = {m.path for m in self.mounts.get(listener, [])}
        if path in taken:
            raise ValueError(f"web listener {listener!r}: {path} is already mounted")
        self.mounts.setdefault(listener, []).append(Mount(path, app, exact, name))

    def port(self, listener: str = "main") -> int | None:
        return self.ports.get(listener)
