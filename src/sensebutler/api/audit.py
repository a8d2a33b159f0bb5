"""One log line per mutating call (POST, PUT, DELETE, PATCH): who, from where, what, and the answer.

Logged on ``sensebutler.api.audit`` at INFO. The line names the API key by its configured name and
the path without its query string (which may carry the key); bodies are never logged.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sensebutler.api.override import OVERRIDDEN_FROM

log = logging.getLogger("sensebutler.api.audit")

MUTATING = frozenset({"POST", "PUT", "DELETE", "PATCH"})
#: what the auth dependency stores in the request state: the caller's key name
CALLER = "api_caller"


class AuditLog:
    def __init__(self, app: ASGIApp, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if not self.enabled or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            client = scope.get("client")
            method = scope["method"]
            if scope.get(OVERRIDDEN_FROM):
                method = f"{method} (POST with X-HTTP-Method-Override)"
            log.info(
                "caller=%s client=%s %s %s -> %d in %.1f ms",
                state.get(CALLER, "-"),
                client[0] if client else "-",
                method,
                scope.get("path", ""),
                status,
                (time.perf_counter() - started) * 1000,
            )
