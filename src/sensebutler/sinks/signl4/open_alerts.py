"""Which tasks have a Signl4 alert that is not resolved yet, in the shared state backend.

Key ``alert:signl4:open:<task id>`` holds the alert's ``X-S4-Service``, with a TTL. Being in the
state backend, an alert sent before a restart, or by another instance, is still resolved.

When the backend cannot answer, the alert is still sent (it just will not be resolved) and a
resolution is skipped; both are logged and counted in ``unavailable``.
"""

from __future__ import annotations

import logging

from sensebutler.logs import RateLimitedLog
from sensebutler.services.state.base import StateBackend
from sensebutler.services.state.errors import StateUnavailable

log = logging.getLogger(__name__)

PREFIX = "alert:signl4:open:"


class OpenAlerts:
    def __init__(self, backend: StateBackend, ttl_s: float) -> None:
        self.backend = backend
        self.ttl_s = ttl_s
        self.unavailable = 0
        self._log = RateLimitedLog(log, 60.0)

    async def remember(self, task_id: str, service_name: str) -> None:
        try:
            await self.backend.put(PREFIX + task_id, service_name.encode(), self.ttl_s)
        except StateUnavailable as exc:
            self._unavailable("the alert cannot be resolved later", exc)

    async def take(self, task_id: str) -> str | None:
        """The service name of the task's open alert, which is then no longer open; None if none."""
        try:
            value = await self.backend.get(PREFIX + task_id)
            if value is None or not await self.backend.delete(PREFIX + task_id):
                return None  # none, or another instance took it first
        except StateUnavailable as exc:
            self._unavailable("an open alert may stay unresolved", exc)
            return None
        return value.decode(errors="replace")

    def _unavailable(self, consequence: str, exc: StateUnavailable) -> None:
        self.unavailable += 1
        self._log.log(
            logging.WARNING, "unavailable", "signl4: state backend unavailable (%s); %s", exc, consequence
        )


__all__ = ["PREFIX", "OpenAlerts"]
