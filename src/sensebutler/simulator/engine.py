"""One Qlik associative engine as its healthcheck shows it.

Sessions, users and documents are derived from the engine connections the proxy sessions hold, so
they always agree with the proxy session lists. ``calls``, ``selections`` and the cache counters only
grow (driven by elapsed time and open connections) until :meth:`Engine.restart`. Engines of the
benchmark-only extra nodes have no proxy; their session and user numbers drift on their own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sensebutler.simulator.timefmt import compact_local

ACTIVE_WINDOW = timedelta(seconds=60)
MEMORY_RETENTION = timedelta(minutes=30)
SATURATION_PERCENT = 90.0


@dataclass(eq=False)
class EngineConnectionView:
    """What the engine needs to know about one open connection."""

    user_key: str
    app_id: str
    last_active: datetime


@dataclass(eq=False)
class Engine:
    version: str
    seed: int
    started: datetime
    memory_total_mb: float
    cpu_baseline: float
    synthetic: bool = False
    connections: dict[str, EngineConnectionView] = field(default_factory=dict)
    reloading: dict[str, int] = field(default_factory=dict)
    in_memory: dict[str, datetime] = field(default_factory=dict)
    session_apps: list[str] = field(default_factory=list)
    cpu_override: float | None = None
    ram_override: float | None = None
    calls: int = 0
    selections: int = 0
    cache_hits: int = 0
    cache_lookups: int = 0
    cache_added: int = 0
    cache_replaced: int = 0
    cache_bytes_added: int = 0
    restarts: int = 0
    _last_tick: datetime | None = None
    _rng: random.Random = field(init=False)
    _synthetic_sessions: float = 0.0
    _cpu: float = 0.0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._cpu = self.cpu_baseline
        self._seed_counters(0.0)

    def _seed_counters(self, uptime_hours: float) -> None:
        rng = self._rng
        self.calls = int(uptime_hours * rng.uniform(2000, 9000))
        self.selections = int(self.calls * rng.uniform(0.02, 0.06))
        self.cache_lookups = int(self.calls * rng.uniform(0.1, 0.2))
        self.cache_hits = int(self.cache_lookups * rng.uniform(0.55, 0.75))
        self.cache_added = self.cache_lookups - self.cache_hits
        self.cache_replaced = int(self.cache_added * rng.uniform(0.0, 0.05))
        self.cache_bytes_added = self.cache_added * rng.randint(20_000, 80_000)

    def warm(self, app_ids: list[str], session_apps: list[str], now: datetime) -> None:
        """Give a freshly built engine some history: counters for its uptime and apps in memory."""
        self._seed_counters((now - self.started).total_seconds() / 3600)
        for app_id in app_ids:
            self.in_memory[app_id] = now - timedelta(minutes=self._rng.uniform(0, 20))
        self.session_apps = list(session_apps)
        if self.synthetic:
            self._synthetic_sessions = self._rng.uniform(0, 40)
        self._last_tick = now

    def restart(self, now: datetime) -> None:
        """A simulated engine restart: new ``started``, counters from zero, nothing in memory."""
        self.started = now
        self.restarts += 1
        self.connections.clear()
        self.reloading.clear()
        self.in_memory.clear()
        self.session_apps.clear()
        self._seed_counters(0.0)
        self._last_tick = now

    # -- activity ------------------------------------------------------------------------------

    def open_connection(self, connection_id: str, user_key: str, app_id: str, now: datetime) -> None:
        self.connections[connection_id] = EngineConnectionView(user_key, app_id, now)
        self.in_memory[app_id] = now
        self.record_work(now, self._rng.randint(20, 80))

    def close_connection(self, connection_id: str, now: datetime) -> None:
        view = self.connections.pop(connection_id, None)
        if view is not None:
            self.in_memory[view.app_id] = now

    def touch_connection(self, connection_id: str, now: datetime) -> None:
        view = self.connections.get(connection_id)
        if view is not None:
            view.last_active = now
            self.record_work(now, self._rng.randint(5, 40))

    def record_work(self, now: datetime, calls: int) -> None:
        """Engine calls made by a user (opening an app, selecting, scrolling)."""
        self.tick(now)
        rng = self._rng
        self.calls += calls
        self.selections += rng.randint(0, max(1, calls // 6))
        lookups = rng.randint(calls // 4, calls // 2 + 1)
        hits = int(lookups * rng.uniform(0.5, 0.8))
        self.cache_lookups += lookups
        self.cache_hits += hits
        self.cache_added += lookups - hits
        self.cache_replaced += rng.randint(0, 1) if lookups - hits > 2 else 0
        self.cache_bytes_added += (lookups - hits) * rng.randint(8_000, 120_000)

    def begin_reload(self, app_id: str, now: datetime) -> None:
        self.reloading[app_id] = self.reloading.get(app_id, 0) + 1
        self.in_memory[app_id] = now

    def end_reload(self, app_id: str, now: datetime) -> None:
        left = self.reloading.get(app_id, 0) - 1
        if left > 0:
            self.reloading[app_id] = left
        else:
            self.reloading.pop(app_id, None)
        self.in_memory[app_id] = now
        self.record_work(now, self._rng.randint(50, 400))

    def tick(self, now: datetime) -> None:
        """Advance background counters and the CPU figure to ``now``."""
        last = self._last_tick or now
        self._last_tick = now
        seconds = max(0.0, (now - last).total_seconds())
        if seconds == 0.0:
            return
        rng = self._rng
        busy = len(self.connections) + 3 * len(self.reloading)
        if self.synthetic:
            self._synthetic_sessions = max(
                0.0, self._synthetic_sessions + rng.uniform(-1.5, 1.5) * min(seconds, 30)
            )
            busy += int(self._synthetic_sessions)
        background = int(seconds * rng.uniform(0.2, 1.5))
        self.calls += background + int(seconds * busy * rng.uniform(0.5, 3.0))
        self.selections += int(seconds * busy * rng.uniform(0.0, 0.3))
        lookups = int(seconds * (busy + 0.2) * rng.uniform(0.1, 0.6))
        hits = int(lookups * rng.uniform(0.5, 0.8))
        self.cache_lookups += lookups
        self.cache_hits += hits
        self.cache_added += lookups - hits
        self.cache_bytes_added += (lookups - hits) * rng.randint(8_000, 120_000)
        target = self.cpu_baseline + 1.5 * busy + 18 * len(self.reloading)
        self._cpu += (target - self._cpu) * min(1.0, seconds / 30) + rng.uniform(-1.5, 1.5)
        self._cpu = min(100.0, max(0.0, self._cpu))
        stale = [
            app
            for app, used in self.in_memory.items()
            if now - used > MEMORY_RETENTION and not self._in_use(app)
        ]
        for app_id in stale:
            del self.in_memory[app_id]

    def _in_use(self, app_id: str) -> bool:
        return app_id in self.reloading or any(view.app_id == app_id for view in self.connections.values())

    # -- the healthcheck --------------------------------------------------------------------------

    @property
    def cpu(self) -> float:
        return self.cpu_override if self.cpu_override is not None else self._cpu

    def memory_used_percent(self) -> float:
        if self.ram_override is not None:
            return self.ram_override
        return min(99.0, 100.0 * self.committed_mb() / self.memory_total_mb + 18.0)

    def committed_mb(self) -> float:
        if self.ram_override is not None:
            return self.memory_total_mb * max(0.0, self.ram_override - 18.0) / 100.0
        docs = len(self.in_memory) + len(self.session_apps)
        return 380.0 + 140.0 * docs + 12.0 * len(self.connections) + 600.0 * len(self.reloading)

    def healthcheck(self, now: datetime) -> dict[str, Any]:
        self.tick(now)
        active_views = [view for view in self.connections.values() if now - view.last_active <= ACTIVE_WINDOW]
        loaded = list(
            dict.fromkeys([view.app_id for view in self.connections.values()] + list(self.reloading))
        )
        in_memory = list(dict.fromkeys(loaded + list(self.in_memory) + self.session_apps))
        active_docs = list(dict.fromkeys(view.app_id for view in active_views))
        if self.synthetic:
            total_sessions = int(self._synthetic_sessions)
            active_sessions = int(total_sessions * 0.4)
            total_users = int(total_sessions * 0.8)
            active_users = int(active_sessions * 0.8)
            documents = list(self.in_memory)
            loaded = documents[: min(len(documents), (total_sessions + 4) // 5)]
            active_docs = loaded[: min(len(loaded), (active_sessions + 4) // 5)]
        else:
            total_sessions = len(self.connections)
            active_sessions = len(active_views)
            total_users = len({view.user_key for view in self.connections.values()})
            active_users = len({view.user_key for view in active_views})
        committed = round(self.committed_mb(), 6)
        used_fraction = self.memory_used_percent() / 100.0
        cpu = self.cpu
        return {
            "version": self.version,
            "started": compact_local(self.started),
            "mem": {
                "committed": committed,
                "allocated": round(committed * 1.23, 6),
                "free": round(self.memory_total_mb * (1.0 - used_fraction), 6),
                "totalPhysical": self.memory_total_mb,
            },
            "cpu": {"total": round(cpu, 1)},
            "session": {"active": active_sessions, "total": total_sessions},
            "apps": {
                "active_docs": active_docs,
                "in_memory_docs": in_memory,
                "loaded_docs": loaded,
                "calls": self.calls,
                "selections": self.selections,
            },
            "users": {"active": active_users, "total": total_users},
            "cache": {
                "hits": self.cache_hits,
                "lookups": self.cache_lookups,
                "added": self.cache_added,
                "replaced": self.cache_replaced,
                "bytes_added": self.cache_bytes_added,
            },
            "saturated": cpu > SATURATION_PERCENT or self.memory_used_percent() > SATURATION_PERCENT,
        }
