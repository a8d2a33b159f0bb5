"""App operations over the engine's QIX websocket: list apps, reload an app, dump an app.

An app reload is answered at once (as Butler does) and runs in the background; when it ends, the
tasks listed for success or failure are started through QRS. ``wait`` (new) answers with the outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.qix import AppDump, DocEntry, QixClient, ReloadResult
from sensebutler.qlik.qrs import QrsClient

log = logging.getLogger(__name__)


@dataclass
class ReloadOutcome:
    result: ReloadResult
    started: list[str]
    failed: list[str]


class AppOperations:
    name = "app operations"

    def __init__(self, qix: QixClient, qrs: QrsClient) -> None:
        self.qix = qix
        self.qrs = qrs
        self._running: set[asyncio.Task[ReloadOutcome | None]] = set()

    async def list_apps(self) -> list[DocEntry]:
        return await self.qix.list_apps()

    async def dump(self, app_id: str) -> AppDump:
        return await self.qix.dump_app(app_id)

    async def reload(
        self,
        app_id: str,
        *,
        mode: int,
        partial: bool,
        on_success: Sequence[str],
        on_failure: Sequence[str],
        wait: bool,
    ) -> ReloadOutcome | None:
        """Reload ``app_id``; with ``wait`` the outcome, else ``None`` at once (the reload runs on)."""
        job = self._reload(app_id, mode, partial, on_success, on_failure)
        if wait:
            return await job
        task = asyncio.create_task(self._logged(job, app_id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return None

    async def _logged(self, job: Awaitable[ReloadOutcome], app_id: str) -> ReloadOutcome | None:
        try:
            return await job
        except QlikError as exc:
            log.warning("reload of app %s failed: %s", app_id, exc)
            return None

    async def _reload(
        self, app_id: str, mode: int, partial: bool, on_success: Sequence[str], on_failure: Sequence[str]
    ) -> ReloadOutcome:
        result = await self.qix.reload_app(app_id, partial=partial, mode=mode)
        log.info("reload of app %s: %s", app_id, "success" if result.success else "failed")
        started: list[str] = []
        failed: list[str] = []
        for task_id in on_success if result.success else on_failure:
            try:
                await self.qrs.start_task(task_id)
                started.append(task_id)
            except QlikError as exc:
                log.warning("starting task %s after the reload of app %s failed: %s", task_id, app_id, exc)
                failed.append(task_id)
        return ReloadOutcome(result, started, failed)

    async def start(self) -> None:
        """Nothing to open: each call opens its own websocket."""

    async def stop(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
