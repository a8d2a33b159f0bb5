"""Small helpers for talking to the simulator in tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sensebutler.simulator import Simulator

XRFKEY = "abcdefghij987654"
COMPAT = Path(__file__).resolve().parents[2] / "../shared/compat"
PATTERN = re.compile(r'name="conversionpattern"\s+value="([^"]*)"', re.IGNORECASE)


class _NodeNames(httpx.AsyncHTTPTransport):
    """Connects to the simulator's address but asks each port for its node's host name, as a client
    that resolved the node's name would: the host-name check passes with per-node certificates."""

    def __init__(self, sim: Simulator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.info = sim.info

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = self.info.server_name(request.url.port or 443)
        if name is not None:
            request.extensions = {**request.extensions, "sni_hostname": name}
        return await super().handle_async_request(request)


def client(sim: Simulator, *, context: ssl.SSLContext | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """An HTTPS client holding the exported client certificate (or ``context``), checking host names."""
    kwargs.setdefault("timeout", 10.0)
    transport = _NodeNames(sim, verify=context or sim.info.client_ssl_context())
    return httpx.AsyncClient(transport=transport, **kwargs)


def xrf(params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"xrfkey": XRFKEY, **(params or {})}


XRF_HEADERS = {"X-Qlik-Xrfkey": XRFKEY}


async def qrs(
    http: httpx.AsyncClient, sim: Simulator, method: str, path: str, **params: Any
) -> httpx.Response:
    return await http.request(method, sim.info.qrs_url + path, params=xrf(params), headers=XRF_HEADERS)


async def qrs_json(http: httpx.AsyncClient, sim: Simulator, path: str, **params: Any) -> Any:
    response = await qrs(http, sim, "GET", path, **params)
    assert response.status_code == 200, response.text
    return response.json()


class UdpCollector(asyncio.DatagramProtocol):
    """A UDP socket on a free loopback port that keeps what arrives."""

    def __init__(self) -> None:
        self.datagrams: list[str] = []
        self._arrived = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.datagrams.append(data.decode("utf-8"))
        self._arrived.set()

    @property
    def target(self) -> str:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return f"{host}:{port}"

    async def wait_for(
        self, predicate: Callable[[str], bool], count: int = 1, timeout: float = 10.0
    ) -> list[str]:
        """Wait until ``count`` datagrams match ``predicate``; returns the matching ones."""
        async with asyncio.timeout(timeout):
            while True:
                found = [datagram for datagram in self.datagrams if predicate(datagram)]
                if len(found) >= count:
                    return found
                self._arrived.clear()
                await self._arrived.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@contextlib.asynccontextmanager
async def udp_collector() -> AsyncIterator[UdpCollector]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(UdpCollector, local_addr=("127.0.0.1", 0))
    protocol.transport = transport
    try:
        yield protocol
    finally:
        protocol.close()


def pattern_fields(pattern: str) -> list[str]:
    """The field names of a ``;``-separated conversion pattern (the literal prefix is field 0)."""
    names = []
    for token in pattern.split(";"):
        found = re.fullmatch(r"%property\{([^}]*)\}", token)
        names.append(found.group(1) if found else token.lstrip("%").split("{")[0])
    return names


def parse_datagram(pattern: str, datagram: str) -> dict[str, str]:
    """Split ``datagram`` by the pattern's layout; the last field keeps any ``;`` it contains.

    Returns an empty dict when the literal prefix differs."""
    names = pattern_fields(pattern)
    values = datagram.split(";", len(names) - 1)
    if len(values) != len(names) or values[0] != names[0]:
        return {}
    return dict(zip(names, values, strict=True))


def compat_patterns() -> dict[str, str]:
    """Conversion patterns from the shipped appender XML files, keyed by their literal prefix."""
    folders = [COMPAT / "butler/log_appender_xml", COMPAT / "butler-sos/log_appender_xml"]
    if not all(folder.is_dir() for folder in folders):
        pytest.skip(f"compat appender files not found under {COMPAT.resolve()}")
    patterns: dict[str, str] = {}
    for folder in folders:
        for path in folder.glob("*/LocalLogConfig.xml"):
            # a regex, not an XML parser: Butler's file has a literal "<IP ...>" placeholder in an attribute
            for value in PATTERN.findall(path.read_text(encoding="utf-8")):
                patterns[value.split(";", 1)[0]] = value
    return patterns
