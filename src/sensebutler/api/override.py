"""``X-HTTP-Method-Override``: a POST carrying it reaches the PUT/DELETE/PATCH handler it names.

Qlik's REST connector (load scripts) sends only GET and POST, so Butler's documented way to call
its PUT and DELETE endpoints from a script is a POST with this header; the Qlik load-script subs
Butler ships rely on it. Only POST is overridden, and only to PUT, DELETE or PATCH.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-http-method-override"
ALLOWED = frozenset({"PUT", "DELETE", "PATCH"})
#: set in the scope when the method was overridden (the audit log names the original method)
OVERRIDDEN_FROM = "sensebutler.overridden_from"


class MethodOverride:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for name, value in scope["headers"]:
                if name.lower() == HEADER:
                    method = value.decode("latin-1").strip().upper()
                    if method in ALLOWED:
                        scope = {**scope, "method": method, OVERRIDDEN_FROM: "POST"}
                    break
        await self.app(scope, receive, send)
