"""Which source addresses may send datagrams: IPv4 and IPv6 addresses and host names.

Host names are resolved at start and again every ``resolve_interval_s`` (Sense nodes change
addresses; Butler resolves once). A name that fails to resolve keeps its previous addresses and is
logged; the list is never silently switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket

log = logging.getLogger(__name__)


def normalise(address: str) -> str:
    """Canonical text of an address; IPv4-mapped IPv6 (``::ffff:10.0.0.1``) becomes IPv4."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class AllowList:
    def __init__(self, entries: list[str], resolve_interval_s: float) -> None:
        self.enabled = bool(entries)
        self.resolve_interval_s = resolve_interval_s
        self._literal: set[str] = set()
        self._names: dict[str, set[str]] = {}
        for entry in entries:
            text = entry.strip()
            try:
                self._literal.add(normalise(str(ipaddress.ip_address(text))))
            except ValueError:
                self._names[text] = set()
        self.allowed: frozenset[str] = frozenset(self._literal)
        self._task: asyncio.Task[None] | None = None

    def __contains__(self, address: str) -> bool:
        return address in self.allowed or normalise(address) in self.allowed

    async def start(self) -> None:
        if self._names:
            await self.resolve()
            self._task = asyncio.create_task(self._refresh(), name="allow-list-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def resolve(self) -> None:
        loop = asyncio.get_running_loop()
        for name in self._names:
            try:
                infos = await loop.getaddrinfo(name, None, type=socket.SOCK_DGRAM)
            except OSError as exc:
                log.warning("allowed source %r does not resolve (%s); keeping its last addresses", name, exc)
                continue
            self._names[name] = {normalise(str(info[4][0])) for info in infos}
        self.allowed = frozenset(self._literal.union(*self._names.values()))

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.resolve_interval_s)
            await self.resolve()
