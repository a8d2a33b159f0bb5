"""``GET`` and ``POST /v4/keyvalues/{namespace}`` answered without FastAPI's request machinery.

Load scripts call these two far more than anything else. Profiled under bench/api.py, about half of
the server's time for a KV read went to FastAPI's layers (routing over every route, dependency
solving for the key check, parameter and response validation, exception and telemetry layers) and
under a tenth to the read itself (ARCHITECTURE.md has the numbers). This ASGI layer sits in
front of the FastAPI app and answers the plain case itself: the key in ``X-API-Key``, a namespace
and key the routes accept, a JSON body that :class:`KeyValueIn` validates. It uses what the routes
use: ``Authenticator.authorise``, ``keyvalues.read_value`` / ``store_value``, the response models
and ``errors.service_error_response``.

Everything else (another way of presenting the key, input FastAPI would refuse, another content
type, HEAD, ...) goes to FastAPI unchanged, a body already read replayed to it, so FastAPI stays
the one source of validation errors and of the OpenAPI document. ``tests/api/test_kv_fast_path.py``
sends the same requests to both and compares the answers byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sensebutler.api.auth import Authenticator
from sensebutler.api.errors import service_error_response
from sensebutler.api.keyvalues import (
    NAME_CHARACTERS,
    NAME_MAX_LENGTH,
    SWITCH,
    KeyValueIn,
    read_value,
    store_value,
)
from sensebutler.services.kv import KeyValueStore

PREFIX = "/v4/keyvalues/"
_is_name = re.compile(NAME_CHARACTERS).fullmatch
_JSON_HEADERS = (b"content-type", b"application/json")


class KeyValueFastPath:
    def __init__(self, app: ASGIApp, kv: KeyValueStore, auth: Authenticator) -> None:
        self.app = app
        self.kv = kv
        self.auth = auth
        #: requests answered here (the rest went to FastAPI)
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            namespace = scope["path"][len(PREFIX) :]
            if len(namespace) <= NAME_MAX_LENGTH and _is_name(namespace):
                method = scope["method"]
                if method == "GET" and await self._get(scope, send, namespace):
                    return
                if method == "POST":
                    replay = await self._post(scope, receive, send, namespace)
                    if replay is None:
                        return
                    receive = replay
        await self.app(scope, receive, send)

    async def _get(self, scope: Scope, send: Send, namespace: str) -> bool:
        """True when answered; False: FastAPI answers (nothing was read or sent)."""
        api_key, _ = _headers(scope)
        # as Starlette's QueryParams: the last value of a repeated parameter
        key = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)).get("key")
        if not api_key or not key:
            return False
        await self._answer(scope, send, api_key, 200, lambda: read_value(self.kv, namespace, key))
        return True

    async def _post(self, scope: Scope, receive: Receive, send: Send, namespace: str) -> Receive | None:
        """None when answered; else the receive to give FastAPI, which replays the body read here."""
        api_key, content_type = _headers(scope)
        if not api_key or not _is_json(content_type):
            return receive
        body = await _read_body(receive)
        try:
            data = KeyValueIn.model_validate(json.loads(body), from_attributes=True)
        except (ValueError, ValidationError, RecursionError):
            return _replay(body, receive)
        await self._answer(scope, send, api_key, 201, lambda: store_value(self.kv, namespace, data))
        return None

    async def _answer(
        self, scope: Scope, send: Send, api_key: str, status: int, action: Callable[[], Awaitable[BaseModel]]
    ) -> None:
        """Check the key, run ``action`` and send its answer as JSON, or the error answer FastAPI gives."""
        try:
            self.auth.authorise(api_key, SWITCH, scope.setdefault("state", {}))
            body = _json(await action())
        except Exception as exc:
            await service_error_response(exc, scope["method"], scope["path"])(scope, _no_body, send)
        else:
            await _send_json(send, status, body)
        self.served += 1


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    """``X-API-Key`` and ``Content-Type``, the first of each (as Starlette's ``Headers.get``)."""
    api_key = content_type = None
    for name, value in scope["headers"]:
        if name == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1")
        elif name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
    return api_key, content_type


def _is_json(content_type: str | None) -> bool:
    """``application/json`` with or without parameters (FastAPI takes ``+json`` types as well)."""
    return content_type is not None and content_type.split(";")[0].strip().lower() == "application/json"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` first, then whatever ``receive`` gives (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _json(answer: BaseModel) -> bytes:
    """What FastAPI sends for a response model: pydantic's JSON."""
    return answer.model_dump_json().encode()


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), _JSON_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
