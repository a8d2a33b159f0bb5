"""Engine restarts from the healthcheck: a server whose ``started`` changed restarted.

The downtime is measured from the last sample that still showed the old start time to the new
start time: the engine was up at that sample, so this is an upper bound of how long it was gone
(the poll interval bounds the error). Node restarts come from the service monitor
(``services.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sensebutler.events import Event
from sensebutler.events.monitors import Restarted
from sensebutler.events.polled import HealthSample
from sensebutler.pipeline.processor import Processor
from sensebutler.sinks.influxdb.mapping import parse_started

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Seen:
    started: str
    at_ns: int


class EngineRestarts(Processor):
    name = "engine restarts"
    kinds = frozenset({HealthSample.kind})
    emits = frozenset({Restarted.kind})

    def __init__(self, publish: Callable[[Event], None]) -> None:
        super().__init__(publish)
        self._seen: dict[str, _Seen] = {}

    async def process(self, event: Event) -> Iterable[Event]:
        assert isinstance(event, HealthSample)
        return self.restarts(event)

    def restarts(self, sample: HealthSample) -> list[Event]:
        key = sample.server.name
        before = self._seen.get(key)
        if before is not None and sample.time_ns < before.at_ns:
            return []  # an older sample arriving late
        self._seen[key] = _Seen(sample.started, sample.time_ns)
        if before is None or before.started == sample.started:
            return []
        started = parse_started(sample.started)
        back_ns = int(started.timestamp() * 1e9) if started is not None else sample.time_ns
        downtime_s = max(0.0, (back_ns - before.at_ns) / 1e9)
        log.warning(
            "engine on %s restarted (started %s, was %s); down for at most %.1f s",
            sample.server.name,
            sample.started,
            before.started,
            downtime_s,
        )
        return [
            Restarted(
                time_ns=sample.time_ns,
                scope="engine",
                host=sample.server.host,
                server=sample.server,
                downtime_s=downtime_s,
                previous_started=before.started,
                started=sample.started,
            )
        ]
