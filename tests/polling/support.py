"""Test helpers for the pollers: configs pointing at the simulator, and a sink collecting events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.pipeline.router import Router
from sensebutler.simulator import SimulatorInfo
from sensebutler.sinks.base import Sink

WAIT_S = 15.0


class Collector(Sink):
    """A sink that keeps every event it gets, for tests to wait on."""

    def __init__(self, kinds: Iterable[str] = ("health", "sessions", "poll_failed", "self")) -> None:
        self.name = "collector"
        self.kinds = frozenset(kinds)
        self.events: list[Event] = []
        self._arrived = asyncio.Event()

    def submit(self, event: Event) -> None:
        self.events.append(event)
        self._arrived.set()

    def of(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    async def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        """Wait until ``condition()`` holds; fail naming ``what`` (a bound, not a performance check)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition() and loop.time() < deadline:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), 0.1)
        assert condition(), f"gave up after {timeout:g} s waiting for {what}"


def router_with(collector: Collector) -> Router:
    return Router([collector])


def config_for(
    info: SimulatorInfo,
    *,
    polling: dict[str, Any] | None = None,
    certificates: dict[str, Any] | None = None,
    servers: list[dict[str, Any]] | None = None,
    self_metrics: dict[str, Any] | None = None,
) -> Config:
    """A config monitoring every simulator node at ``localhost`` (the server certificate names it)."""
    paths = info.certificates
    default_servers = [
        {
            "name": node.name,
            "host": "localhost",
            "engine_port": node.engine_port,
            "proxy_port": node.proxy_port or 4243,
            "virtual_proxies": [vp or "/" for vp in node.virtual_proxies],
            "tags": {"site": "lab", "central": node.central},
        }
        for node in info.nodes
    ]
    return Config.model_validate(
        {
            "qlik": {
                "certificates": certificates
                if certificates is not None
                else {
                    "client_cert": str(paths.client),
                    "client_key": str(paths.client_key),
                    "ca": str(paths.root),
                },
                "qrs": {"host": "localhost", "port": info.qrs_port, "timeout_s": 5},
                "server_tags": ["site", "central"],
                "servers": servers if servers is not None else default_servers,
            },
            "polling": polling or {},
            "self_metrics": self_metrics or {"enable": False},
        }
    )
