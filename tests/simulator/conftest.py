"""The simulator fixtures for this folder (also offered project-wide as the ``tests.fixtures.simulator`` plugin)."""

from tests.fixtures.simulator import simulator, simulator_certificates, simulator_factory

__all__ = ["simulator", "simulator_certificates", "simulator_factory"]
