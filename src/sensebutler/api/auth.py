"""API keys and their scopes.

A caller presents its key in ``X-API-Key``, as ``Authorization: Bearer <key>``, or in the query
parameter ``api.key_query_parameter`` (for Qlik's REST connector). No key, or a key that is not
configured: 401. A key whose ``scopes`` do not include the endpoint's switch: 403. With
``allow_anonymous`` a request without a key may call every endpoint; a wrong key is still 401.

The three ways are declared as security schemes, so the OpenAPI document and Swagger UI show them.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from sensebutler.api.audit import CALLER
from sensebutler.api.config import ALL_SCOPES, ApiKey
from sensebutler.api.errors import ApiError

ANONYMOUS = "anonymous"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sensebutler"'}

Guard = Callable[..., Awaitable[None]]


class Authenticator:
    def __init__(self, keys: list[ApiKey], *, allow_anonymous: bool, query_parameter: str) -> None:
        self.keys = [(k, k.key.get_secret_value().encode()) for k in keys]
        self.allow_anonymous = allow_anonymous
        self.header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader")
        self.bearer = HTTPBearer(auto_error=False, scheme_name="BearerKey")
        self.query = APIKeyQuery(name=query_parameter, auto_error=False, scheme_name="ApiKeyQuery")
        self.denied = 0

    def identify(self, presented: str | None) -> ApiKey | None:
        """The key ``presented`` matches (compared in constant time against every key), or None."""
        if not presented:
            return None
        candidate = presented.encode()
        found = None
        for key, secret in self.keys:
            if hmac.compare_digest(candidate, secret):
                found = key
        return found

    def authorise(self, presented: str | None, switch: str, state: dict[str, object]) -> None:
        """Let ``presented`` call ``switch``, or raise :class:`ApiError` 401 or 403; records the
        caller's name (the key's, or ``anonymous``) in the request ``state`` for the audit log."""
        if not presented:
            if self.allow_anonymous:
                state[CALLER] = ANONYMOUS
                return
            self.denied += 1
            raise ApiError(
                401,
                "An API key is required (X-API-Key header, Bearer token or query parameter)",
                headers=_CHALLENGE,
            )
        key = self.identify(presented)
        if key is None:
            self.denied += 1
            raise ApiError(401, "The API key is not valid", headers=_CHALLENGE)
        state[CALLER] = key.name
        if ALL_SCOPES not in key.scopes and switch not in key.scopes:
            self.denied += 1
            raise ApiError(403, f"The API key '{key.name}' may not call this endpoint (scope {switch})")

    def guard(self, switch: str) -> Guard:
        """A dependency that lets a request through only with a key allowed to call ``switch``."""

        async def require_key(
            request: Request,
            header: str | None = Security(self.header),
            bearer: HTTPAuthorizationCredentials | None = Security(self.bearer),
            query: str | None = Security(self.query),
        ) -> None:
            presented = header or (bearer.credentials if bearer else None) or query
            self.authorise(presented, switch, request.scope.setdefault("state", {}))

        return require_key
