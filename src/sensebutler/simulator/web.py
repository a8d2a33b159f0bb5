"""Small HTTP helpers shared by the simulated services: responses, routing, Xrfkey, X-Qlik-User."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
XSRF_MESSAGE = "XSRF prevention check failed. Possible XSRF discovered."
_XRFKEY = re.compile(r"^[0-9A-Za-z]{16}$")

Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON_TYPE)


def text_response(text: str, status: int = 200) -> Response:
    return Response(text.encode("utf-8"), status_code=status, media_type=TEXT_TYPE)


def empty_response(status: int) -> Response:
    return Response(b"", status_code=status)


def error_response(status: int, message: str) -> Response:
    """The JSON error body Qlik services use (clients look for ``message``)."""
    return json_response({"message": message}, status)


def xrfkey_problem(request: Request) -> Response | None:
    """403 unless the ``Xrfkey`` query parameter (any case) equals the ``X-Qlik-Xrfkey`` header."""
    query_keys = [value for name, value in request.query_params.multi_items() if name.lower() == "xrfkey"]
    header = request.headers.get("x-qlik-xrfkey")
    if len(query_keys) != 1 or header is None or header != query_keys[0] or not _XRFKEY.match(header):
        return text_response(XSRF_MESSAGE, 403)
    return None


@dataclass(frozen=True, slots=True)
class QlikUser:
    directory: str
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.directory}\\{self.user_id}"


class QlikUserError(ValueError):
    """An ``X-Qlik-User`` header without a user directory and a user id."""


def parse_qlik_user(header: str) -> QlikUser:
    """Parse ``UserDirectory=<dir>; UserId=<id>`` leniently: any spacing, key case, and order."""
    values: dict[str, str] = {}
    for part in header.split(";"):
        if "=" not in part:
            if part.strip():
                raise QlikUserError(f"unexpected text {part.strip()!r}")
            continue
        key, _, value = part.partition("=")
        values[key.strip().lower()] = value.strip()
    directory, user_id = values.get("userdirectory", ""), values.get("userid", "")
    if not directory or not user_id:
        raise QlikUserError("expected UserDirectory=<directory>; UserId=<user id>")
    if directory.upper() == "INTERNAL":
        directory = "INTERNAL"
    return QlikUser(directory, user_id)


class Router:
    """Case-insensitive path routing (QRS accepts ``/qrs/ReloadTask/...`` as well as ``/qrs/reloadtask``).

    Patterns use ``{name}`` for one path segment; a trailing slash on the request is ignored.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(
            r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}")
        )
        self._routes.append((method.upper(), re.compile(f"^{regex}/?$", re.IGNORECASE), handler))

    def route(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | int:
        """The handler and path parameters, or 404 / 405."""
        path_matched = False
        for route_method, regex, handler in self._routes:
            found = regex.match(path)
            if found is None:
                continue
            path_matched = True
            if route_method == method.upper():
                return handler, found.groupdict()
        return 405 if path_matched else 404

    async def dispatch(self, request: Request, path: str | None = None, **extra: str) -> Response:
        """Run the handler for ``request`` (or for ``path``), or answer 404 / 405 with no body."""
        found = self.route(request.method, request.url.path if path is None else path)
        if isinstance(found, int):
            return empty_response(found)
        handler, params = found
        params.update(extra)
        return await handler(request, params)
