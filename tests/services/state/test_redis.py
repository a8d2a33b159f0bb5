"""What only the Redis backend promises: a key prefix, and surviving a Redis restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensebutler.services.state import RedisStateBackend, StateUnavailable
from tests.fixtures.net import async_poll
from tests.fixtures.servers import RedisServer, unique_name


async def test_prefixes_keep_two_deployments_apart(redis_server: RedisServer) -> None:
    blue = RedisStateBackend(redis_server.url, unique_name("blue") + ":")
    green = RedisStateBackend(redis_server.url, unique_name("green") + ":")
    await blue.start()
    await green.start()
    try:
        await blue.put("k", b"blue")
        await blue.set_add("s", "m")
        assert await green.get("k") is None
        assert await green.keys() == []
        assert await green.set_members("s") == set()
        assert await green.put_if_absent("k", b"green") is True
        assert await blue.get("k") == b"blue"
    finally:
        await blue.close()
        await green.close()


async def test_redis_going_away_is_unavailable_and_coming_back_recovers(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    backend = RedisStateBackend(server.url)
    try:
        await backend.start()
        await backend.put("k", b"v")
        server.stop()
        with pytest.raises(StateUnavailable, match=f"redis://127.0.0.1:{server.port}/0"):
            await backend.get("k")
        server.start()  # no persistence: it comes back empty
        assert await async_poll(
            lambda: backend.put_if_absent("k", b"again"), bool, 15, "redis to answer again"
        )
    finally:
        await backend.close()
        server.stop()
