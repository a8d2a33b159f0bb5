"""Real-time active users: publishes :class:`ActiveUsers` after every change of
``runtime.active_users`` (fed by the UDP user events), seeds it at startup from every server's proxy
session API, and expires users whose sessions ended without a stop event.

Changes arriving together are published once, with the state after all of them. Seeding replaces a
host's sessions with its proxy's list; a server whose proxy cannot be reached keeps what the events
say (logged). The proxy's host as user events name it is ``proxy_hosts[server name]``, by default
the first label of the server's ``host`` (what log4net's ``%hostname`` gives on Windows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable

from sensebutler.config.qlik import ServerConfig
from sensebutler.events import Event
from sensebutler.events.monitors import ActiveUsers
from sensebutler.monitors.config import ActiveUsersConfig
from sensebutler.qlik.http import QlikHttp
from sensebutler.qlik.proxy import fetch_sessions
from sensebutler.services.active_users import ActiveUsers as ActiveUserSet

log = logging.getLogger(__name__)
SEED_TIMEOUT_S = 10.0


def proxy_host(server: ServerConfig, config: ActiveUsersConfig) -> str:
    return config.proxy_hosts.get(server.name) or server.host.split(".")[0]


class ActiveUsersMonitor:
    name = "active users"

    def __init__(
        self,
        config: ActiveUsersConfig,
        active: ActiveUserSet,
        publish: Callable[[Event], None],
        servers: list[ServerConfig],
        http: QlikHttp | None,
    ) -> None:
        self.config = config
        self.active = active
        self.publish = publish
        self.servers = [s for s in servers if s.sessions]
        self.http = http
        self._pending = False
        self._tasks: list[asyncio.Task[None]] = []
        #: set once seeding finished (or was not asked for)
        self.seeded = asyncio.Event()

    async def start(self) -> None:
        self.active.listeners.append(self._changed)
        if self.config.seed_from_proxy and self.http is not None and self.servers:
            self._tasks.append(asyncio.create_task(self._seed_all(), name="active users: seed"))
        else:
            self.seeded.set()
            self._publish()
        self._tasks.append(asyncio.create_task(self._expire_loop(), name="active users: expiry"))

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.active.listeners.remove(self._changed)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _changed(self) -> None:
        if not self._pending:
            self._pending = True
            asyncio.get_running_loop().call_soon(self._publish)

    def _publish(self) -> None:
        self._pending = False
        self.publish(ActiveUsers(users=tuple(sorted(self.active.users())), per_host=self.active.per_host()))

    async def _seed_all(self) -> None:
        results = await asyncio.gather(*(self._sessions_of(s) for s in self.servers), return_exceptions=True)
        for server, result in zip(self.servers, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("active users: could not seed from %s's proxy: %s", server.name, result)
                continue
            self.active.seed(proxy_host(server, self.config), result)
        log.info("active users seeded from the proxies: %d user(s)", self.active.count())
        self.seeded.set()
        self._publish()

    async def _sessions_of(self, server: ServerConfig) -> Counter[str]:
        assert self.http is not None
        counts: Counter[str] = Counter()
        for virtual_proxy in server.virtual_proxies:
            sessions = await fetch_sessions(
                self.http,
                server.host,
                server.proxy_port,
                virtual_proxy,
                timeout_s=SEED_TIMEOUT_S,
                headers=server.headers,
            )
            counts.update(f"{s.user_directory}\\{s.user_id}" for s in sessions)
        return counts

    async def _expire_loop(self) -> None:
        timeout = self.config.session_timeout_s
        while True:
            await asyncio.sleep(min(60.0, max(1.0, timeout / 10)))
            gone = self.active.expire(timeout)
            if gone:
                log.info("active users: %d session(s) idle past the session timeout dropped", len(gone))
