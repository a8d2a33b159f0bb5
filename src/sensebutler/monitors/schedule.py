"""Runs each monitor check at start and then at its frequency (interval or cron), one at a time.

A check that fails (a :class:`QlikError`, a timeout, anything) is logged (rate-limited) and counted;
it never stops the loop or the other checks. A check still running when the next one is due delays
that one instead of overlapping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence

from sensebutler.events import Event
from sensebutler.logs import RateLimitedLog
from sensebutler.monitors.frequency import Frequency
from sensebutler.qlik.errors import QlikError

log = logging.getLogger(__name__)


class Check(ABC):
    """One monitor: ``name``, how often, how long it may take, and what it does."""

    name: str
    frequency: Frequency
    timeout_s: float

    @abstractmethod
    async def check(self) -> Sequence[Event]:
        """Look once; return the events to publish. May raise: the runner logs and counts it."""

    def remember(self) -> None:  # noqa: B027 - optional hook
        """Called after the check's events were published (a reader stores its position here)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the check holds (connections); called when the runner stops."""


class MonitorRunner:
    """The component that runs every enabled check on its own schedule."""

    name = "monitors"

    def __init__(self, checks: Sequence[Check], publish: Callable[[Event], None]) -> None:
        self.checks = list(checks)
        self.publish = publish
        self.runs: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self._tasks: list[asyncio.Task[None]] = []
        self._problems = RateLimitedLog(log, 300.0)

    async def start(self) -> None:
        for check in self.checks:
            self._tasks.append(asyncio.create_task(self._loop(check), name=f"monitor:{check.name}"))
        log.info("monitors running: %s", ", ".join(check.name for check in self.checks))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for check in self.checks:
            try:
                await check.close()
            except Exception:
                log.exception("monitor %s did not close cleanly", check.name)

    async def run_once(self, check: Check) -> bool:
        """One check with its timeout; True when it succeeded."""
        self.runs[check.name] += 1
        try:
            async with asyncio.timeout(check.timeout_s):
                events = await check.check()
        except TimeoutError:
            self._failed(check, f"no result within {check.timeout_s:g} s")
            return False
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(check, str(exc) or repr(exc), exc_info=not _expected(exc))
            return False
        for event in events:
            self.publish(event)
        check.remember()
        return True

    def _failed(self, check: Check, message: str, *, exc_info: bool = False) -> None:
        self.failures[check.name] += 1
        self._problems.log(
            logging.WARNING, check.name, "monitor %s failed: %s", check.name, message, exc_info=exc_info
        )

    async def _loop(self, check: Check) -> None:
        while True:
            await self.run_once(check)
            await asyncio.sleep(check.frequency.next_delay())


def _expected(exc: Exception) -> bool:
    """Errors with a clear message of their own (no traceback needed in the log)."""
    return isinstance(exc, QlikError | OSError | ValueError)
