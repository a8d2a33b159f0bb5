"""Helpers for the monitor tests: a config for the simulator and the Qlik client made from it."""

from __future__ import annotations

from typing import Any

from sensebutler.config import Config
from sensebutler.qlik.service import QlikService
from sensebutler.simulator import Simulator
from tests.polling.support import config_for


def monitors_config(sim: Simulator, **monitors: Any) -> Config:
    base = config_for(sim.info).model_dump(mode="json")
    certificates = base["qlik"]["certificates"]
    certificates["passphrase"] = None
    base["monitors"] = monitors
    return Config.model_validate(base)


def qlik_for(config: Config) -> QlikService:
    return QlikService(config.qlik)
