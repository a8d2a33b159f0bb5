"""Task events from the scheduler (UDP 9998) on their way to becoming reload alerts.

Each execution is handled once: its id is claimed in the shared state backend (``udp.task_events.
dedupe``; SQLite in ``state.dir`` or Redis), so a resent datagram, or the same datagram reaching two
instances behind one address, is dropped as ``duplicate``. If handling fails the claim is released,
so a resend can succeed (as Butler does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sensebutler.events import Event
from sensebutler.events.udp import TaskEvent
from sensebutler.pipeline.dedupe import Dedupe
from sensebutler.pipeline.processor import Discard, Processor
from sensebutler.runtime import Component, Runtime

log = logging.getLogger(__name__)


class ReloadAlertEnricher(Processor):
    name = "reload alerts"
    kinds = frozenset({TaskEvent.kind})
    emits = frozenset({"reload_alert"})

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime.router.publish, workers=8)
        settings = runtime.config.udp.task_events.dedupe
        self.dedupe = Dedupe(runtime.state, "task", settings.ttl_s) if settings.enable else None

    async def process(self, event: Event) -> Iterable[Event]:
        assert isinstance(event, TaskEvent)
        key = event.execution_id
        if self.dedupe is not None and key and not await self.dedupe.claim(key):
            raise Discard("duplicate")
        try:
            return self._alerts(event)
        except BaseException:
            if self.dedupe is not None and key:
                await self.dedupe.release(key)
            raise

    def _alerts(self, event: TaskEvent) -> list[Event]:
        log.info(
            "task %s: %r (task %s, app %r, execution %s) on %s",
            event.event_type,
            event.task_name,
            event.task_id,
            event.app_name,
            event.execution_id or "-",
            event.host,
        )
        return []


def build(runtime: Runtime) -> list[Component]:
    if not runtime.config.udp.task_events.enable:
        return []
    return [ReloadAlertEnricher(runtime)]
