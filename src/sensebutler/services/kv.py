"""Butler's key-value store on the shared state backend: namespaces of string values with a TTL.

Semantics kept from Butler: namespaces exist from the first key posted into them until they are
deleted (even when all their keys expired), TTLs are milliseconds (0 or none: no expiry), posting
an existing key replaces its value and restarts its TTL. Unlike Butler's in-memory store it
survives restarts (SQLite) and is shared by instances (Redis), expired keys are removed by the
backend without being read, and the per-namespace key limit is enforced.

Keys on the backend: ``kv:ns:<namespace>`` marks a namespace, ``kv:v:<namespace>:<key>`` holds a
value; the namespace is percent-encoded there so that no namespace is a prefix of another's keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote, unquote

from sensebutler.services.state import StateBackend

_NS_PREFIX = "kv:ns:"
_VALUE_PREFIX = "kv:v:"


class KvError(Exception):
    """A KV call that cannot be answered as asked; the message is for the caller."""


class NamespaceNotFound(KvError):
    def __init__(self, namespace: str) -> None:
        super().__init__(f"Namespace not found: {namespace}")


class KeyNotFound(KvError):
    def __init__(self, namespace: str, key: str) -> None:
        super().__init__(f"Key '{key}' not found in namespace: {namespace}")


class KvLimitReached(KvError):
    """The namespace holds ``max_keys_per_namespace`` keys already."""


class KvBadInput(KvError, ValueError):
    """Empty key, negative TTL, a value that is too long, ..."""


@dataclass(frozen=True)
class KeyValue:
    namespace: str
    key: str
    value: str
    #: the TTL given when it was stored, in ms (0: none); what Butler's POST echoes
    ttl_ms: int = 0


def _encoded(namespace: str) -> str:
    return quote(namespace, safe="")


def _value_key(namespace: str, key: str) -> str:
    return f"{_VALUE_PREFIX}{_encoded(namespace)}:{key}"


def check_ttl_ms(ttl: int | float | None) -> int:
    """A TTL in whole milliseconds; 0 for none. Negative, fractional NaN or infinite: :class:`KvBadInput`."""
    if ttl is None:
        return 0
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl):
        raise KvBadInput(f"ttl must be a number of milliseconds, got {ttl!r}")
    if ttl < 0:
        raise KvBadInput(f"ttl must be 0 (no expiry) or a positive number of milliseconds, got {ttl:g}")
    if ttl > 10 * 365 * 86_400_000:
        raise KvBadInput("ttl must be at most ten years")
    return math.ceil(ttl)


class KeyValueStore:
    """The KV store's operations; the REST layer only translates them to HTTP."""

    def __init__(
        self, state: StateBackend, *, max_keys_per_namespace: int = 1000, max_value_bytes: int = 65_536
    ):
        self.state = state
        self.max_keys_per_namespace = max_keys_per_namespace
        self.max_value_bytes = max_value_bytes

    async def namespaces(self) -> list[str]:
        return [unquote(k[len(_NS_PREFIX) :]) for k in await self.state.keys(_NS_PREFIX)]

    async def namespace_exists(self, namespace: str) -> bool:
        return await self.state.get(_NS_PREFIX + _encoded(namespace)) is not None

    async def put(self, namespace: str, key: str, value: str, ttl_ms: int = 0) -> KeyValue:
        """Store ``value`` (creating the namespace); an existing key gets the new value and TTL."""
        if not namespace:
            raise KvBadInput("No namespace specified")
        if not key:
            raise KvBadInput("Required parameter is missing: key")
        ttl_ms = check_ttl_ms(ttl_ms)
        data = value.encode("utf-8", "surrogatepass")
        if len(data) > self.max_value_bytes:
            raise KvBadInput(f"value is {len(data)} bytes; at most {self.max_value_bytes} are accepted")
        full_key, marker = _value_key(namespace, key), _NS_PREFIX + _encoded(namespace)
        existing, marked = await self.state.get_many([full_key, marker])
        if existing is None:
            held = await self.state.keys(f"{_VALUE_PREFIX}{_encoded(namespace)}:")
            if len(held) >= self.max_keys_per_namespace:
                raise KvLimitReached(
                    f"Namespace {namespace} holds {len(held)} keys, the most allowed "
                    f"(api.key_value_store.max_keys_per_namespace); delete keys or let them expire"
                )
        if marked is None:
            await self.state.put(marker, b"1")
        await self.state.put(full_key, data, ttl_ms / 1000 if ttl_ms else None)
        return KeyValue(namespace, key, value, ttl_ms)

    async def get(self, namespace: str, key: str) -> KeyValue:
        raw = await self.state.get(_value_key(namespace, key))
        if raw is None:
            if not await self.namespace_exists(namespace):
                raise NamespaceNotFound(namespace)
            raise KeyNotFound(namespace, key)
        return KeyValue(namespace, key, raw.decode("utf-8", "surrogatepass"))

    async def find(self, namespace: str, key: str) -> KeyValue | None:
        """The pair, or None if the namespace exists but the key does not (``NamespaceNotFound`` else)."""
        try:
            return await self.get(namespace, key)
        except KeyNotFound:
            return None

    async def remaining_ttl_ms(self, namespace: str, key: str) -> int:
        """Milliseconds until the key expires; 0 when it has no TTL or does not exist."""
        left = await self.state.ttl(_value_key(namespace, key))
        return 0 if left is None else max(1, math.ceil(left * 1000))

    async def keys(self, namespace: str) -> list[str]:
        if not await self.namespace_exists(namespace):
            raise NamespaceNotFound(namespace)
        prefix = f"{_VALUE_PREFIX}{_encoded(namespace)}:"
        return [k[len(prefix) :] for k in await self.state.keys(prefix)]

    async def delete(self, namespace: str, key: str) -> None:
        if not await self.state.delete(_value_key(namespace, key)):
            if not await self.namespace_exists(namespace):
                raise NamespaceNotFound(namespace)
            raise KeyNotFound(namespace, key)

    async def delete_namespace(self, namespace: str) -> None:
        if not await self.state.delete(_NS_PREFIX + _encoded(namespace)):
            raise NamespaceNotFound(namespace)
        for full_key in await self.state.keys(f"{_VALUE_PREFIX}{_encoded(namespace)}:"):
            await self.state.delete(full_key)
