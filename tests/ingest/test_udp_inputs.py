"""The UDP inputs over real loopback sockets: parse, policy, counters, nothing lost silently."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sensebutler.config import Config, parse_config
from sensebutler.events.ingest import EventCount, UdpQueueMetrics
from sensebutler.events.udp import LogEvent, TaskEvent, UserEvent
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sources.udp.ingest_metrics import IngestMetrics
from sensebutler.sources.udp.inputs import UdpInput, build
from tests.fixtures.net import async_wait_until
from tests.pipeline.collect import CollectingSink

ENGINE = (
    "/qseow-engine/;1433;20240115T094512.123+0100;2024-01-15 09:45:12,123;WARN;QS-PROD-01;System.Engine.Engine;"
    "ACME\\svc-qlik;Document load failed: access denied;a0b1c2d3-1111-2222-3333-444455556666;ACME;jdoe;"
    "2024-01-15T09:45:12.120+01:00;5e1f1f1f-aaaa-bbbb-cccc-ddddeeeeffff;14.173.8;2024-01-10T03:00:01.000+01:00;"
    "Warning;0f0e0d0c-1234-4abc-9def-001122334455;7d5f6e2a-1111-2222-3333-444444444444"
)
SCHEDULER = (
    "/qseow-scheduler/;14;20211109T193744.331+0100;2021-11-09 19:37:44,331;ERROR;QS-PROD-01;"
    "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask;LAB\\qlikservice;Message from ReloadProvider: Reload "
    "failed in Engine. Check engine or script logs.;;LAB;goran;LAB\\goran;Manually triggered reload of Test;Test;"
    "dec2a02a-1680-44ef-8dc2-e2bfb180af87;e7af59a0-c243-480d-9571-08727551a66f;4831c6a5-34f6-45bb-9d40-73a6e6992670"
)
QIX = (
    "/qseow-qix-perf/;3001;20240115T120001.001+0100;2024-01-15 12:00:01,001;INFO;QS-PROD-01;"
    "QixPerformance.Engine.Engine;ACME\\svc-qlik;a0b1c2d3-1111-2222-3333-444455556666;ACME;jdoe;"
    "2024-01-15T12:00:01.000+01:00;0f0e0d0c-1234-4abc-9def-001122334455;7d5f6e2a-1111-2222-3333-444444444444;42;"
    "GenericObject::GetLayout;153.2;150.1;0.4;1.2;2.1;17;rwPjBk;123456;524288;barchart"
)
SESSION_START = "/qseow-proxy-session/;QS-PROD-01;Start session;ACME;jdoe;https://qlik.acme.com;/hub/;Start session for user 'ACME\\jdoe'"
SESSION_STOP = "/qseow-proxy-session/;QS-PROD-01;Stop session;ACME;jdoe;https://qlik.acme.com;/hub/;Stop session for user 'ACME\\jdoe'"
CONNECTION = (
    "/qseow-proxy-connection/;QS-PROD-01;Open connection;ACME;jdoe;https://qlik.acme.com;"
    "/app/7d5f6e2a-1111-2222-3333-444444444444?reloaduri=x;connection Opened for session 9a8b; UserAgent: "
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def task(prefix: str, execution_id: str) -> str:
    return (
        f"{prefix};QLIKSERVER1;Reload of Sales;Sales;INTERNAL\\sa_scheduler;dec2a02a-1680-44ef-8dc2-e2bfb180af87;"
        f"4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11;2024-01-05 10:22:11,123;ERROR;{execution_id};Max retries reached"
    )


def udp_config(tmp_path: Path, receive: str) -> Config:
    text = f"""
state: {{dir: {tmp_path}}}
udp:
  metrics: {{enable: true, interval_s: 3600}}
  log_events: {{enable: true, host: 127.0.0.1, port: 0, receive: {receive}}}
  user_events: {{enable: true, host: 127.0.0.1, port: 0, receive: {receive}, exclude_users: [{{directory: INTERNAL, user_id: sa_api}}]}}
  task_events: {{enable: true, host: 127.0.0.1, port: 0, receive: {receive}}}
"""
    return parse_config(text, "test", {})


@pytest.fixture(params=["loop", "thread"])
def receive(request: pytest.FixtureRequest) -> str:
    """Every test runs on both receive paths: the event loop's and the reader thread's (Windows)."""
    return str(request.param)


class Rig:
    def __init__(self, runtime: Runtime, inputs: list[UdpInput], sink: CollectingSink) -> None:
        self.runtime = runtime
        self.inputs = {i.handler.event_type: i for i in inputs}
        self.sink = sink
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, kind: str, *datagrams: str | bytes) -> None:
        port = self.inputs[kind].listener.port
        for d in datagrams:
            self.sock.sendto(d.encode() if isinstance(d, str) else d, ("127.0.0.1", port))


async def start_rig(config: Config) -> Rig:
    runtime = Runtime(config=config, router=Router(), state_dir=Path(config.state.dir))
    sink = CollectingSink(
        [
            "log",
            "qix_perf",
            "user",
            "task",
            "engine_reload_failed",
            "event_count",
            "rejected_event_count",
            "udp_queue",
        ]
    )
    runtime.router.add(sink)
    inputs = build(runtime)
    for i in inputs:
        await i.start()
        assert i.listener.settings.receive == "auto" or i.listener.receive_path == i.listener.settings.receive
    return Rig(runtime, inputs, sink)


@pytest.fixture
async def rig(tmp_path: Path, receive: str) -> AsyncIterator[Rig]:
    rig = await start_rig(udp_config(tmp_path, receive))
    yield rig
    for i in rig.inputs.values():
        await i.stop()
    rig.sock.close()


async def test_every_log_source_becomes_an_event(rig: Rig) -> None:
    rig.send("log", ENGINE, SCHEDULER, QIX)
    events = await rig.sink.wait_for(2, "log")
    engine, scheduler = sorted(events, key=lambda e: e.source)  # type: ignore[attr-defined]
    assert isinstance(engine, LogEvent) and engine.source == "engine"
    assert engine.message == "Document load failed: access denied"
    assert engine.app_id == "7d5f6e2a-1111-2222-3333-444444444444"
    assert isinstance(scheduler, LogEvent) and scheduler.task_name == "Manually triggered reload of Test"
    # the event's own time, not arrival time: 2021-11-09T19:37:44.331+01:00
    assert scheduler.time_ns == 1636483064331000000
    # QIX perf events are dropped unless the performance monitor is on (Butler SOS's default)
    await asyncio.sleep(0.05)
    assert rig.sink.of("qix_perf") == []
    assert rig.inputs["log"].stats.dropped["qix_filtered"] == 1


async def test_malformed_datagrams_are_counted_by_reason_and_the_listener_survives(rig: Rig) -> None:
    rig.send("log", b"", b"\xff\xfe\xfd", "/qseow-nonsense/;1;2;3", "/qseow-engine/;too;few", "garbage")
    rig.send("log", ENGINE)
    await rig.sink.wait_for(1, "log")
    stats = rig.inputs["log"].stats
    assert stats.received == 6
    assert sum(stats.malformed.values()) == 5
    assert stats.malformed["unknown_type"] >= 2
    assert stats.published == 1


async def test_user_events_track_active_users_and_honour_exclusions(rig: Rig) -> None:
    excluded = SESSION_START.replace("ACME;jdoe", "INTERNAL;sa_api")
    rig.send("user", SESSION_START, CONNECTION, excluded)
    events = await rig.sink.wait_for(2, "user")
    await asyncio.sleep(0.05)
    assert len(rig.sink.of("user")) == 2
    connection = next(e for e in events if isinstance(e, UserEvent) and e.command == "Open connection")
    assert isinstance(connection, UserEvent)
    assert connection.app_id == "7d5f6e2a-1111-2222-3333-444444444444"
    assert connection.ua_browser_name == "Chrome" and connection.ua_browser_major == "120"
    assert rig.inputs["user"].stats.dropped["excluded_user"] == 1
    assert rig.runtime.active_users.users("QS-PROD-01") == {"ACME\\jdoe", "INTERNAL\\sa_api"}
    rig.send("user", SESSION_STOP)
    await rig.sink.wait_for(3, "user")
    assert rig.runtime.active_users.users("QS-PROD-01") == {"INTERNAL\\sa_api"}


async def test_task_events_are_published_as_parsed(rig: Rig) -> None:
    """De-duplication is the reload-alert processor's (tests/processors/test_reload_alerts.py)."""
    execution = "4831c6a5-34f6-45bb-9d40-73a6e6992670"
    rig.send("task", task("/scheduler-task-failed/", execution))
    rig.send("task", task("/scheduler-task-success//", "5831c6a5-34f6-45bb-9d40-73a6e6992670"))
    events = await rig.sink.wait_for(2, "task")
    assert [e.event_type for e in events] == ["failed", "success"]  # type: ignore[attr-defined]
    assert all(isinstance(e, TaskEvent) for e in events)
    assert events[0].execution_id == execution  # type: ignore[attr-defined]


async def test_ingest_metrics_report_counts_and_queue_deltas(rig: Rig) -> None:
    rig.send("log", ENGINE, ENGINE, SCHEDULER, "garbage")
    await rig.sink.wait_for(3, "log")
    metrics = IngestMetrics(rig.runtime, list(rig.inputs.values()), 3600)
    metrics.report()
    counts = {(e.source, e.host): e.counter for e in rig.sink.of("event_count") if isinstance(e, EventCount)}
    assert counts[("qseow-engine", "QS-PROD-01")] == 2
    assert counts[("qseow-scheduler", "QS-PROD-01")] == 1
    queues = {e.queue_type: e for e in rig.sink.of("udp_queue") if isinstance(e, UdpQueueMetrics)}
    log_queue = queues["log_events"]
    assert log_queue.messages_received == 4
    assert log_queue.malformed == {"unknown_type": 1}
    metrics.report()  # deltas: nothing new since the last report
    queues = [
        e for e in rig.sink.of("udp_queue") if isinstance(e, UdpQueueMetrics) and e.queue_type == "log_events"
    ]
    assert queues[-1].messages_received == 0


async def test_categorisation_drop_really_drops(tmp_path: Path, receive: str) -> None:
    config = udp_config(tmp_path, receive)
    config.udp.log_events = config.udp.log_events.model_validate(
        {
            "enable": True,
            "host": "127.0.0.1",
            "port": 0,
            "receive": receive,
            "categorise": {
                "enable": True,
                "rules": [
                    {
                        "description": "noise",
                        "logLevel": ["WARN"],
                        "action": "drop",
                        "filter": [{"type": "sw", "value": "Document load failed"}],
                    },
                    {
                        "description": "reload",
                        "logLevel": ["ERROR"],
                        "action": "categorise",
                        "category": [{"name": "qs_log_category", "value": "reload-failed"}],
                        "filter": [{"type": "so", "value": "Reload failed"}],
                    },
                ],
            },
        }
    )
    rig = await start_rig(config)
    try:
        rig.send("log", ENGINE, SCHEDULER)
        (event,) = await rig.sink.wait_for(1, "log")
        await asyncio.sleep(0.05)
        assert len(rig.sink.of("log")) == 1
        assert isinstance(event, LogEvent) and event.categories == (("qs_log_category", "reload-failed"),)
        assert rig.inputs["log"].stats.dropped["categorised_drop"] == 1
    finally:
        for i in rig.inputs.values():
            await i.stop()


async def test_allow_list_refuses_other_sources_and_accepts_ipv6(tmp_path: Path, receive: str) -> None:
    config = udp_config(tmp_path, receive)
    config.udp.log_events.allowed_sources = ["127.0.0.2", "::1", "localhost"]
    config.udp.log_events.host = "::"
    rig = await start_rig(config)
    try:
        port = rig.inputs["log"].listener.port
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind(("127.0.0.3", 0))
        other.sendto(ENGINE.encode(), ("127.0.0.1", port))  # not allowed
        v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        v6.sendto(ENGINE.encode(), ("::1", port))  # an allowed IPv6 literal
        rig.send("log", ENGINE)  # from 127.0.0.1 = localhost
        await rig.sink.wait_for(2, "log")
        await asyncio.sleep(0.05)
        stats = rig.inputs["log"].stats
        assert stats.dropped["source_not_allowed"] == 1
        assert stats.published == 2
        other.close()
        v6.close()
    finally:
        for i in rig.inputs.values():
            await i.stop()


async def test_overload_every_datagram_is_accounted_for(tmp_path: Path, receive: str) -> None:
    config = udp_config(tmp_path, receive)
    config.udp.log_events.rate_limit.enable = True
    config.udp.log_events.rate_limit.per_second = 2000
    config.udp.log_events.rate_limit.burst = 500
    config.udp.log_events.receive_buffer_mb = 0.5
    config.udp.log_events.max_size = 1000
    rig = await start_rig(config)
    try:
        sent = 0
        big = ENGINE + ";" + "x" * 2000
        for i in range(6000):
            rig.send("log", big if i % 50 == 0 else ENGINE if i % 7 else "garbage")
            sent += 1
            if i % 200 == 0:
                await asyncio.sleep(0.01)  # let the listener read now and then
        listener = rig.inputs["log"].listener
        stats = rig.inputs["log"].stats

        def all_arrived() -> bool:  # read by the listener or dropped by the kernel
            return stats.received + (listener.read_kernel_drops() or 0) == sent

        await async_wait_until(all_arrived, 30, "every datagram read or dropped by the kernel")
        kernel = listener.read_kernel_drops()
        assert kernel is not None
        accounted = stats.published + sum(stats.dropped.values()) + sum(stats.malformed.values())
        assert stats.received + kernel == sent
        assert accounted == stats.received
        assert stats.dropped["too_large"] > 0 and stats.dropped["rate_limited"] > 0
    finally:
        for i in rig.inputs.values():
            await i.stop()


def _log_only_config(tmp_path: Path, port: int, *, reuse_port: bool, receive: str) -> Config:
    config = udp_config(tmp_path, receive)
    config.udp.log_events.port = port
    config.udp.log_events.reuse_port = reuse_port
    config.udp.user_events.enable = False
    config.udp.task_events.enable = False
    return config


async def test_instances_with_reuse_port_share_the_port_and_split_the_senders(
    tmp_path: Path, receive: str
) -> None:
    first = await start_rig(_log_only_config(tmp_path / "a", 0, reuse_port=True, receive=receive))
    port = first.inputs["log"].listener.port
    second = await start_rig(_log_only_config(tmp_path / "b", port, reuse_port=True, receive=receive))
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(40)]
    try:
        assert second.inputs["log"].listener.port == port
        for round_ in range(25):
            for sender in senders:  # 40 flows (source ports): the kernel picks a socket per flow
                sender.sendto(ENGINE.encode(), ("127.0.0.1", port))
            if round_ % 5 == 0:
                await asyncio.sleep(0.01)
        deadline = asyncio.get_running_loop().time() + 5
        while asyncio.get_running_loop().time() < deadline:
            counts = [len(rig.sink.of("log")) for rig in (first, second)]
            if sum(counts) == 1000:
                break
            await asyncio.sleep(0.05)
        assert sum(counts) == 1000, counts  # every datagram handled exactly once
        assert min(counts) > 0, counts  # both instances took a share
        assert all(rig.inputs["log"].listener.read_kernel_drops() == 0 for rig in (first, second))
    finally:
        for sender in senders:
            sender.close()
        for rig in (first, second):
            for i in rig.inputs.values():
                await i.stop()
            rig.sock.close()


async def test_a_taken_port_without_reuse_port_is_a_clear_startup_error(tmp_path: Path, receive: str) -> None:
    first = await start_rig(_log_only_config(tmp_path / "a", 0, reuse_port=False, receive=receive))
    port = first.inputs["log"].listener.port
    try:
        with pytest.raises(
            StartupError, match=r"cannot listen on udp 127\.0\.0\.1:\d+.*set reuse_port: true"
        ):
            await start_rig(_log_only_config(tmp_path / "b", port, reuse_port=True, receive=receive))
    finally:
        for i in first.inputs.values():
            await i.stop()
        first.sock.close()


#: a sender process: floods 127.0.0.1:<port> with one log event for at most <seconds> seconds
FLOOD = """
import socket, sys, time
port, seconds, data = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3].encode()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(1000):
        try:
            sock.sendto(data, ("127.0.0.1", port))
        except OSError:
            pass  # the port closed: nobody listens any more
"""


async def test_stop_under_a_flood_returns_within_its_bound_and_counts_every_datagram(
    tmp_path: Path, receive: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = _log_only_config(tmp_path, 0, reuse_port=False, receive=receive)
    config.udp.log_events.receive_buffer_mb = 8
    # no drain: what is queued at stop is all counted (a compiled parser handles 2 MB within 50 ms)
    config.udp.log_events.stop_drain_s = 0.0
    rig = await start_rig(config)
    udp_input = rig.inputs["log"]
    listener, stats = udp_input.listener, udp_input.stats
    flood_s = 60  # the sender stops by itself at the latest then; stop() must return long before
    sender = subprocess.Popen([sys.executable, "-c", FLOOD, str(listener.port), str(flood_s), ENGINE])
    try:
        # the flood outruns the input: megabytes wait in the socket (loop) or the hand-off (thread)
        await async_wait_until(
            lambda: listener.queue_bytes() > 2 * 1024 * 1024, 30, "a queue under the flood"
        )
        with caplog.at_level(logging.WARNING, logger="sensebutler.sources.udp.listener"):
            # bound: stop_drain_s + DISCARD_MAX_S (+ a reader-thread poll); generous for a busy machine,
            # while the unbounded drain returned only when the sender stopped
            await asyncio.wait_for(udp_input.stop(), timeout=flood_s / 3)
        assert sender.poll() is None, "the sender stopped first: the test proves nothing"
    finally:
        sender.kill()
        sender.wait()
        rig.sock.close()
    assert stats.dropped["shutdown"] > 0
    assert stats.processed == stats.published  # every datagram is a valid, unfiltered log event
    assert stats.received == (
        stats.processed + sum(stats.dropped.values()) + sum(stats.malformed.values()) + stats.failed
    )
    assert len(rig.sink.of("log")) == stats.published
    assert any("counted as shutdown" in r.getMessage() for r in caplog.records)


async def test_a_port_open_to_the_network_without_an_allow_list_is_warned_about_once(
    tmp_path: Path, receive: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = udp_config(tmp_path, receive)
    config.udp.log_events.host = "0.0.0.0"  # open, no allow-list: warned about
    config.udp.user_events.host = "0.0.0.0"
    config.udp.user_events.allowed_sources = ["127.0.0.1"]  # open but restricted: fine
    # task events stay on loopback: fine
    with caplog.at_level(logging.WARNING, logger="sensebutler.sources.udp.listener"):
        rig = await start_rig(config)
    try:
        warnings = [r.getMessage() for r in caplog.records if "without allowed_sources" in r.getMessage()]
        assert len(warnings) == 1, warnings
        assert warnings[0].startswith("udp log events: listening on udp 0.0.0.0:")
        assert "rate_limit" in warnings[0] and "docs/security.md" in warnings[0]
    finally:
        for i in rig.inputs.values():
            await i.stop()
        rig.sock.close()


class LoopWithoutAddReader(asyncio.SelectorEventLoop):
    """Stands in for Windows' Proactor loop, which cannot run here: it has no ``add_reader``."""

    def add_reader(self, *args: object) -> None:  # type: ignore[override]
        raise NotImplementedError


def test_auto_reads_with_a_thread_where_the_loop_cannot_watch_sockets(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = await start_rig(_log_only_config(tmp_path, 0, reuse_port=False, receive="auto"))
        try:
            assert rig.inputs["log"].listener.receive_path == "thread"
            rig.send("log", ENGINE)
            await rig.sink.wait_for(1, "log")
        finally:
            await rig.inputs["log"].stop()
            rig.sock.close()

    with asyncio.Runner(loop_factory=LoopWithoutAddReader) as runner:
        runner.run(scenario())


def test_receive_loop_where_the_loop_cannot_watch_sockets_is_a_startup_error_naming_the_cause(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        with pytest.raises(
            StartupError, match=r"udp log events: receive: loop needs an event loop .*add_reader"
        ):
            await start_rig(_log_only_config(tmp_path, 0, reuse_port=False, receive="loop"))

    with asyncio.Runner(loop_factory=LoopWithoutAddReader) as runner:
        runner.run(scenario())


async def test_the_thread_hand_off_is_bounded_and_what_it_drops_is_counted(tmp_path: Path) -> None:
    config = _log_only_config(tmp_path, 0, reuse_port=False, receive="thread")
    config.udp.log_events.receive_buffer_mb = 1  # the hand-off holds at most 1 MB
    rig = await start_rig(config)
    listener, stats = rig.inputs["log"].listener, rig.inputs["log"].stats
    thread = listener._thread
    assert thread is not None and thread.capacity_bytes == 1024 * 1024
    try:
        sent = 6000  # about 4 MB as the hand-off counts it
        # the event loop is blocked meanwhile (this test holds it), so the hand-off only fills
        rig.send("log", *[ENGINE] * sent)
        deadline = time.monotonic() + 30
        while thread.lost_unreported == 0 or listener.queue_bytes() > thread.in_flight_bytes:
            assert time.monotonic() < deadline, "the reader thread never filled the hand-off"
            time.sleep(0.01)  # poll, holding the loop on purpose
        assert thread.in_flight_bytes <= thread.capacity_bytes
        kernel = 0

        def all_counted() -> bool:
            nonlocal kernel
            kernel = listener.read_kernel_drops() or 0
            return stats.received + kernel == sent and not thread.lost_unreported

        await async_wait_until(all_counted, 30, "every datagram counted")
        assert stats.dropped["queue_full"] > 0
        assert stats.received == stats.published + stats.dropped["queue_full"]
        assert len(rig.sink.of("log")) == stats.published
    finally:
        await rig.inputs["log"].stop()
        rig.sock.close()
