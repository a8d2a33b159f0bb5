"""sensebutler's own logging: readable text or JSON lines, optional rotating file, secrets masked.

:class:`MaskingFormatter` wraps the real formatter and replaces every configured secret in the
final line (message, arguments and traceback alike) with ``****``.
:class:`RateLimitedLog` keeps noisy paths (malformed datagrams, unreachable servers) to one line
per key and interval, and says how many were suppressed.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import orjson

from sensebutler.config.logging import LoggingConfig

MASK = "****"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class MaskingFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        # longest first, so a secret containing another is masked whole
        self._secrets = sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        for secret in self._secrets:
            if secret in line:
                line = line.replace(secret, MASK)
        return line


def setup_logging(config: LoggingConfig, secrets: Iterable[str] = (), *, stream: object = None) -> None:
    """Configure the root logger; safe to call more than once."""
    inner: logging.Formatter = JsonFormatter() if config.format == "json" else logging.Formatter(TEXT_FORMAT)
    formatter = MaskingFormatter(inner, secrets)
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]  # type: ignore[arg-type]
    if config.file.enable:
        path = Path(config.file.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                path,
                maxBytes=config.file.max_mb * 1024 * 1024,
                backupCount=config.file.backups,
                encoding="utf-8",
            )
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(config.level.upper())
    for noisy in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RateLimitedLog:
    """At most one log line per key every ``interval_s``; counts what it held back."""

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def log(self, level: int, key: str, message: str, *args: object, exc_info: bool = False) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        if len(self._last) > 10_000:  # bound memory under hostile key variety
            self._last.clear()
            self._suppressed.clear()
        self._last[key] = now
        held = self._suppressed.pop(key, 0)
        if held:
            message += f" ({held} similar message(s) suppressed in the last {self.interval_s:.0f} s)"
        self.logger.log(level, message, *args, exc_info=exc_info)
