"""``state:`` config: the Redis backend needs a usable URL; nothing else is asked of SQLite users."""

from __future__ import annotations

import pytest

from sensebutler.config import ConfigError, parse_config


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml", {})
    return [str(p) for p in info.value.problems]


def test_sqlite_is_the_default_and_needs_nothing() -> None:
    config = parse_config("{}", "empty.yaml", {})
    assert config.state.backend == "sqlite"
    assert config.state.redis_prefix == "sensebutler:"


def test_redis_without_a_url_is_refused_with_an_example() -> None:
    (found,) = problems("state:\n  backend: redis\n")
    assert found.startswith("line 1: state: redis_url is required")
    assert "redis_url is required when backend is redis" in found


def test_redis_url_with_another_scheme_is_refused() -> None:
    (found,) = problems("state:\n  backend: redis\n  redis_url: http://cache:6379\n")
    assert "redis_url must start with redis://, rediss://, unix://" in found
    assert "got http scheme" in found


def test_redis_url_from_the_environment_and_a_prefix() -> None:
    text = "state:\n  backend: redis\n  redis_url: redis://:${PW}@cache:6379/2\n  redis_prefix: 'site-a:'\n"
    config = parse_config(text, "test.yaml", {"PW": "s3cret"})
    assert config.state.redis_url is not None
    assert config.state.redis_url.get_secret_value() == "redis://:s3cret@cache:6379/2"
    assert "s3cret" not in repr(config.state)
    assert config.state.redis_prefix == "site-a:"
