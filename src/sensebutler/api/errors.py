"""Every error the API answers, in one JSON shape: Butler's ``{"statusCode", "error", "message"}``.

Service errors are translated here, once: unknown namespaces, keys and schedules are 400 as in Butler
(Qlik load scripts test for it), bad input is 400 with ``code: FST_ERR_VALIDATION`` as Butler's
validation errors carry, a state backend that cannot answer is 503 and Qlik Sense failing is 502
(Butler: 500 for both), anything unexpected is 500 with a generic message and a logged traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from sensebutler.qlik.errors import QlikError
from sensebutler.services.files import FileOpError
from sensebutler.services.kv import KvError
from sensebutler.services.scheduler import ScheduleError
from sensebutler.services.state import StateUnavailable
from sensebutler.services.tasks import StartRequestError

log = logging.getLogger(__name__)

VALIDATION_CODE = "FST_ERR_VALIDATION"
#: the engine's LOCERR_APP_NOT_FOUND (QIX error code): the API answers 404 (Butler: 500)
ENGINE_APP_NOT_FOUND = 1003


class ApiError(Exception):
    """Raised by handlers for an answer other than success; ``headers`` are added to the response."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"statusCode": status}
    if code:
        body["code"] = code
    body["error"] = HTTPStatus(status).phrase
    body["message"] = message
    return body


def error_response(
    status: int, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)


_WHERE = {"query": "query parameter", "path": "path parameter", "body": "body", "header": "header"}


def describe_validation(exc: RequestValidationError) -> str:
    """The first problem in words: ``query parameter 'key' is required``."""
    parts = []
    for error in exc.errors()[:3]:
        loc = [str(p) for p in error.get("loc", ())]
        where = _WHERE.get(loc[0], loc[0]) if loc else "request"
        name = ".".join(loc[1:])
        kind = error.get("type", "")
        if kind == "missing":
            parts.append(f"{where} '{name}' is required" if name else f"{where} is required")
            continue
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if kind == "json_invalid":
            parts.append("body is not valid JSON")
        elif name:
            parts.append(f"{where} '{name}': {message}")
        else:
            parts.append(f"{where}: {message}")
    return "; ".join(parts) or "invalid request"


def service_error_response(exc: Exception, method: str, path: str) -> JSONResponse:
    """The answer to an exception a service raised (``method`` and ``path`` are for the log)."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.message, headers=exc.headers)
    if isinstance(exc, FileOpError):
        return error_response(exc.status, str(exc))
    if isinstance(exc, KvError | ScheduleError | StartRequestError):
        return error_response(400, str(exc))
    if isinstance(exc, StateUnavailable):
        log.warning("%s %s: %s", method, path, exc)
        return error_response(
            503, "The state backend is unavailable; try again later", headers={"Retry-After": "5"}
        )
    if isinstance(exc, QlikError) and exc.engine_code == ENGINE_APP_NOT_FOUND:
        return error_response(404, f"App not found: {exc.detail}")
    if isinstance(exc, QlikError):
        log.warning("%s %s: %s", method, path, exc)
        return error_response(502, f"Qlik Sense did not answer as expected: {exc}")
    log.exception("%s %s failed", method, path, exc_info=exc)
    return error_response(500, "Internal error")


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same shape."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"Route {request.method}:{request.url.path} not found"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, message, headers=dict(exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(400, describe_validation(exc), code=VALIDATION_CODE)

    async def service_error(request: Request, exc: Exception) -> Response:
        return service_error_response(exc, request.method, request.url.path)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for kind in (
        ApiError,
        KvError,
        ScheduleError,
        StartRequestError,
        FileOpError,
        StateUnavailable,
        QlikError,
        Exception,
    ):
        app.add_exception_handler(kind, service_error)
