"""A UDP read batch goes on as one batch: handler → Router.publish_many → DeliverySink.submit_many."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.simulator.udp_samples import KINDS
from sensebutler.sinks.base import DeliverySink, Sink
from sensebutler.sources.udp.inputs import LogEventsHandler
from tests.jsonl_destination import JsonLinesFile


class BatchRecorder(Sink):
    """Keeps each call's events as one list."""

    def __init__(self, kinds: set[str]) -> None:
        self.name = "batches"
        self.kinds = frozenset(kinds)
        self.calls: list[list[Event]] = []

    def submit(self, event: Event) -> None:
        self.calls.append([event])

    def submit_many(self, events: list[Event]) -> None:
        self.calls.append(list(events))


class OneByOne:
    """A consumer with ``submit`` only."""

    name = "one-by-one"
    kinds = frozenset({"log"})

    def __init__(self) -> None:
        self.events: list[Event] = []

    def submit(self, event: Event) -> None:
        self.events.append(event)


class Broken(Sink):
    name = "broken"
    kinds = frozenset({"log", "qix_perf"})

    def submit(self, event: Event) -> None:
        raise RuntimeError("a sink bug")


class HalfEncoding(DeliverySink):
    """Encodes a log event as two records, and fails half-way through a QIX event."""

    def encode(self, event: Event) -> Iterator[bytes]:
        yield f"{event.kind}-a".encode()
        if isinstance(event, QixPerfEvent):
            raise ValueError("cannot encode")
        yield f"{event.kind}-b".encode()


def datagrams() -> list[bytes]:
    return [
        KINDS["engine"].datagram(1, seed=3),
        KINDS["qix-perf"].datagram(2, seed=3),
        b"not a log event at all",
        KINDS["proxy"].datagram(3, seed=3),
        KINDS["qix-perf"].datagram(4, seed=3),
    ]


def handler_with(*consumers: object) -> LogEventsHandler:
    config = Config.model_validate(
        {
            "udp": {
                "log_events": {
                    "engine_performance_monitor": {
                        "enable": True,
                        "monitor_filter": {"all_apps": {"enable": True}},
                    }
                }
            }
        }
    )
    runtime = Runtime(config, Router(consumers), Path("/nonexistent"))  # type: ignore[arg-type]
    return LogEventsHandler(runtime, config.udp.log_events)


def test_a_read_batch_reaches_each_consumer_in_one_call_per_kind_in_order() -> None:
    batches = BatchRecorder({"log", "qix_perf"})
    single = OneByOne()
    handler = handler_with(batches, single)
    handler(datagrams(), 1_700_000_000_000_000_000)
    kinds = [[event.kind for event in call] for call in batches.calls]
    assert kinds == [["log", "log"], ["qix_perf", "qix_perf"]]
    assert [e.source for e in batches.calls[0] if isinstance(e, LogEvent)] == ["engine", "proxy"]
    assert single.events == batches.calls[0]
    stats = handler.stats
    assert (stats.processed, stats.published, sum(stats.malformed.values()), stats.failed) == (4, 4, 1, 0)
    assert handler.runtime.router.published == {"log": 2, "qix_perf": 2}


def test_a_consumer_that_raises_turns_the_batch_into_failed_datagrams() -> None:
    handler = handler_with(Broken())
    handler(datagrams(), 1_700_000_000_000_000_000)
    stats = handler.stats
    assert (stats.processed, stats.published, stats.failed) == (0, 0, 4)
    assert sum(stats.malformed.values()) == 1


async def test_delivery_sink_enqueues_a_batch_once_and_nothing_of_an_event_that_failed(
    tmp_path: Path,
) -> None:
    config = Config()
    sink = HalfEncoding(
        "half", {"log", "qix_perf"}, JsonLinesFile(tmp_path / "x.jsonl"), config.delivery, None
    )
    handler = handler_with(sink)
    handler(datagrams(), 1_700_000_000_000_000_000)
    stats = sink.delivery.stats
    assert stats.received == 4  # the two log events' records; neither half of a QIX event
    assert stats.dropped == {"encode_error": 2}
    assert list(sink.delivery._buffer) == [b"log-a", b"log-b", b"log-a", b"log-b"]
