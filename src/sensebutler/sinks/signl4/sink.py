"""The Signl4 sink: Butler's alert per failed or aborted reload (rate limit per task and event), and
a resolution when the task next succeeds."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from sensebutler.alerts.config import AlertEventBlock
from sensebutler.alerts.sink import AlertSink
from sensebutler.events.alerts import ReloadAlert
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import Sink
from sensebutler.sinks.signl4.config import Signl4EventBlock, Signl4Section
from sensebutler.sinks.signl4.open_alerts import OpenAlerts
from sensebutler.sinks.signl4.payload import signl4_alert, signl4_resolution
from sensebutler.sinks.webhook.destination import WebhookDestination
from sensebutler.sinks.webhook.request import HttpRequest
from sensebutler.sinks.webhook.sink import one_request_per_batch


class Signl4Sink(AlertSink):
    def __init__(self, runtime: Runtime, section: Signl4Section) -> None:
        destination = WebhookDestination("signl4", timeout_s=section.timeout_s)
        section = one_request_per_batch(section, runtime)
        super().__init__("signl4", section, destination, runtime)
        assert section.url is not None  # required while enabled
        self.url = section.url.get_secret_value()
        self.open_alerts = OpenAlerts(runtime.state, section.open_alert_ttl_s)

    async def records(self, alert: ReloadAlert, event: str, block: AlertEventBlock) -> Iterable[bytes]:
        task_id = alert.source.task_id
        if event == "reload-success":
            service_name = await self.open_alerts.take(task_id)
            if service_name is None:
                return []
            return [self._request(signl4_resolution(alert, service_name))]
        if not isinstance(block, Signl4EventBlock) or not await self.allow(event, task_id, block):
            return []
        await self.open_alerts.remember(task_id, block.service_name)
        return [self._request(signl4_alert(alert, event, block))]

    def _request(self, body: object) -> bytes:
        return HttpRequest("POST", self.url, orjson.dumps(body)).pack()


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.signl4
    if not section.enable:
        return []
    try:
        return [Signl4Sink(runtime, section)]
    except ValueError as exc:
        raise StartupError(str(exc)) from exc


__all__ = ["Signl4Sink", "build"]
