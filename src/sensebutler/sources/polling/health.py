"""Engine healthcheck per server → :class:`HealthSample`."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

from sensebutler.config.polling import HealthPolling
from sensebutler.config.qlik import ServerConfig
from sensebutler.events import Event
from sensebutler.qlik.healthcheck import HEALTHCHECK_PATH, fetch_healthcheck, health_sample
from sensebutler.qlik.http import QlikHttp
from sensebutler.services.app_names import AppNames
from sensebutler.sources.polling.schedule import PollJob
from sensebutler.sources.polling.servers import address, server_ref


class HealthPoller(PollJob):
    kind = "health"

    def __init__(self, http: QlikHttp, server: ServerConfig, config: HealthPolling, names: AppNames) -> None:
        self.http = http
        self.config = server
        self.names = names
        self.server = server_ref(server)
        self.target = f"health:{server.name}"
        self.address = address(server.host, server.engine_port)
        self.path = HEALTHCHECK_PATH
        self.interval_s = config.interval_s
        self.timeout_s = config.timeout_s
        self.jitter_s = config.jitter_s

    async def poll(self) -> Sequence[Event]:
        started = time.perf_counter()
        answer = await fetch_healthcheck(
            self.http,
            self.config.host,
            self.config.engine_port,
            timeout_s=self.timeout_s,
            headers=self.config.headers,
        )
        docs = itertools.chain(answer.apps.active_docs, answer.apps.loaded_docs, answer.apps.in_memory_docs)
        sample = health_sample(
            answer,
            self.server,
            time_ns=time.time_ns(),
            app_names=self.names.names_for(docs),
            poll_ms=(time.perf_counter() - started) * 1000.0,
        )
        return (sample,)
