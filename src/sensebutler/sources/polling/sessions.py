"""Proxy sessions per server and virtual proxy → :class:`ProxySessions`."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sensebutler.config.polling import SessionPolling
from sensebutler.config.qlik import ServerConfig
from sensebutler.events import Event
from sensebutler.events.polled import ProxySession, ProxySessions
from sensebutler.qlik.http import QlikHttp
from sensebutler.qlik.proxy import fetch_sessions, session_path
from sensebutler.sources.polling.schedule import PollJob
from sensebutler.sources.polling.servers import address, server_ref


class SessionPoller(PollJob):
    """Sessions of one virtual proxy. Excluded users (``polling.sessions.exclude_users``, compared
    case-insensitively, as Windows user names are) stay in the list, flagged ``excluded``."""

    kind = "sessions"

    def __init__(
        self, http: QlikHttp, server: ServerConfig, virtual_proxy: str, config: SessionPolling
    ) -> None:
        self.http = http
        self.config = server
        self.server = server_ref(server)
        self.virtual_proxy = virtual_proxy
        self.target = f"sessions:{server.name}:{virtual_proxy}"
        self.address = address(server.host, server.proxy_port)
        self.path = session_path(virtual_proxy)
        self.interval_s = config.interval_s
        self.timeout_s = config.timeout_s
        self.jitter_s = config.jitter_s
        self._excluded = {(u.directory.casefold(), u.user_id.casefold()) for u in config.exclude_users}

    async def poll(self) -> Sequence[Event]:
        started = time.perf_counter()
        found = await fetch_sessions(
            self.http,
            self.config.host,
            self.config.proxy_port,
            self.virtual_proxy,
            timeout_s=self.timeout_s,
            headers=self.config.headers,
        )
        excluded = self._excluded
        sessions = tuple(
            ProxySession(
                user_directory=s.user_directory,
                user_id=s.user_id,
                session_id=s.session_id,
                excluded=(s.user_directory.casefold(), s.user_id.casefold()) in excluded,
            )
            for s in found
        )
        event = ProxySessions(
            time_ns=time.time_ns(),
            server=self.server,
            virtual_proxy=self.virtual_proxy,
            proxy_host=self.address,
            sessions=sessions,
            poll_ms=(time.perf_counter() - started) * 1000.0,
        )
        return (event,)
