"""State in Redis (``redis.asyncio``): for several instances sharing one state.

Layout under ``prefix`` (default ``sensebutler:``): values, counters and leases at
``<prefix>v:<key>``, sets at ``<prefix>s:<key>``, so the two key spaces of the contract never meet
and ``keys`` scans only values. Redis expires keys itself; atomic steps are single commands
(``SET NX PX``) or Lua scripts (``incr`` with a TTL on creation, lease compare-and-renew,
compare-and-release), which Redis runs without interleaving.

Needs Redis 2.6.12+ (``SET ... NX PX``, Lua). Every Redis connection or timeout error becomes
``StateUnavailable`` naming the URL with its password masked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from sensebutler.services.state.base import (
    check_by,
    check_key,
    check_throttle,
    check_ttl,
    check_value,
    ttl_ms,
)
from sensebutler.services.state.errors import StateUnavailable, masked_url

#: INCRBY, and PEXPIRE only when the counter was just created (ARGV[2] = ms, or "" for none)
_INCR = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""
#: take the lease if free, renew it if ARGV[1] holds it
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
#: GCRA on Redis's clock (ARGV: interval ms, burst ms); 0 = allowed, else ms to wait
_THROTTLE = """
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then tat = now end
local wait = tat - now - tonumber(ARGV[2])
if wait > 0 then return wait end
tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', tat - now)
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_BAD_INPUT_REPLIES = ("WRONGTYPE", "not an integer", "overflow")
_GLOB_SPECIAL = str.maketrans({c: "\\" + c for c in "\\*?[]"})


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisStateBackend:
    """:class:`~sensebutler.services.state.base.StateBackend` on the Redis server at ``url``."""

    def __init__(self, url: str, prefix: str = "sensebutler:", *, timeout_s: float = 5.0) -> None:
        self.name = "state (redis)"
        self.url = url
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.where = masked_url(url)
        self._client: Redis | None = None
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and PING; ``StateUnavailable`` with the masked URL if Redis does not answer."""
        if self._client is not None:
            return
        if self._closed:
            raise self._unavailable("the backend was closed")
        try:
            client = Redis.from_url(
                self.url,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
                health_check_interval=30,
            )
        except ValueError as exc:
            raise self._unavailable(f"bad URL: {exc}") from exc
        try:
            with self._translated():
                await client.ping()
        except BaseException:
            await client.aclose()
            raise
        self._client = client
        self._incr = client.register_script(_INCR)
        self._lease = client.register_script(_LEASE)
        self._release = client.register_script(_RELEASE)
        self._throttle = client.register_script(_THROTTLE)

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def stop(self) -> None:
        await self.close()

    # -- values -------------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        client = self._connected()
        with self._translated():
            value = await client.get(self._value_key(key))
        return None if value is None else value.encode() if isinstance(value, str) else value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        client = self._connected()
        full_keys = [self._value_key(key) for key in keys]
        if not full_keys:
            return []
        with self._translated():
            values = await client.mget(full_keys)
        return [None if v is None else v.encode() if isinstance(v, str) else v for v in values]

    async def put(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        client = self._connected()
        full_key, value, ttl = self._value_key(key), check_value(value), check_ttl(ttl_s)
        with self._translated():
            await client.set(full_key, value, px=None if ttl is None else ttl_ms(ttl))

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        client = self._connected()
        full_key, value, ttl = self._value_key(key), check_value(value), check_ttl(ttl_s)
        with self._translated():
            stored = await client.set(full_key, value, px=None if ttl is None else ttl_ms(ttl), nx=True)
        return bool(stored)

    async def delete(self, key: str) -> bool:
        client = self._connected()
        with self._translated():
            removed = await client.delete(self._value_key(key))
        return int(removed) > 0

    async def ttl(self, key: str) -> float | None:
        client = self._connected()
        with self._translated():
            remaining_ms = int(await client.pttl(self._value_key(key)))
        return None if remaining_ms < 0 else remaining_ms / 1000  # -1: no expiry, -2: missing

    async def keys(self, prefix: str = "") -> list[str]:
        if not isinstance(prefix, str):
            raise ValueError(f"prefix must be a string, got {prefix!r}")
        client = self._connected()
        head = f"{self.prefix}v:"
        pattern = (head + prefix).translate(_GLOB_SPECIAL) + "*"
        found: set[str] = set()
        with self._translated():
            async for raw in client.scan_iter(match=pattern, count=1000):
                found.add(_text(raw)[len(head) :])
        return sorted(found)

    # -- counters and leases ------------------------------------------------------------------------

    async def incr(self, key: str, by: int = 1, ttl_s: float | None = None) -> int:
        self._connected()
        full_key, by, ttl = self._value_key(key), check_by(by), check_ttl(ttl_s)
        with self._translated():
            value = await self._incr(keys=[full_key], args=[by, "" if ttl is None else ttl_ms(ttl)])
        return int(value)

    async def throttle(self, key: str, interval_s: float, burst_s: float = 0.0) -> float:
        self._connected()
        full_key = self._value_key(key)
        interval_ms, burst_ms = check_throttle(interval_s, burst_s)
        with self._translated():
            wait_ms = await self._throttle(keys=[full_key], args=[interval_ms, burst_ms])
        return int(wait_ms) / 1000

    async def lease(self, name: str, owner: str, ttl_s: float) -> bool:
        self._connected()
        full_key = self._value_key(name, "lease name")
        check_key(owner, "lease owner")
        ttl = check_ttl(ttl_s)
        if ttl is None:
            raise ValueError("a lease needs a ttl_s")
        with self._translated():
            taken = await self._lease(keys=[full_key], args=[owner, ttl_ms(ttl)])
        return int(taken) == 1

    async def release_lease(self, name: str, owner: str) -> bool:
        self._connected()
        full_key = self._value_key(name, "lease name")
        check_key(owner, "lease owner")
        with self._translated():
            released = await self._release(keys=[full_key], args=[owner])
        return int(released) > 0

    # -- sets ---------------------------------------------------------------------------------------

    async def set_add(self, key: str, member: str) -> bool:
        client = self._connected()
        full_key = self._set_key(key)
        check_key(member, "set member")
        with self._translated():
            added = await client.sadd(full_key, member)
        return int(added) > 0

    async def set_remove(self, key: str, member: str) -> bool:
        client = self._connected()
        full_key = self._set_key(key)
        check_key(member, "set member")
        with self._translated():
            removed = await client.srem(full_key, member)
        return int(removed) > 0

    async def set_members(self, key: str) -> set[str]:
        client = self._connected()
        full_key = self._set_key(key)
        with self._translated():
            members = await client.smembers(full_key)
        return {_text(member) for member in members}

    # -- plumbing -----------------------------------------------------------------------------------

    def _value_key(self, key: str, what: str = "key") -> str:
        return f"{self.prefix}v:{check_key(key, what)}"

    def _set_key(self, key: str) -> str:
        return f"{self.prefix}s:{check_key(key)}"

    def _connected(self) -> Redis:
        if self._client is None:
            detail = "the backend was closed" if self._closed else "the backend is not started"
            raise self._unavailable(detail)
        return self._client

    def _unavailable(self, detail: str) -> StateUnavailable:
        return StateUnavailable("redis", self.where, detail)

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """Redis errors → ``ValueError`` (bad input) or ``StateUnavailable`` (everything else)."""
        try:
            yield
        except redis_errors.ResponseError as exc:
            if any(marker in str(exc) for marker in _BAD_INPUT_REPLIES):
                raise ValueError(f"redis refused the call: {exc}") from exc
            raise self._unavailable(f"{type(exc).__name__}: {exc}") from exc
        except (redis_errors.RedisError, OSError) as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise self._unavailable(detail) from exc
