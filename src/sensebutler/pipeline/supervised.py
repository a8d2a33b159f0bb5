"""Background tasks that are restarted when they fail, instead of dying silently until shutdown.

A task's body is run again after it raises: the failure is logged at once with its traceback, the
owner is told (to count it and to put back what the body held), and the restart waits a backoff
that doubles while the body keeps failing quickly. Returning ends supervision; cancellation
(shutdown) goes straight through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_supervised(
    name: str,
    body: Callable[[], Awaitable[None]],
    *,
    on_failure: Callable[[Exception], None],
    pause: Callable[[float], Awaitable[None]],
    initial_delay_s: float,
    max_delay_s: float,
    restart: Callable[[], bool] = lambda: True,
) -> None:
    """Run ``body()`` until it returns, restarting it after each exception while ``restart()``.

    ``pause(seconds)`` waits before a restart (the owner's interruptible sleep, so shutdown need
    not wait for it). The delay starts at ``initial_delay_s`` and doubles up to ``max_delay_s``;
    it starts over when the body ran longer than ``max_delay_s`` before failing.
    """
    delay = initial_delay_s
    while True:
        started = time.monotonic()
        try:
            await body()
            return
        except Exception as exc:
            if time.monotonic() - started > max_delay_s:
                delay = initial_delay_s
            again = restart()
            if again:
                log.error("%s failed; restarting it in %.2g s", name, delay, exc_info=exc)
            else:
                log.error("%s failed; not restarted (shutting down)", name, exc_info=exc)
            on_failure(exc)
            if not again:
                return
        await pause(delay)
        delay = min(delay * 2, max_delay_s)
