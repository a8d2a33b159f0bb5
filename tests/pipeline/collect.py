"""A sink that keeps what it receives, for tests of sources (the router is real)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from sensebutler.events import Event
from sensebutler.sinks.base import Sink


class CollectingSink(Sink):
    def __init__(self, kinds: Iterable[str], name: str = "collect") -> None:
        self.name = name
        self.kinds = frozenset(kinds)
        self.events: list[Event] = []
        self._arrived = asyncio.Event()

    def submit(self, event: Event) -> None:
        self.events.append(event)
        self._arrived.set()

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    async def wait_for(self, count: int, kind: str | None = None, timeout: float = 10.0) -> list[Event]:
        async def _wait() -> None:
            while len(self.of(kind) if kind else self.events) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(_wait(), timeout)
        return self.of(kind) if kind else self.events
