"""One HTTP(S) listener: the apps mounted on it, served by uvicorn inside the running event loop.

uvicorn does not take over signals here (the application owns SIGINT/SIGTERM and stops this server
itself), and requests run on the event loop thread, so handlers read sensebutler's state without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Iterator

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from sensebutler import __version__
from sensebutler.config.web import WebListener
from sensebutler.runtime import Runtime, StartupError
from sensebutler.web.mounts import AsgiEndpoint, WebMounts

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM belong to the application, which stops this server itself."""
        yield


def bind_tcp(host: str, port: int, what: str) -> socket.socket:
    """A bound socket for ``host:port`` (port 0 = any free one), or a StartupError naming the address."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise StartupError(f"{what}: cannot listen on {host}:{port}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise StartupError(f"{what}: cannot listen on {host}:{port}: {exc}") from exc
    return sock


class WebServer:
    """The server of one named listener (``web.listeners.<name>``)."""

    def __init__(self, listener: str, settings: WebListener, mounts: WebMounts) -> None:
        self.listener = listener
        self.name = f"web {listener}"
        self.settings = settings
        self.registry = mounts
        self.started_at = time.time()
        self.app = Router(routes=self._routes(), default=self._not_found)
        self.port: int | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    def _routes(self) -> list[BaseRoute]:
        mounted = self.registry.mounts.get(self.listener, [])
        exact: list[BaseRoute] = [Route(m.path, AsgiEndpoint(m.app), name=m.name) for m in mounted if m.exact]
        # longer prefixes first, so a catch-all ("" or "/") comes last
        prefixed = sorted((m for m in mounted if not m.exact), key=lambda m: len(m.path), reverse=True)
        routes = [Route("/health", self._health, name="health"), *exact]
        routes.extend(Mount(m.path.rstrip("/"), app=m.app, name=m.name) for m in prefixed)
        return routes

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        mounted = sorted(m.path or "/" for m in self.registry.mounts.get(self.listener, []))
        response = JSONResponse({"error": "not found", "paths": ["/health", *mounted]}, status_code=404)
        await response(scope, receive, send)

    async def _health(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "version": __version__, "uptime_s": round(time.time() - self.started_at, 1)}
        )

    def _uvicorn_config(self) -> uvicorn.Config:
        tls = self.settings.tls
        options: dict[str, object] = {}
        if tls.enable:
            options = {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
            if tls.client_ca:
                options.update(ssl_ca_certs=tls.client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
        return uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            **options,  # type: ignore[arg-type]
        )

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls.enable else "http"
        host = self.settings.host
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def start(self) -> None:
        host = self.settings.host
        sock = bind_tcp(host, self.settings.port, f"web.listeners.{self.listener}")
        self.port = sock.getsockname()[1]
        try:
            config = self._uvicorn_config()
            config.load()  # reads the TLS files now, so a bad one is a startup error naming it
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise StartupError(f"web.listeners.{self.listener}.tls: cannot use the files: {exc}") from exc
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http:{self.name}")
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if self._task.done() or time.monotonic() > deadline:
                await self.stop()
                sock.close()
                raise StartupError(f"{self.name}: HTTP server on {host}:{self.port} did not start")
            await asyncio.sleep(0.01)
        self.registry.ports[self.listener] = self.port
        paths = ", ".join(sorted(m.path or "/" for m in self.registry.mounts.get(self.listener, [])))
        log.info("web listener %s at %s: %s, /health", self.listener, self.url, paths)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), _START_TIMEOUT_S)
        except TimeoutError:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._server = None
        self._task = None


def build(runtime: Runtime) -> list[WebServer]:
    """One server per listener the features built before mounted something on."""
    listeners = runtime.config.web.listeners
    servers = []
    for name in runtime.web.mounts:
        if name not in listeners:
            known = ", ".join(sorted(listeners)) or "none"
            raise StartupError(f"a feature mounts on web listener {name!r}; web.listeners has {known}")
        servers.append(WebServer(name, listeners[name], runtime.web))
    return servers
