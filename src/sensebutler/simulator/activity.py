"""Background activity: a site that lives on its own.

Users start and stop proxy sessions, open and close apps and click around in them (engine calls,
QIX performance rows); services log warnings and errors now and then; scheduled tasks run when their
``nextExecution`` comes and fail at their configured rate. Every change goes through
:class:`~sensebutler.simulator.sessions.Sessions` and :class:`~sensebutler.simulator.runs.TaskRunner`,
so the proxy lists, the healthchecks and the datagrams stay consistent. All choices come from one
seeded generator; ``rate`` scales every frequency (2 = twice as busy, schedules twice as fast).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sensebutler.simulator.log_events import LogEventWriter
from sensebutler.simulator.model import SCHEDULER_USER, ProxySession, ServerNode, Site, User
from sensebutler.simulator.runs import TaskBusy, TaskRunner
from sensebutler.simulator.sessions import Sessions
from sensebutler.simulator.timefmt import utcnow

log = logging.getLogger(__name__)

TARGET_SESSIONS = (6, 24)


class Activity:
    def __init__(
        self,
        site: Site,
        sessions: Sessions,
        runner: TaskRunner,
        events: LogEventWriter,
        rng: random.Random,
        rate: float = 1.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("the activity rate must be positive")
        self.site = site
        self.sessions = sessions
        self.runner = runner
        self.events = events
        self.rng = rng
        self.rate = rate
        self._running = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def start(self) -> None:
        if self._tasks:
            return
        now = utcnow()
        for task in self.site.tasks.values():
            if task.schedule_every is not None and task.next_execution > now:
                task.next_execution = now + (task.next_execution - now) / self.rate
        self.runner.schedule_scale = 1.0 / self.rate
        self._running.set()
        loops: tuple[tuple[str, Callable[[], Awaitable[None]]], ...] = (
            ("users", self._users),
            ("logs", self._logs),
            ("qix", self._qix),
            ("schedule", self._schedule),
        )
        self._tasks = [asyncio.create_task(self._loop(name, step)) for name, step in loops]

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        if self._tasks:
            self._running.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _loop(self, name: str, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            await self._running.wait()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background activity %r failed; continuing", name)
                await asyncio.sleep(1.0)

    async def _sleep(self, low: float, high: float) -> None:
        await asyncio.sleep(self.rng.uniform(low, high) / self.rate)

    # -- users ------------------------------------------------------------------------------------

    def _people(self) -> list[User]:
        return [
            user
            for user in self.site.users.values()
            if user.directory != "INTERNAL" and not user.inactive and not user.blacklisted
        ]

    def _proxy_node(self) -> ServerNode | None:
        nodes = [node for node in self.site.nodes if node.services["proxy"].running]
        return self.rng.choice(nodes) if nodes else None

    async def _users(self) -> None:
        await self._sleep(0.3, 1.5)
        if self.paused:
            return
        sessions = list(self.site.proxy_sessions.values())
        low, high = TARGET_SESSIONS
        roll = self.rng.random()
        if len(sessions) < low or (len(sessions) < high and roll < 0.25):
            node = self._proxy_node()
            if node is not None:
                session = self.sessions.start(
                    node, self.rng.choice(self._people()), virtual_proxy=self.rng.choice(node.virtual_proxies)
                )
                self._open_app(session)
            return
        session = self.rng.choice(sessions)
        if not session.node.services["engine"].running:
            self.sessions.stop(session)
        elif roll < 0.4 and len(session.connections) < 3:
            self._open_app(session)
        elif roll < 0.55 and session.connections:
            self.sessions.close_connection(session, self.rng.choice(list(session.connections.values())))
        elif roll < 0.7 or len(sessions) >= high:
            self.sessions.stop(session)
        elif session.connections:
            self.sessions.touch(session, self.rng.choice(list(session.connections.values())))

    def _open_app(self, session: ProxySession) -> None:
        if session.node.services["engine"].running:
            self.sessions.open_connection(session, self.rng.choice(list(self.site.apps.values())))

    # -- service logs and QIX rows -------------------------------------------------------------------

    async def _logs(self) -> None:
        await self._sleep(2.0, 8.0)
        if not self.paused:
            self.rng.choice(
                (self.events.engine, self.events.proxy, self.events.repository, self.events.scheduler)
            )()

    async def _qix(self) -> None:
        await self._sleep(0.5, 2.5)
        if self.paused:
            return
        for session in list(self.site.proxy_sessions.values()):
            for connection in list(session.connections.values()):
                if self.rng.random() < 0.3:
                    self.sessions.touch(session, connection)
                    self.events.qix_row(
                        session.node,
                        session.id,
                        session.user.directory,
                        session.user.user_id,
                        connection.id,
                        connection.app_id,
                    )
        for result in [s.result for s in self.site.execution_sessions.values() if s.task.kind == "reload"]:
            if result.task.app is not None:
                self.events.qix_row(
                    result.node, "0", "INTERNAL", "sa_scheduler", result.execution_id, result.task.app.id
                )

    # -- the scheduler ----------------------------------------------------------------------------

    async def _schedule(self) -> None:
        await asyncio.sleep(0.5)
        if self.paused:
            return
        master = self.site.central.services.get("scheduler")
        if master is None or not master.running:
            return
        now = utcnow()
        for task in list(self.site.tasks.values()):
            if task.schedule_every is None or not task.enabled or task.next_execution > now:
                continue
            if task.session is not None:
                task.next_execution = now + timedelta(seconds=task.schedule_every / self.rate)
                continue
            with contextlib.suppress(TaskBusy):
                self.runner.start(task, user=SCHEDULER_USER, manual=False)
