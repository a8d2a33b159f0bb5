"""Butler's cron scheduler on the shared state backend: schedules that start Qlik Sense tasks.

* **Schedules** live on the state backend (``scheduler:schedule:<id>``), so every instance sees the
  same ones, and are mirrored to Butler's YAML file (:mod:`.schedule_file`) after every change. At
  start the file's schedules whose ids the backend does not know are added (a Butler file is
  imported); ``lastKnownState`` is honoured, so a stopped schedule stays stopped across a restart.
* **Cron**: 5 fields, or 6 with seconds first (Butler's), evaluated in the schedule's IANA time zone
  by croniter on aware datetimes (fire times follow the zone's offset changes).
* **One fire per schedule in total**: only the instance holding the lease ``scheduler:leader`` fires.
  Each fire time is claimed first (``put_if_absent``), so even two instances that briefly both
  believe they lead fire it once. A leader that dies is replaced within one lease; the new leader
  fires the times missed meanwhile (at most ``misfire_grace_s`` old), each once.
* **Run history**: the last ``history_size`` fires per schedule, with their outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from croniter import croniter
from croniter.croniter import CroniterError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sensebutler.services.schedule_file import ScheduleFileError, read_schedules, write_schedules
from sensebutler.services.state import StateBackend, StateUnavailable

log = logging.getLogger(__name__)

StartupState = Literal["start", "started", "stop", "stopped"]
RunState = Literal["started", "stopped"]
#: starts a Qlik Sense task by id; raises on failure (the message goes into the run history)
TaskStarter = Callable[[str], Awaitable[None]]

_SCHEDULE = "scheduler:schedule:"
_VERSION = "scheduler:version"
_SEQUENCE = "scheduler:sequence"
_LEADER = "scheduler:leader"
_LAST = "scheduler:last:"
_CLAIM = "scheduler:claim:"
_HISTORY = "scheduler:history:"
_MAX_FIRES_PER_TICK = 100


class ScheduleError(Exception):
    """A scheduler call that cannot be done as asked; the message is for the caller."""


class ScheduleNotFound(ScheduleError):
    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"Schedule ID {schedule_id} not found.")


class InvalidSchedule(ScheduleError, ValueError):
    pass


class ScheduleSpec(BaseModel):
    """What a caller gives to create a schedule (Butler's request body)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=1000)
    cronSchedule: str = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=100)
    qlikSenseTaskId: str = Field(min_length=1, max_length=200)
    startupState: StartupState
    tags: list[str] = []


class Schedule(ScheduleSpec):
    """A schedule as stored, returned and written to the file."""

    id: str = Field(min_length=1)
    created: str = ""
    lastKnownState: RunState = "stopped"

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def initial_state(startup: StartupState) -> RunState:
    return "started" if startup in ("start", "started") else "stopped"


def parse_cron(expression: str) -> tuple[str, bool]:
    """``(expression, seconds_first)`` for a valid 5- or 6-field cron; :class:`InvalidSchedule` else."""
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise InvalidSchedule(
            f"cronSchedule {expression!r} has {len(fields)} fields; 5 (minute hour day month weekday) "
            "or 6 (second first) are accepted"
        )
    seconds_first = len(fields) == 6
    normalised = " ".join(fields)
    try:
        valid = croniter.is_valid(normalised, second_at_beginning=seconds_first, strict=True)
    except (CroniterError, ValueError, TypeError):
        valid = False
    if not valid:
        raise InvalidSchedule(f"cronSchedule {expression!r} is not a valid cron expression")
    return normalised, seconds_first


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidSchedule(f"timezone {name!r} is not an IANA time zone (e.g. Europe/Stockholm)") from exc


def validate(spec: ScheduleSpec) -> None:
    parse_cron(spec.cronSchedule)
    parse_timezone(spec.timezone)


def next_fire_after(schedule: Schedule, after: float) -> float:
    """The first fire time (epoch seconds) strictly after ``after``."""
    expression, seconds_first = parse_cron(schedule.cronSchedule)
    start = datetime.fromtimestamp(after, parse_timezone(schedule.timezone))
    return float(croniter(expression, start, second_at_beginning=seconds_first).get_next(float))


@dataclass
class _Tracked:
    schedule: Schedule
    due: float


@dataclass
class SchedulerCounters:
    fired: int = 0
    failed: int = 0
    missed: int = 0
    claims_lost: int = 0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def stored_schedules(state: StateBackend) -> list[Schedule]:
    """Every schedule on ``state``, in the order they were created (any instance's, on Redis)."""
    records = []
    for key in await state.keys(_SCHEDULE):
        raw = await state.get(key)
        if raw is not None:
            record = orjson.loads(raw)
            records.append((record.get("seq", 0), Schedule.model_validate(record["schedule"])))
    return [schedule for _, schedule in sorted(records, key=lambda r: r[0])]


async def stored_history(state: StateBackend, schedule_id: str) -> list[dict[str, Any]]:
    """A schedule's recorded runs, oldest first: ``scheduledFor``, ``firedAt``, ``taskId``,
    ``outcome`` (pending, started, failed), ``detail``, ``instance``."""
    raw = await state.get(_HISTORY + schedule_id)
    runs: list[dict[str, Any]] = orjson.loads(raw) if raw else []
    return runs


@dataclass
class Scheduler:
    """The schedules' store and, while this instance leads, the timer that fires them."""

    state: StateBackend
    file: Path | None
    start_task: TaskStarter
    #: this instance's name in the lease and the run history: ``host:pid:random``
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    lease_s: float = 5.0
    misfire_grace_s: float = 15.0
    history_size: int = 50
    tick_s: float = 0.2
    clock: Callable[[], float] = time.time
    name: str = "scheduler"
    counters: SchedulerCounters = field(default_factory=SchedulerCounters)
    is_leader: bool = False

    def __post_init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._runs: set[asyncio.Task[None]] = set()
        self._file_lock = asyncio.Lock()
        self._history_lock = asyncio.Lock()
        self._tracked: dict[str, _Tracked] = {}
        self._version: bytes | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._import_file()
        await self._write_file()
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._runs:
            await asyncio.wait(self._runs, timeout=5)
        if self.is_leader:
            with contextlib.suppress(StateUnavailable):
                await self.state.release_lease(_LEADER, self.owner)
            self.is_leader = False

    # -- the store --------------------------------------------------------------------------------------

    async def schedules(self) -> list[Schedule]:
        return await stored_schedules(self.state)

    async def get(self, schedule_id: str) -> Schedule:
        raw = await self.state.get(_SCHEDULE + schedule_id) if schedule_id else None
        if raw is None:
            raise ScheduleNotFound(schedule_id)
        return Schedule.model_validate(orjson.loads(raw)["schedule"])

    async def create(self, spec: ScheduleSpec) -> Schedule:
        validate(spec)
        schedule = Schedule(
            **spec.model_dump(),
            id=str(uuid.uuid4()),
            created=_iso(self.clock()),
            lastKnownState=initial_state(spec.startupState),
        )
        await self._save(schedule, new=True)
        await self._changed()
        log.info("schedule %s (%s) created, %s", schedule.id, schedule.name, schedule.lastKnownState)
        return schedule

    async def delete(self, schedule_id: str) -> None:
        if not schedule_id or not await self.state.delete(_SCHEDULE + schedule_id):
            raise ScheduleNotFound(schedule_id)
        await self.state.delete(_LAST + schedule_id)
        await self._changed()
        log.info("schedule %s deleted", schedule_id)

    async def set_state(self, schedule_id: str, state: RunState) -> Schedule:
        schedule = await self.get(schedule_id)
        if schedule.lastKnownState != state:
            schedule = schedule.model_copy(update={"lastKnownState": state})
            await self._save(schedule)
            if state == "started":  # fire times from now on only, not those missed while stopped
                await self.state.put(_LAST + schedule_id, str(self.clock()).encode())
            await self._changed()
            log.info("schedule %s %s", schedule_id, state)
        return schedule

    async def set_all(self, state: RunState) -> list[Schedule]:
        return [await self.set_state(s.id, state) for s in await self.schedules()]

    async def history(self, schedule_id: str) -> list[dict[str, Any]]:
        await self.get(schedule_id)
        return await stored_history(self.state, schedule_id)

    async def status_text(self) -> str:
        """Butler's status listing: one line per schedule with its cron and whether it runs."""
        lines = [
            f"'{s.id}': {s.cronSchedule} status: {'Running' if s.lastKnownState == 'started' else 'Stopped'}"
            for s in await self.schedules()
        ]
        return "{\n" + " \n".join(lines) + ("\n" if lines else "") + "}"

    async def _save(self, schedule: Schedule, *, new: bool = False) -> None:
        key = _SCHEDULE + schedule.id
        seq = 0
        raw = None if new else await self.state.get(key)
        if raw is not None:
            seq = int(orjson.loads(raw).get("seq", 0))
        else:
            seq = await self.state.incr(_SEQUENCE)
        await self.state.put(key, orjson.dumps({"seq": seq, "schedule": schedule.public()}))

    async def _changed(self) -> None:
        await self.state.incr(_VERSION)
        await self._write_file()

    async def _write_file(self) -> None:
        if self.file is None:
            return
        async with self._file_lock:
            schedules = [s.public() for s in await self.schedules()]
            try:
                await asyncio.to_thread(write_schedules, self.file, schedules)
            except OSError as exc:
                log.error("cannot write the schedule file %s: %s", self.file, exc)

    async def _import_file(self) -> None:
        if self.file is None:
            return
        try:
            entries = await asyncio.to_thread(read_schedules, self.file)
        except ScheduleFileError as exc:
            log.error("%s; its schedules are not loaded", exc)
            return
        known = {s.id for s in await self.schedules()}
        for number, entry in enumerate(entries, 1):
            entry.setdefault("id", str(uuid.uuid4()))
            entry["id"] = str(entry["id"])
            if entry["id"] in known:
                continue
            try:
                schedule = Schedule.model_validate(
                    {"lastKnownState": initial_state(entry.get("startupState", "stopped")), **entry}
                )
                validate(schedule)
            except (ValidationError, InvalidSchedule) as exc:
                log.error("schedule %d in %s is not loaded: %s", number, self.file, exc)
                continue
            await self._save(schedule, new=True)
            known.add(schedule.id)
            log.info(
                "schedule %s (%s) loaded from %s, %s",
                schedule.id,
                schedule.name,
                self.file,
                schedule.lastKnownState,
            )
        await self.state.incr(_VERSION)

    # -- firing ---------------------------------------------------------------------------------------

    async def _run(self) -> None:
        renew_every = min(self.lease_s / 3, 1.0)
        next_lease = 0.0
        while True:
            try:
                now = self.clock()
                if now >= next_lease:
                    leader = await self.state.lease(_LEADER, self.owner, self.lease_s)
                    next_lease = now + renew_every
                    if leader != self.is_leader:
                        log.info(
                            "scheduler: this instance %s the leader", "is now" if leader else "is no longer"
                        )
                        self.is_leader = leader
                        self._version = None  # reload what a previous leader left
                        self._tracked = {}
                if self.is_leader:
                    await self._fire_due()
            except StateUnavailable as exc:
                log.warning("scheduler: state backend unavailable, not firing: %s", exc)
                self.is_leader = False
            except Exception:
                log.exception("scheduler: unexpected error; continuing")
            await asyncio.sleep(self._sleep_s())

    def _sleep_s(self) -> float:
        if not self._tracked or not self.is_leader:
            return self.tick_s
        soonest = min(t.due for t in self._tracked.values())
        return max(0.005, min(self.tick_s, soonest - self.clock()))

    async def _reload(self) -> None:
        version = await self.state.get(_VERSION)
        if version == self._version and self._version is not None:
            return
        self._version = version
        now = self.clock()
        tracked: dict[str, _Tracked] = {}
        for schedule in await self.schedules():
            if schedule.lastKnownState != "started":
                continue
            previous = self._tracked.get(schedule.id)
            if previous is not None and previous.schedule == schedule:
                tracked[schedule.id] = previous
                continue
            raw_last = await self.state.get(_LAST + schedule.id)
            last = float(raw_last) if raw_last else now
            start_after = max(last, now - self.misfire_grace_s)
            try:
                tracked[schedule.id] = _Tracked(schedule, next_fire_after(schedule, start_after))
            except InvalidSchedule as exc:
                log.error("schedule %s cannot run: %s", schedule.id, exc)
        self._tracked = tracked

    async def _fire_due(self) -> None:
        await self._reload()
        now = self.clock()
        for schedule_id, tracked in list(self._tracked.items()):
            fired = 0
            while tracked.due <= now and fired < _MAX_FIRES_PER_TICK:
                slot = tracked.due
                tracked.due = next_fire_after(tracked.schedule, slot)
                fired += 1
                if slot < now - self.misfire_grace_s:
                    self.counters.missed += 1
                    continue
                claim = f"{_CLAIM}{schedule_id}:{round(slot * 1000)}"
                claim_ttl = self.misfire_grace_s + 4 * self.lease_s + 60
                if not await self.state.put_if_absent(claim, self.owner.encode(), claim_ttl):
                    self.counters.claims_lost += 1
                    continue
                await self.state.put(_LAST + schedule_id, repr(slot).encode())
                run = asyncio.create_task(self._fire(tracked.schedule, slot), name=f"schedule {schedule_id}")
                self._runs.add(run)
                run.add_done_callback(self._runs.discard)

    async def _fire(self, schedule: Schedule, slot: float) -> None:
        """Record the run as ``pending``, start the task, then record the outcome: a run whose
        instance died in between stays ``pending`` in the history rather than vanishing."""
        run = {
            "scheduledFor": _iso(slot),
            "firedAt": _iso(self.clock()),
            "taskId": schedule.qlikSenseTaskId,
            "outcome": "pending",
            "detail": "",
            "instance": self.owner,
        }
        await self._record(schedule.id, run)
        try:
            await self.start_task(schedule.qlikSenseTaskId)
            self.counters.fired += 1
            run["outcome"] = "started"
        except Exception as exc:
            run["outcome"], run["detail"] = "failed", str(exc) or type(exc).__name__
            self.counters.failed += 1
            log.warning(
                "schedule %s (%s): task %s did not start: %s",
                schedule.id,
                schedule.name,
                schedule.qlikSenseTaskId,
                run["detail"],
            )
        await self._record(schedule.id, run)

    async def _record(self, schedule_id: str, run: dict[str, str]) -> None:
        """Add ``run`` to the history, or replace the entry for the same fire time."""
        try:
            async with self._history_lock:
                raw = await self.state.get(_HISTORY + schedule_id)
                runs = [
                    r for r in (orjson.loads(raw) if raw else []) if r["scheduledFor"] != run["scheduledFor"]
                ]
                runs.append(run)
                runs.sort(key=lambda r: str(r["scheduledFor"]))
                await self.state.put(_HISTORY + schedule_id, orjson.dumps(runs[-self.history_size :]))
        except StateUnavailable as exc:
            log.warning("schedule %s: run not recorded: %s", schedule_id, exc)
