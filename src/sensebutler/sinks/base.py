"""What every sink is, and the common kind that delivers encoded records through :class:`Delivery`.

A sink maps the canonical event to its destination's format (line protocol, MQTT message, New
Relic payload). Encoding must be cheap and total: an event that cannot be encoded is counted as
dropped (``encode_error``) and logged, never raised into the source.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

from sensebutler.config.delivery import DeliveryConfig
from sensebutler.events import Event
from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.delivery import Delivery, DeliveryStats, Destination

log = logging.getLogger(__name__)


class Sink(ABC):
    name: str
    #: the event kinds this sink receives (set by the app from config and what the sink supports)
    kinds: frozenset[str]

    @abstractmethod
    def submit(self, event: Event) -> None:
        """Take an event; must not block and must not raise."""

    def submit_many(self, events: list[Event]) -> None:
        """Take a batch of events (the router's :meth:`~sensebutler.pipeline.router.Router.publish_many`)."""
        for event in events:
            self.submit(event)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections, bind listeners."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Flush and release everything within the configured shutdown timeout."""

    def stats(self) -> DeliveryStats | None:
        """Delivery counters, for sinks that deliver (None for pull sinks such as Prometheus)."""
        return None


class DeliverySink(Sink):
    """A sink whose destination receives encoded records through the shared delivery mechanism."""

    def __init__(
        self,
        name: str,
        kinds: Iterable[str],
        destination: Destination,
        delivery: DeliveryConfig,
        spool_dir: Path | None,
    ) -> None:
        self.name = name
        self.kinds = frozenset(kinds)
        self.destination = destination
        spool_path = spool_dir / f"{name}.sqlite" if spool_dir is not None else None
        self.delivery = Delivery(destination, delivery, spool_path)
        self._encode_errors = RateLimitedLog(log, 60.0)

    @abstractmethod
    def encode(self, event: Event) -> Iterable[bytes]:
        """The destination records for one event (may be none)."""

    def submit(self, event: Event) -> None:
        self._encode_and_enqueue([event])

    def submit_many(self, events: list[Event]) -> None:
        self._encode_and_enqueue(events)

    def _encode_and_enqueue(self, events: list[Event]) -> None:
        """Encode every event, then hand all their records to delivery at once. (Not through
        ``submit_many``: a subclass whose ``submit`` admits events itself sends batches there.)"""
        records: list[bytes] = []
        encode = self.encode
        for event in events:
            mark = len(records)
            try:
                records.extend(encode(event))
            except Exception as exc:
                del records[mark:]  # nothing of an event that failed half-way
                self._encode_failed(event, exc)
        if records:
            self.delivery.enqueue(records)

    def _encode_failed(self, event: Event, exc: Exception) -> None:
        """Count (``encode_error``) and log an event that cannot be encoded."""
        self.delivery.stats.dropped["encode_error"] += 1
        self._encode_errors.log(
            logging.ERROR, type(event).__name__, "%s: cannot encode %s: %r", self.name, event.kind, exc
        )

    async def start(self) -> None:
        await self.destination.open()
        await self.delivery.start()

    async def stop(self) -> None:
        await self.delivery.stop()
        await self.destination.close()

    def stats(self) -> DeliveryStats:
        return self.delivery.stats


def kinds_for(sink_name: str, configured: list[str], supported: Iterable[str]) -> frozenset[str]:
    """The event kinds a sink receives: what its ``events:`` lists, or everything it supports."""
    supported_set = frozenset(supported)
    if not configured:
        return supported_set
    unknown = sorted(set(configured) - supported_set)
    if unknown:
        raise ValueError(
            f"{sink_name}.events lists {', '.join(unknown)}, which this sink cannot take "
            f"(it takes: {', '.join(sorted(supported_set))})"
        )
    return frozenset(configured)
