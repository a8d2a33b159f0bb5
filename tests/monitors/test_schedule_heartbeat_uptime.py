"""Frequencies, the runner, the heartbeat (against a real HTTP receiver) and the uptime monitor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sensebutler.events import Event
from sensebutler.events.monitors import Uptime
from sensebutler.monitors.config import HeartbeatConfig, MonitorsConfig, UptimeConfig
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.heartbeat import Heartbeat
from sensebutler.monitors.schedule import MonitorRunner
from sensebutler.monitors.uptime import UptimeMonitor
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("every 30 seconds", 30),
        ("every 6 hours", 21600),
        ("every 24 hours", 86400),
        ("every 15 minutes", 900),
        ("every 1 second", 1),
        ("every minute", 60),
        ("Every 2 Days", 172800),
        (0.5, 0.5),
    ],
)
def test_butler_text_and_seconds(text: str | float, seconds: float) -> None:
    assert parse_frequency(text).next_delay() == seconds


def test_cron_with_and_without_seconds() -> None:
    at = datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC)
    assert parse_frequency("*/5 * * * *").next_delay(at) == 270
    assert parse_frequency("*/10 * * * * *").next_delay(at) == 10  # seconds first


@pytest.mark.parametrize("text", ["every now and then", "sometimes", "every -3 hours", "* * *", 0, -1])
def test_bad_frequencies_say_what_is_accepted(text: str | float) -> None:
    with pytest.raises(ValueError):
        parse_frequency(text)


def test_config_refuses_a_bad_frequency() -> None:
    with pytest.raises(ValueError, match="not a frequency"):
        MonitorsConfig.model_validate({"uptime": {"enable": True, "frequency": "often"}})


async def test_heartbeat_calls_at_start_and_then_again_after_a_failure(http_receiver: HttpReceiver) -> None:
    http_receiver.respond("/beat", 500, 200)
    heartbeat = Heartbeat(HeartbeatConfig(enable=True, url=f"{http_receiver.url}/beat", frequency=0.2))
    runner = MonitorRunner([heartbeat], lambda event: None)
    await runner.start()
    try:
        await http_receiver.wait_for(3, "/beat", timeout=20)
        await async_wait_until(lambda: heartbeat.sent >= 2, 20, "two answered heartbeats")
    finally:
        await runner.stop()
    assert runner.failures["heartbeat"] == 1
    assert http_receiver.requests_to("/beat")[0].headers["user-agent"].startswith("sensebutler/")


async def test_uptime_is_written_as_butler_memory_usage() -> None:
    monitor = UptimeMonitor(UptimeConfig(enable=True))
    events: list[Event] = list(await monitor.check())
    (uptime,) = events
    assert isinstance(uptime, Uptime)
    assert uptime.iteration == 1 and uptime.uptime_s > 0 and uptime.process_memory > 1
    line = InfluxMapping(MappingOptions(version=1, instance="sb1")).encode(uptime)[0].decode()
    assert line.startswith("butler_memory_usage,butler_instance=sb1,version=")
    assert f"process_memory={uptime.process_memory}" in line
