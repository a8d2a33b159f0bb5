"""The common kind of alert destination: a :class:`DeliverySink` whose records are made asynchronously.

Making an alert's records may await the state backend (rate limits) or QRS (custom-property checks),
which a sink's synchronous ``encode`` cannot. :class:`AlertSink` takes each :class:`ReloadAlert` whose
event (``reload-failed``, ...) the destination's section enables, awaits :meth:`AlertSink.records`
in a task, and hands the result to the shared delivery (retry, spool while the destination is down).
Destinations that also alert on the service monitor (``service-stopped``, ``service-started``) or the
server licence (``server-license-alert``, the recurring ``server-license-status``) list those kinds in
``alert_kinds`` and implement :meth:`AlertSink.service_records` / :meth:`AlertSink.license_records` /
:meth:`AlertSink.license_status_records`.

Counters (``stats()``): a rate-limited alert is ``dropped["rate_limited"]`` (and counted as
received), a record that could not be made ``dropped["encode_error"]``. An alert whose event the
section leaves off is not this destination's business and not counted.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Iterable

from sensebutler.alerts.config import AlertChannel, AlertEventBlock
from sensebutler.alerts.context import ContextOptions
from sensebutler.alerts.event_names import alert_event_name
from sensebutler.alerts.limits import AlertLimits
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.events import Event
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicense, ServerLicenseAlert, ServiceStateChanged
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.delivery import Destination
from sensebutler.runtime import Runtime
from sensebutler.sinks.base import DeliverySink, Sink, kinds_for

log = logging.getLogger(__name__)

#: alerts are few and someone waits for them: send each as soon as it is made
ALERT_FLUSH_INTERVAL_S = 0.01


def alert_delivery(section: AlertChannel, runtime: Runtime) -> DeliveryConfig:
    """The section's own ``delivery:``, else the global one with a short flush interval."""
    if section.delivery is not None:
        return section.delivery
    shared = runtime.config.delivery
    interval = min(shared.flush_interval_s, ALERT_FLUSH_INTERVAL_S)
    return shared.model_copy(update={"flush_interval_s": interval})


class AlertSink(DeliverySink):
    """Subclasses implement :meth:`records`; ``self.limits``, ``self.options`` and :meth:`allow` help."""

    #: the event kinds this destination can alert on
    alert_kinds: tuple[str, ...] = (ReloadAlert.kind,)

    def __init__(self, name: str, section: AlertChannel, destination: Destination, runtime: Runtime) -> None:
        super().__init__(
            name,
            kinds_for(name, section.events, self.alert_kinds),
            destination,
            alert_delivery(section, runtime),
            runtime.state_dir / "spool",
        )
        self.section = section
        self.limits = AlertLimits(runtime.state)
        self.options = ContextOptions.from_config(runtime.config.alerts)
        self._pending: set[asyncio.Task[None]] = set()
        self._errors = RateLimitedLog(log, 60.0)

    @abstractmethod
    async def records(self, alert: ReloadAlert, event: str, block: AlertEventBlock) -> Iterable[bytes]:
        """The records for one alert (none when rate-limited: call :meth:`allow` per record key)."""

    async def service_records(
        self, change: ServiceStateChanged, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        """The records for a service that stopped or started (destinations in whose ``alert_kinds``
        it is override this)."""
        return []

    async def license_records(
        self, alert: ServerLicenseAlert, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        """The records for a server licence alert (destinations that take it override this)."""
        return []

    async def license_status_records(
        self, status: ServerLicense, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        """The records for the server licence at one check (destinations that take it override this)."""
        return []

    def encode(self, event: Event) -> Iterable[bytes]:
        """Unused: alert records are made in :meth:`records`."""
        return ()

    async def allow(self, event: str, key: str, block: AlertEventBlock) -> bool:
        """The rate limit for ``key`` (``taskId``, ``taskId|address``); a refusal is counted."""
        if await self.limits.allow(self.name, event, key, window_s=block.rate_limit_s):
            return True
        stats = self.delivery.stats
        stats.received += 1
        stats.dropped["rate_limited"] += 1
        return False

    #: alerts are admitted one at a time (rate limits, templates): a batch goes through ``submit``
    submit_many = Sink.submit_many

    def submit(self, event: Event) -> None:
        if event.kind not in self.kinds:
            return
        name = alert_event_name(event)
        if name is None:
            return
        block = self.section.block(name)
        if block is None:
            return
        task = asyncio.get_running_loop().create_task(self._admit(event, name, block))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _records_of(self, alert: Event, event: str, block: AlertEventBlock) -> Iterable[bytes]:
        if isinstance(alert, ReloadAlert):
            return await self.records(alert, event, block)
        if isinstance(alert, ServiceStateChanged):
            return await self.service_records(alert, event, block)
        if isinstance(alert, ServerLicenseAlert):
            return await self.license_records(alert, event, block)
        if isinstance(alert, ServerLicense):
            return await self.license_status_records(alert, event, block)
        return []

    async def _admit(self, alert: Event, event: str, block: AlertEventBlock) -> None:
        try:
            made = list(await self._records_of(alert, event, block))
        except Exception as exc:
            self.delivery.stats.received += 1
            self.delivery.stats.dropped["encode_error"] += 1
            self._errors.log(
                logging.ERROR,
                "records",
                "%s: cannot make the %s alert: %r",
                self.name,
                event,
                exc,
                exc_info=True,
            )
            return
        if made:
            self.delivery.enqueue(made)

    async def stop(self) -> None:
        """Let alerts being prepared reach the delivery (bounded by its shutdown timeout), then stop it."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=self.delivery.config.shutdown_timeout_s)
        await super().stop()


__all__ = ["ALERT_FLUSH_INTERVAL_S", "AlertSink", "alert_delivery"]
