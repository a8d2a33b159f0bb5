"""A destination that fails on command: the one place a fake destination is right (it proves the
delivery mechanism itself, independent of any real server)."""

from __future__ import annotations

import asyncio

from sensebutler.pipeline.delivery import DeliveryError, Refused


class FlakyDestination:
    def __init__(self, name: str = "flaky", max_in_flight: int = 1) -> None:
        self.name = name
        self.max_in_flight = max_in_flight
        self.received: list[bytes] = []
        self.batches: list[list[bytes]] = []
        self.down = False
        self.reject = False
        #: a batch holding any of these records fails (transiently) while the others go through
        self.failing: set[bytes] = set()
        #: records taken but refused for good (``Refused``, reason ``unreadable``); the rest delivered
        self.refusing: set[bytes] = set()
        self.hang_s = 0.0
        self.attempts = 0
        self.sending = 0  # sends in progress now
        self.max_sending = 0  # the most sends ever in progress at once
        self.arrived = asyncio.Event()

    async def open(self) -> None:
        pass

    async def send(self, batch: list[bytes]) -> Refused | None:
        self.attempts += 1
        self.sending += 1
        self.max_sending = max(self.max_sending, self.sending)
        try:
            await self._send(batch)
        finally:
            self.sending -= 1
        refused = sum(record in self.refusing for record in batch)
        return Refused(refused, "unreadable") if refused else None

    async def _send(self, batch: list[bytes]) -> None:
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        if self.down or not self.failing.isdisjoint(batch):
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


class GatedDestination(FlakyDestination):
    """A :class:`FlakyDestination` whose sends the test can hold at a gate.

    While ``gate`` is set to an unset event, the next send that gets through (destination not
    down) stops there: it records its batch in ``held``, sets ``holding`` and waits until the test
    sets the gate. Only that one send is held; ``gate`` goes back to None. ``answered`` grows by
    every batch the destination answered, accepted or not, and ``attempted`` is set on every try.
    """

    def __init__(self, name: str = "gated", max_in_flight: int = 1) -> None:
        super().__init__(name, max_in_flight)
        self.gate: asyncio.Event | None = None
        self.holding = asyncio.Event()
        self.held: list[bytes] = []
        self.answered: list[list[bytes]] = []
        self.attempted = asyncio.Event()
        self._answer = asyncio.Event()

    async def _send(self, batch: list[bytes]) -> None:
        self.attempted.set()
        gate = self.gate
        if gate is not None and not self.down:
            self.gate = None
            self.held = list(batch)
            self.holding.set()
            await gate.wait()
        try:
            await super()._send(batch)
        finally:
            self.answered.append(list(batch))
            self._answer.set()

    async def wait_for_attempts(self, count: int, timeout: float = 10.0) -> None:
        async def _wait() -> None:
            while self.attempts < count:
                self.attempted.clear()
                await self.attempted.wait()

        await asyncio.wait_for(_wait(), timeout)

    async def wait_for_answered(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` records in all were answered (delivered or refused)."""

        async def _wait() -> None:
            while sum(len(batch) for batch in self.answered) < count:
                self._answer.clear()
                await self._answer.wait()

        await asyncio.wait_for(_wait(), timeout)
