from tests.fixtures.simulator import simulator, simulator_certificates, simulator_factory

__all__ = ["simulator", "simulator_certificates", "simulator_factory"]
