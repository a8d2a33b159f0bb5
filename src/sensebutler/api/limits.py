"""Request limits applied before any handler: a per-client rate limit and a body size limit.

The rate limit is a token bucket per client address (GCRA: one timestamp per client), kept in this
process: it runs for every request, and a round trip to the state backend would double the cost of
a cached KV read. Several instances behind one address therefore each allow the configured rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sensebutler.api.errors import error_response

_MAX_CLIENTS = 50_000


class ClientRateLimit:
    """``burst`` requests at once per client, refilled at ``per_minute``."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 60.0 / per_minute
        self.window = self.interval * burst
        self.clock = clock
        self._next_free: dict[str, float] = {}
        self.refused = 0

    def check(self, client: str) -> float:
        """0.0 when the request may go (and it is counted), else the seconds to wait."""
        now = self.clock()
        theoretical = max(self._next_free.get(client, now), now) + self.interval
        wait = theoretical - now - self.window
        if wait > 0:
            self.refused += 1
            return wait
        if len(self._next_free) >= _MAX_CLIENTS:
            self._next_free = {c: t for c, t in self._next_free.items() if t > now}
        self._next_free[client] = theoretical
        return 0.0


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: ClientRateLimit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            wait = self.limit.check(client[0] if client else "-")
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                response = error_response(
                    429, f"Rate limit exceeded, retry in {retry} s", headers={"Retry-After": retry}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _BodyTooLarge(BaseException):
    """Not an ``Exception``: FastAPI turns any Exception raised while reading a body into a 400."""


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``: at once from ``Content-Length``, else while it is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = False
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"content-length":
                has_body = True
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:  # HTTP/1.1: a request without either header has no body
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, f"Request body larger than {self.max_bytes} bytes")
        await response(scope, receive, send)
