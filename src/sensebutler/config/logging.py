"""``logging:`` — how sensebutler writes its own log."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sensebutler.config.base import FeatureSection, Section


class LogFile(FeatureSection):
    path: str = "log/sensebutler.log"
    max_mb: int = Field(default=10, ge=1, le=10_000)
    backups: int = Field(default=5, ge=0, le=1000)


class LoggingConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"
    file: LogFile = LogFile()
