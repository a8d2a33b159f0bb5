"""The log-event input's batch path equals the per-event policy it replaces: same events published
(per kind, in order), same counters, event counts and rejected counts; the InfluxDB sink's one-pass
encoding of a batch equals encoding each event; a token bucket's batch take equals single takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.events.udp import LogEvent, QixPerfEvent
from sensebutler.hotpath import parse_log_datagram
from sensebutler.pipeline.rate_limit import TokenBucket
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.simulator.udp_samples import KINDS
from sensebutler.sinks.influxdb.destination import InfluxDestination
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions
from sensebutler.sinks.influxdb.sink import InfluxSink
from sensebutler.sources.udp.inputs import InputHandler, LogEventsHandler
from tests.pipeline.test_batches import BatchRecorder

NS = 1_700_000_000_000_000_000
LOG_KINDS = ("engine", "proxy", "repository", "scheduler", "qix-perf")

datagram = st.one_of(
    st.builds(lambda kind, i, seed: KINDS[kind].datagram(i, seed=seed), st.sampled_from(LOG_KINDS),
              st.integers(0, 400), st.integers(0, 3)),
    st.binary(max_size=40),
    st.builds(lambda kind, cut: KINDS[kind].datagram(1, seed=1)[:cut], st.sampled_from(LOG_KINDS),
              st.integers(0, 300)),
)  # fmt: skip

rule = st.fixed_dictionaries(
    {
        "logLevel": st.lists(st.sampled_from(["WARN", "ERROR", "INFO", "warn"]), max_size=2),
        "action": st.sampled_from(["categorise", "drop"]),
        "category": st.just([{"name": "c", "value": "v"}]),
        "filter": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["sw", "ew", "so"]),
                    "value": st.sampled_from(["a", "e", "Reload", "."]),
                }
            ),
            max_size=2,
        ),
    }
)
allowed = st.fixed_dictionaries({})  # everything allowed
#: often on: the batch path's shortcuts need sources and filters on
mostly_true = st.one_of(st.just(True), st.booleans())
log_events = st.fixed_dictionaries(
    {
        "sources": st.fixed_dictionaries(
            {name: mostly_true for name in ("engine", "proxy", "repository", "scheduler", "qix_perf")}
        ),
        "categorise": st.fixed_dictionaries({"enable": st.booleans(), "rules": st.lists(rule, max_size=2)}),
        "engine_performance_monitor": st.fixed_dictionaries(
            {
                "enable": mostly_true,
                "app_name_lookup": st.fixed_dictionaries({"enable": st.booleans()}),
                "track_rejected_events": st.fixed_dictionaries({"enable": st.booleans()}),
                "monitor_filter": st.fixed_dictionaries(
                    {
                        "all_apps": st.fixed_dictionaries(
                            {
                                "enable": mostly_true,
                                "object_type": st.one_of(
                                    allowed,
                                    st.fixed_dictionaries(
                                        {"all_object_types_exclude": st.just(["barchart", "sheet"])}
                                    ),
                                ),
                            }
                        )
                    }
                ),
            }
        ),
    }
)


def handler_for(section: dict[str, Any], app_names: dict[str, str]) -> tuple[LogEventsHandler, BatchRecorder]:
    config = Config.model_validate({"udp": {"log_events": section}})
    recorder = BatchRecorder({"log", "qix_perf"})
    runtime = Runtime(config, Router([recorder]), Path("/nonexistent"))
    runtime.app_names.replace(app_names)
    return LogEventsHandler(runtime, config.udp.log_events), recorder


def named_apps(datagrams: list[bytes], every: int) -> dict[str, str]:
    """Names for every ``every``-th app id that occurs in the datagrams (none when 0)."""
    ids: list[str] = []
    for data in datagrams:
        try:
            event = parse_log_datagram(data, NS, ())
        except Exception:
            continue
        if event.app_id and event.app_id not in ids:
            ids.append(event.app_id)
    return {app_id: f"App {n}" for n, app_id in enumerate(ids) if every and n % every == 0}


def seen(handler: LogEventsHandler, recorder: BatchRecorder) -> dict[str, Any]:
    stats = handler.stats
    return {
        "calls": [[(e.kind, msgspec.json.encode(e)) for e in call] for call in recorder.calls],
        "processed": stats.processed,
        "published": stats.published,
        "failed": stats.failed,
        "dropped": dict(+stats.dropped),
        "malformed": dict(+stats.malformed),
        "event_counts": dict(+handler.event_counts),
        "rejected": handler.rejected,
        "published_by_kind": dict(handler.runtime.router.published),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section=log_events, batches=st.lists(st.lists(datagram, max_size=30), min_size=1, max_size=3),
       name_every=st.sampled_from([0, 1, 2]))  # fmt: skip
def test_the_batch_path_equals_the_per_event_policy(
    section: dict[str, Any], batches: list[list[bytes]], name_every: int
) -> None:
    names = named_apps([d for batch in batches for d in batch], name_every)
    fast, fast_seen = handler_for(section, names)
    reference, reference_seen = handler_for(section, names)
    for batch in batches:
        fast(batch, NS)
        InputHandler.__call__(reference, batch, NS)  # parse + accept() one by one, publish_many
    assert seen(fast, fast_seen) == seen(reference, reference_seen)


def udp_events(count: int) -> list[Event]:
    events: list[Event] = []
    for i in range(count):
        events.append(parse_log_datagram(KINDS[LOG_KINDS[i % 5]].datagram(i, seed=2), NS + i, ()))
    return events


class FailingRenderer:
    """Delegates to a real renderer, and fails for the events of one host."""

    def __init__(self, real: Any, bad_host: str) -> None:
        self.real = real
        self.bad_host = bad_host

    def udp_line(self, event: LogEvent | QixPerfEvent) -> str:
        if event.host == self.bad_host:
            raise ValueError("cannot encode")
        line: str = self.real.udp_line(event)
        return line

    def encode(self, event: Event) -> list[bytes]:
        if getattr(event, "host", "") == self.bad_host:
            raise ValueError("cannot encode")
        records: list[bytes] = self.real.encode(event)
        return records


def failing_mapping(bad_host: str) -> InfluxMapping:
    """A v1 mapping whose renderer fails for the events of ``bad_host`` (one event and batch paths)."""
    mapping = InfluxMapping(MappingOptions(version=1))
    mapping._renderer = FailingRenderer(mapping._renderer, bad_host)  # type: ignore[assignment]
    mapping.encode = mapping._renderer.encode
    return mapping


def influx_sink(mapping: InfluxMapping) -> InfluxSink:
    config = Config()  # never opened: the records stay in the delivery's queue
    return InfluxSink({"log", "qix_perf"}, InfluxDestination(config.influxdb), mapping, config.delivery, None)


@given(count=st.integers(0, 40), bad_every=st.sampled_from([0, 3, 7]))
def test_the_influx_sink_encodes_a_batch_as_each_event_alone(count: int, bad_every: int) -> None:
    events = udp_events(count)
    if bad_every:  # some events of a host no renderer can write
        events = [
            msgspec.structs.replace(e, host="broken") if n % bad_every == 1 else e
            for n, e in enumerate(events)
        ]
    batch_sink, single_sink = influx_sink(failing_mapping("broken")), influx_sink(failing_mapping("broken"))
    batch_sink.submit_many(events)
    for event in events:
        single_sink.submit(event)
    assert list(batch_sink.delivery._buffer) == list(single_sink.delivery._buffer)
    assert batch_sink.delivery.stats.dropped == single_sink.delivery.stats.dropped
    assert batch_sink.delivery.stats.received == single_sink.delivery.stats.received


@given(
    rate=st.floats(0.5, 1000),
    burst=st.integers(1, 50),
    steps=st.lists(st.tuples(st.floats(0, 2), st.integers(0, 60)), max_size=8),
)
def test_a_batch_take_equals_single_takes(rate: float, burst: int, steps: list[tuple[float, int]]) -> None:
    batch, single = TokenBucket(rate, burst), TokenBucket(rate, burst)
    batch._last = single._last = now = 100.0
    for elapsed, count in steps:
        now += elapsed
        taken = sum(single.take(now) for _ in range(count))
        assert batch.take_up_to(count, now) == taken
        assert abs(saved(batch, now) - saved(single, now)) < 1e-6


def saved(bucket: TokenBucket, now: float) -> float:
    """The tokens a bucket holds at ``now`` (a bucket nobody took from has not refilled yet)."""
    return min(bucket.burst, bucket._tokens + (now - bucket._last) * bucket.rate)
