"""Who may see the dashboard: a caller with a key from ``api.keys`` (any scope), given once on the
login page (or as ``?key=`` in the printed URL) and then kept in an HttpOnly cookie. This is the
one place the dashboard checks keys; it uses the REST API's :class:`Authenticator`."""

from __future__ import annotations

from starlette.requests import Request

from sensebutler.api.auth import Authenticator
from sensebutler.api.config import ApiSection

COOKIE = "sensebutler_key"


class DashboardAccess:
    def __init__(self, api: ApiSection) -> None:
        self.auth = Authenticator(api.keys, allow_anonymous=api.allow_anonymous, query_parameter="key")
        self.denied = 0

    def valid(self, key: str | None) -> bool:
        return self.auth.identify(key) is not None

    def allowed(self, request: Request) -> bool:
        presented = request.headers.get("x-api-key") or request.cookies.get(COOKIE)
        if not presented and self.auth.allow_anonymous:
            return True
        if self.valid(presented):
            return True
        self.denied += 1
        return False
