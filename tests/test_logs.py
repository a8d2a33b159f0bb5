from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sensebutler.config.logging import LoggingConfig
from sensebutler.logs import RateLimitedLog, setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_secrets_never_reach_a_log_line_in_message_arguments_or_tracebacks() -> None:
    stream = io.StringIO()
    setup_logging(LoggingConfig(), {"NRAK-S3CR3T", "hunter2"}, stream=stream)
    log = logging.getLogger("sensebutler.test")
    log.info("posting with key %s", "NRAK-S3CR3T")
    try:
        raise RuntimeError("login failed for password hunter2")
    except RuntimeError:
        log.exception("broker refused us")
    text = stream.getvalue()
    assert "NRAK-S3CR3T" not in text and "hunter2" not in text
    assert text.count("****") >= 2
    assert "broker refused us" in text


def test_json_lines_and_levels() -> None:
    stream = io.StringIO()
    setup_logging(LoggingConfig(format="json", level="warning"), (), stream=stream)
    log = logging.getLogger("sensebutler.test")
    log.info("not shown")
    log.warning("shown %d", 1)
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert (
        entry["level"] == "warning"
        and entry["message"] == "shown 1"
        and entry["logger"] == "sensebutler.test"
    )


def test_rotating_file(tmp_path: Path) -> None:
    path = tmp_path / "log" / "sensebutler.log"
    config = LoggingConfig.model_validate(
        {"file": {"enable": True, "path": str(path), "max_mb": 1, "backups": 2}}
    )
    setup_logging(config, {"topsecret"}, stream=io.StringIO())
    log = logging.getLogger("sensebutler.test")
    for i in range(6000):
        log.warning("line %d %s %s", i, "x" * 500, "topsecret")
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["sensebutler.log", "sensebutler.log.1", "sensebutler.log.2"]
    assert "topsecret" not in path.read_text()


def test_rate_limited_log_says_how_many_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    limited = RateLimitedLog(logging.getLogger("sensebutler.test"), interval_s=3600)
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            limited.log(logging.WARNING, "key", "malformed datagram")
        limited.interval_s = 0
        limited.log(logging.WARNING, "key", "malformed datagram")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "malformed datagram",
        "malformed datagram (4 similar message(s) suppressed in the last 0 s)",
    ]
