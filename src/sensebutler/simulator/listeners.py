"""Many listening sockets served by one uvicorn HTTP stack.

Every simulated service on every node is a socket of its own (distinct ports), yet they share one
ASGI app that tells them apart by the local port in ``scope["server"]``; hundreds of extra engines
cost one socket each, not a thread or a server each. A listener can be stopped (connection refused,
like a stopped Windows service), started again on the same port, or switched to refusing TLS (its
handshake trusts a CA that signed nothing, so every client certificate is rejected).

uvicorn's public ``Server`` binds all sockets with one fixed TLS context and cannot stop a single
socket, so this module drives uvicorn's HTTP protocol class directly (``Config.http_protocol_class``
and ``ServerState``), the same way ``uvicorn.Server.startup`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import uvicorn
from uvicorn.server import ServerState

log = logging.getLogger(__name__)

_BACKLOG = 512


@dataclass(eq=False)
class Listener:
    key: str
    port: int
    tls: bool
    server: asyncio.base_events.Server | None = None
    refusing: bool = False
    #: this listener's own TLS contexts (its node's certificate); None: the group's
    context: ssl.SSLContext | None = None
    refusing_context: ssl.SSLContext | None = None


class _RefuseProtocol(asyncio.Protocol):
    """Never reached after a refused handshake; closes anything that gets this far."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class ListenerGroup:
    def __init__(
        self,
        app: Any,
        host: str,
        tls_context: ssl.SSLContext | None,
        refusing_context: ssl.SSLContext | None = None,
        server_header: str = "Microsoft-HTTPAPI/2.0",
    ) -> None:
        self.host = host
        self._tls = tls_context
        self._refusing = refusing_context
        self._config = uvicorn.Config(
            app,
            lifespan="off",
            http="h11",
            access_log=False,
            log_config=None,
            server_header=False,
            proxy_headers=False,
            headers=[("Server", server_header)],
            # HTTP.sys (what Sense services run on) keeps idle connections for 120 s; a shorter
            # timeout would race with clients that poll every 30 s on a kept-alive connection.
            timeout_keep_alive=120,
        )
        self._config.load()
        self._state = ServerState()
        self._listeners: dict[str, Listener] = {}
        self._ticker: asyncio.Task[None] | None = None

    def _protocol(self) -> asyncio.Protocol:
        protocol_class: Any = self._config.http_protocol_class
        protocol: asyncio.Protocol = protocol_class(
            config=self._config, server_state=self._state, app_state={}
        )
        return protocol

    def _bind(self, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must be IPPROTO_TCP: asyncio only disables Nagle on accepted sockets that say so,
        # and Nagle plus delayed ACKs would add ~40 ms to every response.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, port))
            sock.listen(_BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def _serve(self, listener: Listener) -> None:
        loop = asyncio.get_running_loop()
        sock = self._bind(listener.port)
        listener.port = sock.getsockname()[1]
        if listener.refusing:
            refusing = listener.refusing_context or self._refusing
            listener.server = await loop.create_server(_RefuseProtocol, sock=sock, ssl=refusing)
        else:
            context = (listener.context or self._tls) if listener.tls else None
            listener.server = await loop.create_server(
                self._protocol, sock=sock, ssl=context, backlog=_BACKLOG
            )

    async def add(
        self,
        key: str,
        port: int,
        *,
        tls: bool = True,
        context: ssl.SSLContext | None = None,
        refusing_context: ssl.SSLContext | None = None,
    ) -> int:
        """Start serving ``key`` on ``port`` (0 = any free port); returns the bound port.

        ``context`` and ``refusing_context`` replace the group's TLS contexts for this listener.
        """
        if self._ticker is None:
            self._refresh_headers()
            self._ticker = asyncio.create_task(self._tick())
        listener = Listener(key=key, port=port, tls=tls, context=context, refusing_context=refusing_context)
        await self._serve(listener)
        self._listeners[key] = listener
        return listener.port

    def __contains__(self, key: object) -> bool:
        return key in self._listeners

    def refusing(self) -> list[str]:
        """Keys of the listeners that currently refuse TLS."""
        return [key for key, listener in self._listeners.items() if listener.refusing]

    def port(self, key: str) -> int:
        return self._listeners[key].port

    def is_serving(self, key: str) -> bool:
        return self._listeners[key].server is not None

    async def _close(self, listener: Listener) -> None:
        server, listener.server = listener.server, None
        if server is None:
            return
        server.close()
        for connection in list(self._state.connections):
            local = getattr(connection, "server", None)
            if local is not None and local[1] == listener.port:
                connection.shutdown()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1.0)

    async def stop(self, key: str) -> None:
        """Stop accepting on ``key``'s port: clients get "connection refused"."""
        await self._close(self._listeners[key])

    async def start(self, key: str) -> None:
        """Serve ``key`` again on the same port (no-op when it is serving)."""
        listener = self._listeners[key]
        if listener.server is None:
            await self._serve(listener)

    async def refuse_tls(self, key: str, refuse: bool) -> None:
        """Switch ``key`` between normal service and refusing every TLS handshake."""
        listener = self._listeners[key]
        if not listener.tls or (listener.refusing_context or self._refusing) is None:
            raise ValueError(f"{key} does not use TLS")
        if listener.refusing == refuse:
            return
        was_serving = listener.server is not None
        await self._close(listener)
        listener.refusing = refuse
        if was_serving:
            await self._serve(listener)

    def _refresh_headers(self) -> None:
        date = formatdate(usegmt=True).encode()
        self._state.default_headers = [(b"date", date), *self._config.encoded_headers]

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._refresh_headers()

    async def close(self) -> None:
        for listener in self._listeners.values():
            if listener.server is not None:
                listener.server.close()
                listener.server = None
        for connection in list(self._state.connections):
            connection.shutdown()
        await asyncio.sleep(0)
        for task in list(self._state.tasks):
            task.cancel()
        if self._state.tasks:
            await asyncio.wait(list(self._state.tasks), timeout=2.0)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
