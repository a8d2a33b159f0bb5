"""Serve an ASGI app from inside the running event loop (uvicorn), without taking over signals.

The scrape then runs on the event loop thread, so collectors read sensebutler's state without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from sensebutler.runtime import StartupError

_START_TIMEOUT_S = 10.0


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM belong to the application, which stops this server itself."""
        yield


def only_path(path: str, app: ASGIApp) -> ASGIApp:
    """``app`` at exactly ``path``; 404 everywhere else."""

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == path:
            await app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        await send(
            {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": f"not found; metrics are at {path}\n".encode()})

    return dispatch


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


class EmbeddedHttpServer:
    """One ASGI app on one address, started and stopped with the sink that owns it."""

    def __init__(self, app: ASGIApp, host: str, port: int, what: str) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.what = what
        #: the port actually bound (differs from the requested one when that is 0)
        self.port: int | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        sock = bind_tcp(self.host, self.requested_port, self.what)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http:{self.what}")
        deadline = asyncio.get_running_loop().time() + _START_TIMEOUT_S
        while not server.started:
            if self._task.done() or asyncio.get_running_loop().time() > deadline:
                await self.stop()
                sock.close()
                raise StartupError(f"{self.what}: HTTP server on {self.host}:{self.port} did not start")
            await asyncio.sleep(0.01)

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
