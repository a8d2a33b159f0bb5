"""Shared pytest configuration: the real-server fixtures and the simulator are plugins."""

pytest_plugins = ["tests.fixtures.servers", "tests.fixtures.simulator", "tests.fixtures.state"]
