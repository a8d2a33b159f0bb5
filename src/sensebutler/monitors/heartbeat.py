"""Heartbeat: ``GET url`` at start and at every ``frequency`` (a dead man's switch elsewhere notices
when sensebutler stops calling). A failed call is logged and counted, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from sensebutler import __version__
from sensebutler.events import Event
from sensebutler.monitors.config import HeartbeatConfig
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.schedule import Check

log = logging.getLogger(__name__)


class Heartbeat(Check):
    name = "heartbeat"

    def __init__(self, config: HeartbeatConfig) -> None:
        self.url = config.url
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s
        self.sent = 0
        self._client: httpx.AsyncClient | None = None

    async def check(self) -> Sequence[Event]:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_s, headers={"User-Agent": f"sensebutler/{__version__}"}
            )
        try:
            response = await self._client.get(self.url)
        except httpx.HTTPError as exc:
            raise OSError(f"heartbeat to {self.url} failed: {exc or type(exc).__name__}") from exc
        if response.is_error:
            raise OSError(f"heartbeat to {self.url} answered HTTP {response.status_code}")
        self.sent += 1
        log.debug("heartbeat sent to %s", self.url)
        return ()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
