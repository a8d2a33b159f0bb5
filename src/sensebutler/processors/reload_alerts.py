"""Task events from the scheduler (UDP 9998) become reload alerts.

Each execution is handled once: its id is claimed in the shared state backend (``udp.task_events.
dedupe``; SQLite in ``state.dir`` or Redis), so a resent datagram, or the same datagram reaching two
instances behind one address, is dropped as ``duplicate``. If handling fails the claim is released,
so a resend can succeed (as Butler does).

With ``alerts.enable`` the event is enriched from QRS once (:mod:`sensebutler.qlik.reload_details`)
and published as one :class:`ReloadAlert` that every alert destination shares. What could not be
fetched is named in ``alert.missing``; the alert goes out all the same (``incomplete`` counts them).

* The task type comes from ``task/full`` (reload, external program, user sync, distribute, preload).
* A successful reload is re-read (``alerts.re_poll.success_*``) until its last detail says
  FinishedSuccess, as Butler does before writing durations.
* A distribute event carries no outcome: the execution status decides (7 success; 6, 8, 11 failed).
  While the distribution is still in an intermediate state (queued, running, ...) it is re-read every
  ``alerts.re_poll.distribute_interval_s`` (Butler: 30 s) and given up after ``distribute_max_age_s``
  (6 h) with a warning (``distribute_expired``). Those waits are in memory, as Butler's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterable

from sensebutler.alerts.config import AlertsSection
from sensebutler.events import Event
from sensebutler.events.alerts import Execution, Outcome, ReloadAlert, TaskType
from sensebutler.events.udp import TaskEvent
from sensebutler.pipeline.dedupe import Dedupe
from sensebutler.pipeline.processor import Discard, Processor
from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.reload_details import EXECUTION, Gathered, ReloadDetails
from sensebutler.runtime import Component, Runtime

log = logging.getLogger(__name__)

FINISHED_SUCCESS_DETAIL = "Changing task state from Started to FinishedSuccess"
DISTRIBUTE_SUCCESS = frozenset({7})
DISTRIBUTE_FAILED = frozenset({6, 8, 11})


class ReloadAlertEnricher(Processor):
    name = "reload alerts"
    kinds = frozenset({TaskEvent.kind})
    emits = frozenset({ReloadAlert.kind})

    def __init__(self, runtime: Runtime) -> None:
        alerts = runtime.config.alerts
        super().__init__(runtime.router.publish, workers=alerts.workers)
        settings = runtime.config.udp.task_events.dedupe
        self.dedupe = Dedupe(runtime.state, "task", settings.ttl_s) if settings.enable else None
        self.settings: AlertsSection = alerts
        self.details = ReloadDetails(runtime.qlik.qrs, alerts.script_log) if alerts.enable else None
        #: alerts published with something missing, distribute waits given up, events not alerted on
        self.counts: Counter[str] = Counter()
        self._followups: set[asyncio.Task[None]] = set()

    async def process(self, event: Event) -> Iterable[Event]:
        assert isinstance(event, TaskEvent)
        key = event.execution_id
        if self.dedupe is not None and key and not await self.dedupe.claim(key):
            raise Discard("duplicate")
        try:
            return await self._alerts(event)
        except BaseException:
            if self.dedupe is not None and key:
                await self.dedupe.release(key)
            raise

    async def stop(self) -> None:
        await super().stop()
        pending = [task for task in self._followups if not task.done()]
        if pending:
            log.warning("%d distribute task(s) still waited for a final state; not alerted", len(pending))
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- one event ------------------------------------------------------------------------------------
    async def _alerts(self, event: TaskEvent) -> list[Event]:
        log.info(
            "task %s: %r (task %s, app %r, execution %s) on %s",
            event.event_type,
            event.task_name,
            event.task_id,
            event.app_name,
            event.execution_id or "-",
            event.host,
        )
        if self.details is None:
            return []
        if event.event_type != "distribute" and event.event_type not in self.settings.outcomes:
            self.counts["outcome_off"] += 1
            return []
        gathered = await self.details.gather(event.task_id, event.app_id)
        task_type: TaskType = gathered.task.task_type if gathered.task is not None else "reload"
        if task_type not in self.settings.task_types:
            self.counts["task_type_off"] += 1
            return []
        if event.event_type == "distribute":
            outcome = _distribute_outcome(gathered.execution)
            if outcome is None:
                self._wait_for_distribution(event, gathered)
                return []
        else:
            outcome = event.event_type
            if outcome == "success" and task_type == "reload":
                await self._settle_success(event, gathered)
        if outcome not in self.settings.outcomes:
            self.counts["outcome_off"] += 1
            return []
        return [self._alert(event, outcome, task_type, gathered)]

    def _alert(self, event: TaskEvent, outcome: Outcome, task_type: TaskType, got: Gathered) -> ReloadAlert:
        if got.missing:
            self.counts["incomplete"] += 1
        return ReloadAlert(
            time_ns=event.time_ns,
            outcome=outcome,
            task_type=task_type,
            source=event,
            task=got.task,
            app=got.app,
            owner=got.owner,
            execution=got.execution,
            script_log=got.script_log,
            missing=tuple(got.missing),
        )

    async def _settle_success(self, event: TaskEvent, got: Gathered) -> None:
        """Re-read the execution until its last detail says FinishedSuccess (butler.md §7.8)."""
        assert self.details is not None
        re_poll = self.settings.re_poll
        for _ in range(re_poll.success_attempts):
            execution = got.execution
            if (
                execution is not None
                and execution.details
                and (execution.details[-1].message == FINISHED_SUCCESS_DETAIL)
            ):
                return
            await asyncio.sleep(re_poll.success_interval_s)
            with contextlib.suppress(QlikError):
                fresh = await self.details.execution("reload", event.task_id)
                if fresh is not None:
                    got.execution = fresh
                    if EXECUTION in got.missing:
                        got.missing.remove(EXECUTION)

    # -- distribute tasks still running -------------------------------------------------------------------
    def _wait_for_distribution(self, event: TaskEvent, got: Gathered) -> None:
        self.counts["distribute_waiting"] += 1
        task = asyncio.get_running_loop().create_task(self._poll_distribution(event, got))
        self._followups.add(task)
        task.add_done_callback(self._followups.discard)

    async def _poll_distribution(self, event: TaskEvent, got: Gathered) -> None:
        assert self.details is not None
        re_poll = self.settings.re_poll
        started = time.monotonic()
        while time.monotonic() - started + re_poll.distribute_interval_s <= re_poll.distribute_max_age_s:
            await asyncio.sleep(re_poll.distribute_interval_s)
            try:
                fresh = await self.details.execution("distribute", event.task_id)
            except QlikError as exc:
                log.warning("distribute task %s: cannot re-read its execution: %s", event.task_id, exc)
                continue
            outcome = _distribute_outcome(fresh)
            if outcome is None:
                continue
            got.execution = fresh
            if EXECUTION in got.missing:
                got.missing.remove(EXECUTION)
            self.counts["distribute_waiting"] -= 1
            if outcome in self.settings.outcomes:
                self.stats.emitted += 1
                self._publish(self._alert(event, outcome, "distribute", got))
            return
        self.counts["distribute_waiting"] -= 1
        self.counts["distribute_expired"] += 1
        log.warning(
            "distribute task %r (%s) did not reach a final state within %g s; no alert",
            event.task_name,
            event.task_id,
            re_poll.distribute_max_age_s,
        )


def _distribute_outcome(execution: Execution | None) -> Outcome | None:
    """success, failed, or None while the distribution is not finished (or unknown)."""
    if execution is None:
        return None
    if execution.status in DISTRIBUTE_SUCCESS:
        return "success"
    if execution.status in DISTRIBUTE_FAILED:
        return "failed"
    return None


def build(runtime: Runtime) -> list[Component]:
    if not runtime.config.udp.task_events.enable:
        return []
    return [ReloadAlertEnricher(runtime)]
