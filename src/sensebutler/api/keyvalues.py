"""``/v4/keyvalues…``, ``/v4/keyvaluesnamespaces``, ``/v4/keylist``: Butler's key-value store
(switch ``key_value_store``), a thin layer over :mod:`sensebutler.services.kv`."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError
from sensebutler.services.kv import KeyValueStore, check_ttl_ms

SWITCH = "key_value_store"
TAG = "Key-value store"


class KeyValueIn(BaseModel):
    """A POSTed pair. Numbers and booleans are accepted as values (kept as text, as Butler does);
    ``ttl`` may be a number or a numeric string (what Qlik load scripts send), 0 or absent: no expiry."""

    model_config = ConfigDict(coerce_numbers_to_str=True, json_schema_extra={"additionalProperties": True})

    key: str = Field(min_length=1, max_length=1024, examples=["Last extract timestamp"])
    value: str | bool = Field(examples=["2020-09-29 17:14:56"])
    ttl: float | str | None = Field(default=None, examples=[60000])

    @field_validator("key", "value")
    @classmethod
    def _unicode_text(cls, text: str | bool) -> str | bool:
        """JSON may carry a lone surrogate (``"\\ud800"``), which no answer or store can encode."""
        if isinstance(text, str):
            try:
                text.encode()
            except UnicodeEncodeError:
                raise ValueError("must be Unicode text (a lone surrogate \\uD800-\\uDFFF was sent)") from None
        return text

    @field_validator("ttl")
    @classmethod
    def _ttl_ms(cls, ttl: float | str | None) -> float:
        if ttl is None or ttl == "":
            return 0
        if isinstance(ttl, str):
            try:
                ttl = float(ttl.strip())
            except ValueError:
                raise ValueError(f"ttl must be a number of milliseconds, got {ttl!r}") from None
        if not math.isfinite(ttl) or ttl < 0:
            raise ValueError("ttl must be 0 (no expiry) or a positive number of milliseconds")
        check_ttl_ms(ttl)
        return ttl

    def text(self) -> str:
        return ("true" if self.value else "false") if isinstance(self.value, bool) else self.value


class KeyValueOut(BaseModel):
    namespace: str
    key: str
    value: str


class KeyValueStored(KeyValueOut):
    ttl: int = Field(description="The TTL given, in milliseconds; 0: none")


class KeyExists(BaseModel):
    keyExists: bool
    keyValue: KeyValueOut | dict[str, Any]


class KeyName(BaseModel):
    key: str


class KeyList(BaseModel):
    namespace: str
    keys: list[KeyName]


#: no control characters and no "/" (a path segment; the web server's routes do not match newlines)
NAME_CHARACTERS = r"[^\x00-\x1f\x7f/]+"
NAME_PATTERN = f"^{NAME_CHARACTERS}$"
NAME_MAX_LENGTH = 1024
NamespacePath = Path(
    min_length=1,
    max_length=NAME_MAX_LENGTH,
    pattern=NAME_PATTERN,
    description="Namespace name",
    examples=["Sales ETL step 2"],
)
KeyQuery = Query(min_length=1, description="Key name", examples=["Last extract timestamp"])


async def read_value(kv: KeyValueStore, namespace: str, key: str) -> KeyValueOut:
    pair = await kv.get(namespace, key)
    return KeyValueOut(namespace=pair.namespace, key=pair.key, value=pair.value)


async def store_value(kv: KeyValueStore, namespace: str, body: KeyValueIn) -> KeyValueStored:
    ttl = math.ceil(float(body.ttl or 0))
    pair = await kv.put(namespace, body.key, body.text(), ttl)
    return KeyValueStored(namespace=pair.namespace, key=pair.key, value=pair.value, ttl=pair.ttl_ms)


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    def store() -> KeyValueStore:
        if ctx.kv is None:  # the switch is on whenever these routes exist
            raise ApiError(404, "The key-value store is not enabled")
        return ctx.kv

    @ctx.route(api, SWITCH, "GET", "/v4/keyvaluesnamespaces", response_model=list[str])
    async def list_namespaces() -> list[str]:
        """All namespaces (a namespace exists from its first key until it is deleted)."""
        return await store().namespaces()

    @ctx.route(
        api,
        SWITCH,
        "GET",
        "/v4/keyvalues/{namespace}",
        response_model=KeyValueOut,
        responses={400: {"description": "Namespace or key not found, or key missing"}},
    )
    async def get_value(namespace: str = NamespacePath, key: str = KeyQuery) -> KeyValueOut:
        """The value of ``key`` in ``namespace``."""
        return await read_value(store(), namespace, key)

    @ctx.route(
        api,
        SWITCH,
        "GET",
        "/v4/keyvalues/{namespace}/keyexists",
        response_model=KeyExists,
        responses={400: {"description": "Namespace not found, or key missing"}},
    )
    async def key_exists(namespace: str = NamespacePath, key: str = KeyQuery) -> KeyExists:
        """Whether ``key`` exists in ``namespace``, with its value if it does."""
        pair = await store().find(namespace, key)
        if pair is None:
            return KeyExists(keyExists=False, keyValue={})
        return KeyExists(keyExists=True, keyValue=KeyValueOut(namespace=namespace, key=key, value=pair.value))

    @ctx.route(
        api,
        SWITCH,
        "POST",
        "/v4/keyvalues/{namespace}",
        status_code=201,
        response_model=KeyValueStored,
        responses={400: {"description": "Key or value missing, bad TTL, or namespace full"}},
    )
    async def put_value(body: KeyValueIn, namespace: str = NamespacePath) -> KeyValueStored:
        """Store a value (the namespace is created if needed); an existing key gets the new value and TTL."""
        return await store_value(store(), namespace, body)

    @ctx.route(
        api,
        SWITCH,
        "DELETE",
        "/v4/keyvalues/{namespace}/{key}",
        status_code=204,
        response_class=Response,
        responses={400: {"description": "Namespace or key not found"}},
    )
    async def delete_value(
        namespace: str = NamespacePath,
        key: str = Path(min_length=1, max_length=NAME_MAX_LENGTH, pattern=NAME_PATTERN),
    ) -> Response:
        """Delete one key."""
        await store().delete(namespace, key)
        return Response(status_code=204)

    @ctx.route(
        api,
        SWITCH,
        "DELETE",
        "/v4/keyvalues/{namespace}",
        status_code=204,
        response_class=Response,
        responses={400: {"description": "Namespace not found"}},
    )
    async def delete_namespace(namespace: str = NamespacePath) -> Response:
        """Delete a namespace and every key in it."""
        await store().delete_namespace(namespace)
        return Response(status_code=204)

    @ctx.route(
        api,
        SWITCH,
        "GET",
        "/v4/keylist/{namespace}",
        response_model=KeyList,
        responses={400: {"description": "Namespace not found"}},
    )
    async def list_keys(namespace: str = NamespacePath) -> KeyList:
        """The keys in ``namespace`` (as JSON; Butler sent this as a JSON string in a text body)."""
        keys = await store().keys(namespace)
        return KeyList(namespace=namespace, keys=[KeyName(key=k) for k in keys])

    return api
