"""Shared pytest configuration: the real-server fixtures are plugins."""

pytest_plugins = ["tests.fixtures.servers"]
