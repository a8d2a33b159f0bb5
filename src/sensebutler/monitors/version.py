"""Sense version monitor: the About service's ``/v1/systeminfo`` → :class:`SenseVersion` at each
check, and :class:`SenseVersionChanged` when the version differs from the one seen before.

The last version seen is kept in the state backend (when given), so an upgrade done while
sensebutler was stopped is still reported at its next start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sensebutler.events import Event
from sensebutler.events.monitors import SenseVersion, SenseVersionChanged
from sensebutler.monitors.config import VersionMonitorConfig
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.schedule import Check
from sensebutler.qlik.about import fetch_systeminfo
from sensebutler.qlik.http import QlikHttp
from sensebutler.services.state import StateBackend

log = logging.getLogger(__name__)
STATE_PREFIX = "monitors:version:"


class VersionMonitor(Check):
    name = "version"

    def __init__(
        self, config: VersionMonitorConfig, http: QlikHttp, host: str, port: int, state: StateBackend | None
    ) -> None:
        self.http = http
        self.host = host
        self.port = port
        self.state = state
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s
        self._last: str | None = None

    async def _previous(self) -> str | None:
        if self._last is None and self.state is not None:
            stored = await self.state.get(STATE_PREFIX + self.host)
            self._last = stored.decode() if stored is not None else None
        return self._last

    async def check(self) -> Sequence[Event]:
        info = await fetch_systeminfo(self.http, self.host, self.port, timeout_s=self.timeout_s)
        current = SenseVersion(
            host=self.host,
            version=info.version,
            product_name=info.product_name,
            deployment_type=info.deployment_type,
            release_label=info.release_label,
            content_hash=info.content_hash,
            sense_id=info.sense_id,
            deprecated_product_version=info.deprecated_product_version,
            copyright_year_range=info.copyright_year_range,
        )
        events: list[Event] = [current]
        previous = await self._previous()
        if previous is None:
            log.info(
                "%s runs %s %s (%s), %s",
                self.host,
                info.product_name,
                info.version,
                info.release_label,
                info.deployment_type,
            )
        elif previous != info.version:
            log.warning("%s: Sense version changed from %s to %s", self.host, previous, info.version)
            events.append(SenseVersionChanged(host=self.host, previous=previous, current=current))
        if previous != info.version:
            self._last = info.version
            if self.state is not None:
                await self.state.put(STATE_PREFIX + self.host, info.version.encode())
        return events
