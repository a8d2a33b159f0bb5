from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from sensebutler.config.delivery import DeliveryConfig
from sensebutler.pipeline.delivery import Delivery
from tests.fixtures.net import async_wait_until
from tests.pipeline.flaky import FlakyDestination, GatedDestination


def fast_config(**overrides: object) -> DeliveryConfig:
    base: dict[str, object] = {
        "batch_size": 50,
        "flush_interval_s": 0.02,
        "retry": {"initial_s": 0.01, "max_s": 0.05, "attempts_before_spool": 3},
        "shutdown_timeout_s": 2.0,
    }
    base.update(overrides)
    return DeliveryConfig.model_validate(base)


def records(n: int, start: int = 0, size: int = 0) -> list[bytes]:
    return [f"record-{i:06d}".encode().ljust(size, b".") for i in range(start, start + n)]


def assert_accounted(delivery: Delivery) -> None:
    s = delivery.stats
    assert s.received == s.delivered + sum(s.dropped.values()) + s.queued + s.spool_records


async def test_all_delivered_in_order_when_up(tmp_path: Path) -> None:
    dest = FlakyDestination()
    delivery = Delivery(dest, fast_config(), tmp_path / "spool.sqlite")
    await delivery.start()
    for i in range(0, 1000, 7):
        delivery.enqueue(records(7, i))
    await dest.wait_for(1001)
    await delivery.stop()
    assert dest.received == records(1001)
    assert delivery.stats.delivered == 1001
    assert delivery.stats.spooled == 0
    assert not delivery.stats.dropped
    assert_accounted(delivery)


async def test_records_trickling_in_to_an_idle_worker_go_out_within_the_flush_interval(
    tmp_path: Path,
) -> None:
    dest = FlakyDestination()
    delivery = Delivery(dest, fast_config(batch_size=1000, flush_interval_s=0.05), tmp_path / "spool.sqlite")
    await delivery.start()
    await asyncio.sleep(0.1)  # the worker is idle now
    for i in range(3):
        delivery.enqueue(records(1, i))
        await dest.wait_for(i + 1, timeout=2)  # far less than a batch, sent after the flush interval
    await delivery.stop()
    assert dest.received == records(3)


async def test_destination_down_then_back_delivers_everything_in_order(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.down = True
    delivery = Delivery(dest, fast_config(), tmp_path / "spool.sqlite")
    await delivery.start()
    n = 2000
    for i in range(0, n, 10):
        delivery.enqueue(records(10, i))
        if i % 200 == 0:
            await asyncio.sleep(0.01)  # events keep arriving while the destination is down
    await asyncio.sleep(0.2)
    assert dest.received == []
    assert delivery.stats.spool_records > 0
    dest.down = False
    await dest.wait_for(n)
    await asyncio.sleep(0.05)
    await delivery.stop()
    assert dest.received == records(n)  # every record once, in arrival order
    s = delivery.stats
    assert s.delivered == n
    assert s.spooled == n  # everything that arrived while down waited on disk
    assert s.retried >= 2
    assert not s.dropped
    assert s.spool_records == 0
    assert_accounted(delivery)


@pytest.mark.parametrize("policy", ["drop_oldest", "drop_newest"])
async def test_spool_full_keeps_what_the_policy_says_and_counts_drops(tmp_path: Path, policy: str) -> None:
    dest = FlakyDestination()
    dest.down = True
    size = 100
    capacity_records = 30
    config = fast_config(spool={"max_mb": capacity_records * size / 1024 / 1024, "when_full": policy})
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    n = 200
    for i in range(0, n, 10):
        delivery.enqueue(records(10, i, size))
        await asyncio.sleep(0)
    await asyncio.sleep(0.2)
    await delivery.stop()  # everything not sent is now on disk or counted as dropped
    s = delivery.stats
    assert s.spool_records == capacity_records
    assert s.dropped["spool_full"] == n - capacity_records
    assert_accounted(delivery)

    dest.down = False
    replay = Delivery(dest, config, tmp_path / "spool.sqlite")
    await replay.start()
    await dest.wait_for(capacity_records)
    await replay.stop()
    expected = (
        records(capacity_records, n - capacity_records, size)
        if policy == "drop_oldest"
        else records(capacity_records, 0, size)
    )
    assert dest.received == expected


@pytest.mark.parametrize("outcome", ["delivered", "rejected", "stopped"])
async def test_rows_of_the_replayed_batch_pushed_out_of_a_full_spool_are_counted_once(
    tmp_path: Path, outcome: str
) -> None:
    size, capacity, batch = 100, 30, 10
    config = fast_config(
        batch_size=batch,
        max_in_flight=1,
        retry={"initial_s": 0.01, "max_s": 0.05, "attempts_before_spool": 1},
        spool={"max_mb": capacity * size / 1024 / 1024, "when_full": "drop_oldest"},
    )
    dest = GatedDestination()
    dest.down = True
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    delivery.enqueue(records(capacity, 0, size))
    await delivery.start()
    # the first batch fails and goes to the spool with everything behind it: the spool is full
    # (records 0-29); the second attempt is already a replay of its head
    await dest.wait_for_attempts(2)
    assert delivery.stats.spool_records == capacity
    assert dest.received == []

    # the destination is back but slow: the replay of the oldest batch (records 0-9) is held
    gate = asyncio.Event()
    dest.answered.clear()
    dest.gate = gate
    dest.down = False
    await asyncio.wait_for(dest.holding.wait(), 10)
    assert dest.held == records(batch, 0, size)
    # meanwhile 20 records arrive; to make room the spool gives up its 20 oldest rows (records
    # 0-19), the whole batch in flight among them
    delivery.enqueue(records(batch, capacity, size))
    delivery.enqueue(records(batch, capacity + batch, size))
    await delivery.spool_settled()  # the spool's writer thread has written them
    n = capacity + 2 * batch
    s = delivery.stats
    assert s.dropped == Counter(spool_full=2 * batch)
    assert s.spool_records == capacity
    assert_accounted(delivery)

    if outcome == "rejected":
        dest.reject = True
    if outcome == "stopped":  # shutdown while the replay is in flight: the send still ends
        stopping = asyncio.create_task(delivery.stop())
        await asyncio.sleep(0)  # stop() has begun
        gate.set()
        await stopping
    else:
        gate.set()  # the held batch is answered, then the rest of the spool (records 20-49)
        await dest.wait_for_answered(n - batch)
        await delivery.stop()

    dropped = records(2 * batch, 0, size)
    left = records(capacity, 2 * batch, size)
    assert dest.answered[0] == dest.held  # sent anyway (at least once), but counted as dropped only
    expected = {
        "delivered": (n - 2 * batch, Counter(spool_full=2 * batch), 0, dest.held + left),
        "rejected": (0, Counter(spool_full=2 * batch, rejected=capacity), 0, []),
        "stopped": (0, Counter(spool_full=2 * batch), capacity, dest.held),
    }[outcome]
    s = delivery.stats
    assert (s.delivered, s.dropped, s.spool_records, dest.received) == expected
    assert s.queued == 0
    assert s.received == n == s.delivered + sum(s.dropped.values()) + s.queued + s.spool_records
    # no record counted twice: a delivered one is one that reached the destination and was not dropped
    assert s.delivered == len(set(dest.received) - set(dropped))


async def test_shutdown_with_pending_batch_is_flushed_when_destination_is_up(tmp_path: Path) -> None:
    dest = FlakyDestination()
    config = fast_config(batch_size=10_000, flush_interval_s=60)  # nothing would be sent before stop
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(321))
    await asyncio.sleep(0.05)
    assert dest.received == []
    await delivery.stop()
    assert dest.received == records(321)
    assert delivery.stats.delivered == 321
    assert_accounted(delivery)


async def test_shutdown_with_pending_batch_is_spooled_when_destination_is_down(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.down = True
    config = fast_config(batch_size=10_000, flush_interval_s=60)
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(321))
    await delivery.stop()
    assert dest.received == []
    assert delivery.stats.spool_records == 321
    assert not delivery.stats.dropped

    dest.down = False
    after_restart = Delivery(dest, config, tmp_path / "spool.sqlite")
    await after_restart.start()
    await dest.wait_for(321)
    await after_restart.stop()
    assert dest.received == records(321)


async def test_shutdown_is_bounded_when_a_send_hangs(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.hang_s = 30
    config = fast_config(shutdown_timeout_s=0.3, send_timeout_s=60)
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(20))
    await asyncio.sleep(0.1)  # the batch is now in flight, hanging
    loop = asyncio.get_running_loop()
    started = loop.time()
    await delivery.stop()
    assert loop.time() - started < 2
    assert delivery.stats.spool_records == 20  # the in-flight batch was kept, not lost
    assert_accounted(delivery)


async def test_rejected_batches_are_dropped_and_counted(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.reject = True
    delivery = Delivery(dest, fast_config(), tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(30))
    await asyncio.sleep(0.2)
    await delivery.stop()
    assert delivery.stats.dropped["rejected"] == 30
    assert delivery.stats.spool_records == 0
    assert_accounted(delivery)


async def test_records_a_destination_refuses_are_dropped_only_and_the_rest_delivered(tmp_path: Path) -> None:
    """Sent directly and replayed from the spool: each refused record is in ``dropped`` alone."""
    dest = FlakyDestination()
    dest.refusing = {b"record-000003", b"record-000042"}
    delivery = Delivery(dest, fast_config(), tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(10))
    await async_wait_until(lambda: delivery.stats.delivered == 9, 10, "the first batch delivered")
    dest.down = True
    delivery.enqueue(records(40, start=10))
    await async_wait_until(lambda: delivery.stats.spool_records == 40, 10, "the rest spooled")
    dest.down = False
    await async_wait_until(lambda: delivery.stats.spool_records == 0, 10, "the spool replayed")
    await delivery.stop()
    assert (delivery.stats.delivered, delivery.stats.dropped) == (48, {"unreadable": 2})
    assert_accounted(delivery)


async def test_memory_queue_overflow_goes_to_spool_not_lost(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.hang_s = 0.2  # a slow destination
    config = fast_config(queue_size=100, batch_size=50)
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    for i in range(0, 1000, 25):
        delivery.enqueue(records(25, i))
    dest.hang_s = 0
    await dest.wait_for(1000)
    await delivery.stop()
    assert dest.received == records(1000)
    assert delivery.stats.spooled > 0
    assert not delivery.stats.dropped


async def test_without_spool_overflow_is_dropped_and_counted() -> None:
    dest = FlakyDestination()
    dest.down = True
    config = fast_config(queue_size=100, spool={"enable": False})
    delivery = Delivery(dest, config, None)
    await delivery.start()
    for i in range(0, 500, 50):
        delivery.enqueue(records(50, i))
    await asyncio.sleep(0.3)
    await delivery.stop()
    s = delivery.stats
    assert s.delivered == 0
    assert s.dropped["queue_full"] > 0
    assert s.dropped["queue_full"] + s.dropped["destination_down"] + s.dropped["shutdown"] == 500
    assert_accounted(delivery)


# -- several batches in flight -------------------------------------------------------------------


def test_destinations_choose_their_own_number_of_batches_in_flight() -> None:
    from sensebutler.sinks.influxdb.destination import InfluxDestination
    from sensebutler.sinks.mqtt.client import MqttDestination
    from sensebutler.sinks.newrelic.client import NewRelicDestination

    assert (InfluxDestination.max_in_flight, NewRelicDestination.max_in_flight) == (2, 2)
    assert MqttDestination.max_in_flight == 1  # subscribers may rely on order
    assert Delivery(FlakyDestination(max_in_flight=2), fast_config(), None).max_in_flight == 2
    assert Delivery(FlakyDestination(max_in_flight=2), fast_config(max_in_flight=3), None).max_in_flight == 3


@pytest.mark.parametrize("set_by", ["config", "destination"])
async def test_two_batches_in_flight_overlap_and_everything_is_delivered_once(
    tmp_path: Path, set_by: str
) -> None:
    dest = FlakyDestination(max_in_flight=2 if set_by == "destination" else 1)
    dest.hang_s = 0.03  # a slow destination: one send alone cannot keep up
    config = fast_config(max_in_flight=2) if set_by == "config" else fast_config()
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    n = 1000
    for i in range(0, n, 100):
        delivery.enqueue(records(100, i))
    await dest.wait_for(n)
    await delivery.stop()
    assert dest.max_sending == 2  # never more than max_in_flight, and it was used
    assert len(dest.received) == n
    assert sorted(dest.received) == records(n)  # every record exactly once
    assert all(len(batch) == 50 for batch in dest.batches)
    s = delivery.stats
    assert (s.delivered, s.spooled, s.retried) == (n, 0, 0)
    assert not s.dropped
    assert_accounted(delivery)


async def test_one_batch_in_flight_never_overlaps_and_keeps_order(tmp_path: Path) -> None:
    dest = FlakyDestination(max_in_flight=2)
    dest.hang_s = 0.01
    delivery = Delivery(dest, fast_config(max_in_flight=1), tmp_path / "spool.sqlite")
    await delivery.start()
    for i in range(0, 500, 25):
        delivery.enqueue(records(25, i))
    await dest.wait_for(500)
    await delivery.stop()
    assert dest.max_sending == 1
    assert dest.received == records(500)
    assert_accounted(delivery)


async def test_two_in_flight_destination_down_then_back_delivers_everything_once(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.down = True
    dest.hang_s = 0.005  # both batches are in flight when they fail
    delivery = Delivery(dest, fast_config(max_in_flight=2), tmp_path / "spool.sqlite")
    await delivery.start()
    n = 2000
    for i in range(0, n, 10):
        delivery.enqueue(records(10, i))
        if i % 200 == 0:
            await asyncio.sleep(0.01)  # events keep arriving while the destination is down
    await asyncio.sleep(0.2)
    assert dest.received == []
    assert dest.max_sending == 2
    assert delivery.stats.spool_records > 0
    dest.down = False
    await dest.wait_for(n)
    await asyncio.sleep(0.05)
    await delivery.stop()
    assert len(dest.received) == n
    assert sorted(dest.received) == records(n)
    s = delivery.stats
    assert s.delivered == n
    assert s.spooled == n
    assert not s.dropped
    assert (s.queued, s.spool_records) == (0, 0)
    assert_accounted(delivery)


async def test_two_in_flight_one_batch_fails_while_the_other_is_delivered(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.hang_s = 0.02
    poisoned = records(1, 0)[0]  # the first batch fails until healed; later ones go through
    dest.failing = {poisoned}
    delivery = Delivery(dest, fast_config(max_in_flight=2), tmp_path / "spool.sqlite")
    await delivery.start()
    n = 400
    for i in range(0, n, 50):
        delivery.enqueue(records(50, i))
        await asyncio.sleep(0.01)
    await dest.wait_for(50)  # the second batch was accepted while the first was being retried
    await asyncio.sleep(0.2)
    assert poisoned not in dest.received
    assert delivery.stats.spool_records > 0
    dest.failing = set()
    await dest.wait_for(n)
    await asyncio.sleep(0.05)
    await delivery.stop()
    assert len(dest.received) == n
    assert sorted(dest.received) == records(n)  # never delivered twice, never lost
    s = delivery.stats
    assert s.delivered == n
    assert 0 < s.spooled < n  # the failed batch and what came behind it; not the batch sent meanwhile
    assert not s.dropped
    assert_accounted(delivery)


async def test_shutdown_with_two_batches_hanging_spools_them_all_for_the_next_start(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.hang_s = 30  # the destination never answers
    config = fast_config(max_in_flight=2, shutdown_timeout_s=0.3, send_timeout_s=60)
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(130))  # two batches of 50 go out; 30 stay in the buffer
    await asyncio.sleep(0.1)
    assert dest.sending == 2
    assert delivery.stats.queued == 30
    loop = asyncio.get_running_loop()
    started = loop.time()
    await delivery.stop()
    assert loop.time() - started < 2
    s = delivery.stats
    assert s.spool_records == 130  # both in-flight batches and the buffer were kept
    assert s.delivered == 0
    assert not s.dropped
    assert_accounted(delivery)

    dest.hang_s = 0
    after_restart = Delivery(dest, config, tmp_path / "spool.sqlite")
    await after_restart.start()
    await dest.wait_for(130)
    await after_restart.stop()
    assert dest.received == records(130)  # the batches in the order they were taken, then the buffer
    assert after_restart.stats.delivered == 130
    assert after_restart.stats.spool_records == 0


# -- faults: failing workers, what lives only in memory ------------------------------------------


async def test_a_worker_that_fails_is_logged_restarted_and_its_batch_delivered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dest = FlakyDestination()
    delivery = Delivery(dest, fast_config(max_in_flight=1), tmp_path / "spool.sqlite")
    send = delivery._send
    failures = 0

    async def send_with_a_bug(batch: list[bytes]) -> object:
        # a fault in delivery's own code while a batch is in flight (the destination's errors are
        # all caught), as an unexpected exception would be
        nonlocal failures
        if failures == 0:
            failures += 1
            raise RuntimeError("bug in the worker (test)")
        return await send(batch)

    delivery._send = send_with_a_bug  # type: ignore[method-assign,assignment]
    await delivery.start()
    delivery.enqueue(records(120))
    await dest.wait_for(120)
    failed = [r for r in caplog.records if r.levelname == "ERROR" and "delivery worker 0 failed" in r.message]
    assert len(failed) == 1
    assert failed[0].exc_info is not None and "bug in the worker" in str(failed[0].exc_info[1])
    assert delivery.stats.worker_restarts == 1
    delivery.enqueue(records(30, 120))  # the restarted worker goes on delivering
    await dest.wait_for(150)
    await delivery.stop()
    assert dest.received == records(150)  # the batch it held went back to the head of the queue
    assert delivery.stats.delivered == 150
    assert_accounted(delivery)


async def test_a_failing_batch_goes_to_the_spool_at_its_first_failure(tmp_path: Path) -> None:
    dest = FlakyDestination()
    dest.down = True
    # retries are far apart: the batch must not wait for them in memory
    config = fast_config(retry={"initial_s": 30, "max_s": 60, "attempts_before_spool": 3})
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(70))  # a full batch and 20 behind it
    await wait_until(lambda: delivery.stats.spool_records == 70, "the records on disk")
    assert dest.attempts <= 2  # the failed send and at most one replay, then a long backoff
    assert delivery.stats.queued == 0
    await delivery.stop()
    assert delivery.stats.spool_records == 70
    assert_accounted(delivery)


async def test_while_the_destination_is_down_new_records_reach_the_spool_within_a_flush_interval(
    tmp_path: Path,
) -> None:
    dest = FlakyDestination()
    dest.down = True
    config = fast_config(
        batch_size=1000,
        flush_interval_s=0.1,
        retry={"initial_s": 30, "max_s": 60, "attempts_before_spool": 1},
    )
    delivery = Delivery(dest, config, tmp_path / "spool.sqlite")
    await delivery.start()
    delivery.enqueue(records(5))
    await wait_until(lambda: delivery.stats.spool_records == 5, "the first batch on disk")
    # spool mode, the replay waits 30 s: a few records, far from a batch, go to disk on their own
    for i in range(5, 8):
        delivery.enqueue(records(1, i))
        await wait_until(lambda i=i: delivery.stats.spool_records == i + 1, f"record {i} on disk")
        assert delivery.stats.queued == 0
    assert dest.attempts <= 2
    await delivery.stop()
    assert_accounted(delivery)

    dest.down = False
    after_restart = Delivery(dest, config, tmp_path / "spool.sqlite")
    await after_restart.start()
    await dest.wait_for(8)
    await after_restart.stop()
    assert dest.received == records(8)


async def test_a_spool_that_cannot_be_opened_stops_the_start_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")
    path = tmp_path / "not-a-dir" / "spool.sqlite"
    delivery = Delivery(FlakyDestination(), fast_config(), path)
    with pytest.raises(RuntimeError, match=f"cannot open the spool {path}"):
        await delivery.start()


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll ``condition`` on the loop (the delivery under test runs on the same loop)."""
    await async_wait_until(condition, timeout, what, interval=0.005)
