"""The poller that refreshes the shared app-name map (``services/app_names.py``) from QRS ``/qrs/app``."""

from __future__ import annotations

from collections.abc import Sequence

from sensebutler.config.qlik import QlikConfig
from sensebutler.events import Event
from sensebutler.events.polled import ServerRef
from sensebutler.qlik.qrs import QrsClient
from sensebutler.services.app_names import AppNames
from sensebutler.sources.polling.schedule import PollJob
from sensebutler.sources.polling.servers import server_ref


class AppNamePoller(PollJob):
    kind = "app_names"

    def __init__(self, qrs: QrsClient, names: AppNames, config: QlikConfig, interval_s: float) -> None:
        self.qrs = qrs
        self.names = names
        host = config.qrs.host
        # the QRS host's entry in qlik.servers, so its failures carry that server's name and tags
        known = next((s for s in config.servers if s.host.lower() == host.lower()), None)
        self.server = server_ref(known) if known is not None else ServerRef(name=host, host=host)
        self.target = "app_names"
        self.address = qrs.base.removeprefix("https://")
        self.path = "/qrs/app"
        self.interval_s = interval_s
        self.timeout_s = config.qrs.timeout_s
        self.jitter_s = 0.0

    async def poll(self) -> Sequence[Event]:
        apps = await self.qrs.apps()
        self.names.replace({app.id: app.name for app in apps})
        return ()
