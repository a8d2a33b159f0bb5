"""The scheduler service: cron parsing, time zones across DST changes, one fire per time across
instances on one state backend (SQLite file and a real redis-server)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sensebutler.services.scheduler import (
    InvalidSchedule,
    Schedule,
    Scheduler,
    ScheduleSpec,
    next_fire_after,
    parse_cron,
)
from tests.api.support import eventually
from tests.fixtures.state import StateStore


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def schedule(cron: str, tz: str = "UTC") -> Schedule:
    return Schedule(
        name="s", cronSchedule=cron, timezone=tz, qlikSenseTaskId="t", startupState="started", id="x"
    )


def test_five_and_six_field_cron() -> None:
    assert parse_cron("*/30 * * * * *") == ("*/30 * * * * *", True)
    assert parse_cron(" 0-30/5 6-18  * * 1-5 ") == ("0-30/5 6-18 * * 1-5", False)
    for bad in ["", "* * * *", "60 * * * *", "* * * * * * *", "*/0 * * * *", "a b c d e"]:
        with pytest.raises(InvalidSchedule):
            parse_cron(bad)
    # seconds first: fires at :00 and :30 of every minute
    s = schedule("*/30 * * * * *")
    assert utc(next_fire_after(s, at("2024-01-01T10:00:05+00:00"))) == "2024-01-01 10:00:30"


def test_time_zone_is_honoured_across_dst_changes() -> None:
    """06:00 in Stockholm is 05:00 UTC in winter and 04:00 UTC in summer (Butler ignored the zone)."""
    s = schedule("0 6 * * *", "Europe/Stockholm")
    fires = []
    t = at("2024-03-29T12:00:00+00:00")
    for _ in range(4):
        t = next_fire_after(s, t)
        fires.append(utc(t))
    assert fires == [
        "2024-03-30 05:00:00",
        "2024-03-31 04:00:00",
        "2024-04-01 04:00:00",
        "2024-04-02 04:00:00",
    ]
    # autumn: every 20 minutes stays 20 minutes apart in real time through the repeated hour
    s = schedule("*/20 * * * *", "Europe/Stockholm")
    t = at("2024-10-27T00:30:00+02:00")
    gaps = []
    for _ in range(10):
        nxt = next_fire_after(s, t)
        gaps.append(nxt - t if gaps or t % 1200 == 0 else 1200)
        t = nxt
    assert set(gaps) == {1200.0}
    # a time that does not exist (02:30 on the spring-forward night) fires once, after the gap
    s = schedule("30 2 * * *", "Europe/Stockholm")
    assert utc(next_fire_after(s, at("2024-03-30T12:00:00+00:00"))) == "2024-03-31 01:00:00"


@pytest.mark.slow
async def test_every_second_fires_once_per_second_across_instances_and_a_leader_change(
    state_store: StateStore, tmp_path: Path
) -> None:
    fired: list[tuple[str, float]] = []
    schedulers: list[Scheduler] = []

    def make(name: str) -> Scheduler:
        async def start_task(task_id: str) -> None:
            fired.append((name, asyncio.get_running_loop().time()))

        return Scheduler(state_store.make(), tmp_path / f"{name}.yaml", start_task, owner=name, lease_s=1.0)

    for name in ("a", "b"):
        scheduler = make(name)
        await scheduler.state.start()
        await scheduler.start()
        schedulers.append(scheduler)
    try:
        spec = ScheduleSpec(
            name="each second",
            cronSchedule="* * * * * *",
            timezone="UTC",
            qlikSenseTaskId="t",
            startupState="started",
        )
        created = await schedulers[0].create(spec)

        async def runs(count: int) -> list[dict[str, str]]:
            history = await schedulers[1].history(created.id)
            return history if len(history) >= count else []

        await eventually(lambda: runs(3), what="three runs")
        leader = next(s for s in schedulers if s.is_leader)
        other = next(s for s in schedulers if s is not leader)
        await leader.stop()  # a leader that stops lets the other take over at once or within a lease
        before = len(await other.history(created.id))
        await eventually(lambda: runs(before + 4), what="runs after the leader change")
        assert other.is_leader
        history = await other.history(created.id)
        slots = Counter(r["scheduledFor"] for r in history)
        assert max(slots.values()) == 1, slots  # never twice
        seconds = sorted(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in slots)
        assert all(b - a == 1.0 for a, b in itertools.pairwise(seconds)), seconds  # none missed
        assert {r["instance"] for r in history} == {"a", "b"}
        assert len([r for r in history if r["outcome"] != "pending"]) <= len(fired) <= len(history)
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
            await scheduler.state.close()
