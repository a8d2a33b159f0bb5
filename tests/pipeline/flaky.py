"""A destination that fails on command: the one place a fake destination is right (it proves the
delivery mechanism itself, independent of any real server)."""

from __future__ import annotations

import asyncio

from sensebutler.pipeline.delivery import DeliveryError


class FlakyDestination:
    def __init__(self, name: str = "flaky") -> None:
        self.name = name
        self.received: list[bytes] = []
        self.batches: list[list[bytes]] = []
        self.down = False
        self.reject = False
        self.hang_s = 0.0
        self.attempts = 0
        self.arrived = asyncio.Event()

    async def open(self) -> None:
        pass

    async def send(self, batch: list[bytes]) -> None:
        self.attempts += 1
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        if self.down:
            raise DeliveryError("destination is down (test)")
        if self.reject:
            raise DeliveryError("bad data (test)", transient=False)
        self.batches.append(list(batch))
        self.received.extend(batch)
        self.arrived.set()

    async def close(self) -> None:
        pass

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async def _wait() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(_wait(), timeout)
