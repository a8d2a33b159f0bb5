"""Engine restarts from real healthcheck answers of the simulator."""

from __future__ import annotations

from sensebutler.config.polling import HealthPolling
from sensebutler.events.monitors import Restarted
from sensebutler.events.polled import HealthSample
from sensebutler.monitors.restarts import EngineRestarts
from sensebutler.services.app_names import AppNames
from sensebutler.simulator import Simulator
from sensebutler.sources.polling.health import HealthPoller
from tests.monitors.support import monitors_config, qlik_for


async def test_a_restarted_engine_gives_one_restart_event_with_its_downtime(simulator: Simulator) -> None:
    config = monitors_config(simulator)
    qlik = qlik_for(config)
    server = next(s for s in config.qlik.servers if s.name == "Rim1")
    poller = HealthPoller(qlik.http, server, HealthPolling(), AppNames())
    detector = EngineRestarts(lambda event: None)

    async def sample() -> HealthSample:
        (event,) = await poller.poll()
        assert isinstance(event, HealthSample)
        return event

    try:
        assert detector.restarts(await sample()) == []
        assert detector.restarts(await sample()) == []
        before = await sample()
        assert detector.restarts(before) == []
        await simulator.restart_engine("Rim1")
        after = await sample()
        found = detector.restarts(after)
        assert len(found) == 1
        restart = found[0]
        assert isinstance(restart, Restarted)
        assert (restart.scope, restart.server, restart.previous_started) == (
            "engine",
            after.server,
            before.started,
        )
        assert restart.started == after.started != before.started
        # up at the previous sample, back at the new start time: a downtime of at most the gap
        assert 0 <= restart.downtime_s <= (after.time_ns - before.time_ns) / 1e9 + 1
        assert detector.restarts(await sample()) == []
    finally:
        await qlik.stop()
