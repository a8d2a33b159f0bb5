"""Version monitor against the simulator's About service, with the last version in a real state backend."""

from __future__ import annotations

from pathlib import Path

from sensebutler.config.state import StateConfig
from sensebutler.events.monitors import SenseVersion, SenseVersionChanged
from sensebutler.monitors.version import VersionMonitor
from sensebutler.services.state import open_backend
from sensebutler.simulator import Simulator
from tests.monitors.support import monitors_config, qlik_for


async def test_an_upgrade_is_reported_once_even_across_a_restart(
    simulator: Simulator, tmp_path: Path
) -> None:
    config = monitors_config(simulator, version={"enable": True})
    qlik = qlik_for(config)
    state = open_backend(StateConfig(), tmp_path)
    await state.start()
    try:

        def monitor() -> VersionMonitor:
            return VersionMonitor(
                config.monitors.version, qlik.http, "localhost", simulator.info.about_port, state
            )

        first = monitor()
        (seen,) = await first.check()
        assert isinstance(seen, SenseVersion)
        assert (seen.version, seen.release_label, seen.product_name) == (
            "14.187.4",
            "May 2024 Patch 4",
            "Qlik Sense",
        )
        assert len(await first.check()) == 1

        simulator.model.scenario = simulator.model.scenario.model_copy(update={"product_version": "14.200.1"})
        again = monitor()  # a new process: the old version comes from the state backend
        events = await again.check()
        changed = [e for e in events if isinstance(e, SenseVersionChanged)]
        assert [(c.previous, c.current.version) for c in changed] == [("14.187.4", "14.200.1")]
        assert [type(e) for e in await again.check()] == [SenseVersion]
    finally:
        await state.stop()
        await qlik.stop()
