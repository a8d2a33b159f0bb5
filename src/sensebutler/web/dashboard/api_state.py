"""The dashboard's API state page: key-value namespaces and their keys, schedules with their next
run and recent runs.

Read on the loop from the state backend the REST API writes (SQLite in ``state.dir``, or Redis, where
it shows what every instance wrote), not from the store or InfluxDB, so it is the same whichever
source the other pages read. Values are not shown: load scripts keep tokens and passwords there.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sensebutler.services.kv import KeyValueStore, NamespaceNotFound
from sensebutler.services.scheduler import InvalidSchedule, next_fire_after, stored_history, stored_schedules
from sensebutler.services.state import StateBackend

MAX_NAMESPACES = 200
MAX_KEYS_SHOWN = 20
RUNS_SHOWN = 50


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


class ApiState:
    def __init__(self, state: StateBackend, *, key_values: bool, schedules: bool) -> None:
        self.kv = KeyValueStore(state) if key_values else None
        self.state = state if schedules else None

    async def page(self, search: str = "") -> dict[str, Any]:
        """``namespaces``: [namespace, key count, first keys]; ``schedules``: [name, cron, time
        zone, state, next run, task id]; ``runs``: the newest runs of every schedule."""
        data: dict[str, Any] = {"off": []}
        if self.kv is None:
            data["off"].append("the key-value store (api.endpoints.key_value_store)")
        else:
            data["namespaces"] = await self._namespaces(search.lower())
        if self.state is None:
            data["off"].append("the scheduler (api.scheduler.enable)")
        else:
            data["schedules"], data["runs"] = await self._schedules(search.lower())
        return data

    async def _namespaces(self, search: str) -> list[list[Any]]:
        assert self.kv is not None
        rows = []
        for namespace in sorted(await self.kv.namespaces())[:MAX_NAMESPACES]:
            try:
                keys = sorted(await self.kv.keys(namespace))
            except NamespaceNotFound:  # deleted since it was listed
                continue
            if search and search not in namespace.lower() and not any(search in k.lower() for k in keys):
                continue
            shown = ", ".join(keys[:MAX_KEYS_SHOWN]) + (" …" if len(keys) > MAX_KEYS_SHOWN else "")
            rows.append([namespace, len(keys), shown])
        return rows

    async def _schedules(self, search: str) -> tuple[list[list[Any]], list[list[Any]]]:
        assert self.state is not None
        now = time.time()
        rows, runs = [], []
        for schedule in await stored_schedules(self.state):
            if search and search not in schedule.name.lower() and search not in schedule.qlikSenseTaskId:
                continue
            next_run = "—"
            if schedule.lastKnownState == "started":
                try:
                    next_run = _utc(next_fire_after(schedule, now))
                except InvalidSchedule as exc:
                    next_run = str(exc)
            rows.append(
                [
                    schedule.name,
                    schedule.cronSchedule,
                    schedule.timezone,
                    schedule.lastKnownState,
                    next_run,
                    schedule.qlikSenseTaskId,
                ]
            )
            for run in await stored_history(self.state, schedule.id):
                runs.append([run["scheduledFor"], schedule.name, run["outcome"], run.get("detail", "")])
        runs.sort(key=lambda r: str(r[0]), reverse=True)
        return rows, runs[:RUNS_SHOWN]
