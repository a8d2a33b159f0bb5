"""open_backend picks the backend that ``state.backend`` names."""

from __future__ import annotations

from pathlib import Path

import redis

from sensebutler.config.state import StateConfig
from sensebutler.services.state import RedisStateBackend, SqliteStateBackend, StateBackend, open_backend
from tests.fixtures.servers import RedisServer, unique_name


async def test_sqlite_lives_in_the_state_dir(tmp_path: Path) -> None:
    backend = open_backend(StateConfig(), tmp_path / "state")
    assert isinstance(backend, SqliteStateBackend)
    await use(backend)
    assert (tmp_path / "state" / "state.sqlite").is_file()


async def test_instances_on_one_machine_can_share_a_named_file(tmp_path: Path) -> None:
    config = StateConfig(dir=str(tmp_path / "own"), sqlite_file=str(tmp_path / "shared.sqlite"))
    backend = open_backend(config, tmp_path / "own")
    await use(backend)
    assert (tmp_path / "shared.sqlite").is_file()
    assert not (tmp_path / "own").exists()


async def test_redis_with_the_configured_prefix(redis_server: RedisServer, tmp_path: Path) -> None:
    prefix = unique_name("cfg") + ":"
    config = StateConfig.model_validate(
        {"backend": "redis", "redis_url": redis_server.url, "redis_prefix": prefix}
    )
    backend = open_backend(config, tmp_path)
    assert isinstance(backend, RedisStateBackend)
    await use(backend)
    assert list(tmp_path.iterdir()) == []
    assert redis_server_keys(redis_server, prefix) == [f"{prefix}v:k".encode()]


async def use(backend: StateBackend) -> None:
    await backend.start()
    try:
        await backend.put("k", b"v")
        assert await backend.get("k") == b"v"
    finally:
        await backend.stop()


def redis_server_keys(server: RedisServer, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(server.url)
    try:
        return sorted(client.scan_iter(match=prefix + "*"))
    finally:
        client.close()
