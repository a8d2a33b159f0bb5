"""The store sink end to end: events through the shared delivery into the file, kept across restarts."""

from __future__ import annotations

from pathlib import Path

from sensebutler.config import Config
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.events.udp import TaskEvent
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.sinks.store.config import StoreSection
from sensebutler.sinks.store.records import SUPPORTED_KINDS
from sensebutler.sinks.store.sink import StoreSink, build, find_store
from sensebutler.sinks.store.storage import NS, Storage
from tests.fixtures.net import async_wait_until
from tests.sinks.output_events import T0_NS, health, scheduler_log_event, server, sessions, user_event

DELIVERY = DeliveryConfig(flush_interval_s=0.05)


def make_sink(path: Path, tmp_path: Path) -> StoreSink:
    return StoreSink(SUPPORTED_KINDS, StoreSection(), path, DELIVERY, tmp_path / "spool", clock=lambda: T0_NS)


async def until_delivered(sink: StoreSink, count: int) -> None:
    await async_wait_until(lambda: sink.stats().delivered >= count, 30, f"{count} records delivered")


async def test_events_are_kept_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    central, rim = server("central"), server("rim")
    first = make_sink(path, tmp_path)
    await first.start()
    events = [
        health(central),
        health(rim, mem_allocated=500.0, time_ns=T0_NS + NS),
        sessions(central, count=3),
        scheduler_log_event(time_ns=T0_NS + 2 * NS),
        user_event(time_ns=T0_NS + 3 * NS),
        TaskEvent(
            time_ns=T0_NS + 4 * NS,
            event_type="failure",
            raw_type="/scheduler-task-failed/",
            task_name="Reload Sales",
        ),
    ]
    expected = sum(len(first.encode(event)) for event in events)
    for event in events:
        first.submit(event)
    await until_delivered(first, expected)
    await first.stop()

    second = make_sink(path, tmp_path)
    await second.start()
    since, until = T0_NS - 60 * NS, T0_NS + 60 * NS

    def read(storage: Storage) -> tuple[object, ...]:
        return (
            storage.series("mem", "allocated", since, until, group_by="server_name", points=1),
            storage.latest("user_session_summary", "session_count", since, group_by="server_name"),
            [row["name"] for row in storage.entries("task", since, until)],
            storage.series("log", "count", since, until, group_by="level", aggregate="sum", points=1),
            storage.entries("user", since, until)[0]["level"],
        )

    memory, session_counts, tasks, logs, user_action = await second.reader.run(read)
    await second.stop()
    bucket = since // NS // 120 * 120
    assert memory == {"central": [(bucket, 12288.25)], "rim": [(bucket, 500.0)]}
    assert session_counts == {"central": 3.0}
    assert tasks == ["Reload Sales"]
    assert list(logs) == [scheduler_log_event().level]
    assert user_action == "Open connection"
    assert second.stats().dropped == {}


async def test_a_bad_record_is_dropped_with_a_reason_and_not_counted_as_delivered(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "store.sqlite", tmp_path)
    await sink.start()
    sink.delivery.enqueue([b"{broken", b'["s", "mem", "free", "{}", 1, 2.0]', b'["x"]'])
    await async_wait_until(
        lambda: sink.stats().delivered + sum(sink.stats().dropped.values()) >= 3, 30, "the batch written"
    )
    await sink.stop()
    stats = sink.stats()
    assert (stats.delivered, stats.dropped) == (1, {"bad_record": 2})


def test_the_store_is_on_by_default_in_the_state_dir(tmp_path: Path) -> None:
    runtime = Runtime(config=Config(), router=Router(), state_dir=tmp_path)
    sinks = build(runtime)
    assert len(sinks) == 1 and isinstance(sinks[0], StoreSink)
    assert sinks[0].path == tmp_path / "store.sqlite"
    runtime.router.add(sinks[0])
    assert find_store(runtime) is sinks[0]
    assert (
        build(Runtime(config=Config(store=StoreSection(enable=False)), router=Router(), state_dir=tmp_path))
        == []
    )
