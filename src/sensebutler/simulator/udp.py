"""The log4net UDP appenders of the simulated site.

A Sense service writes a log record; every appender that accepts it (threshold, logger, string
filters) renders its conversion pattern and sends one datagram to the host configured for its
remote port. The appenders come from :mod:`log4net` (the shipped files by default), so what leaves
here is exactly what a real site configured with those files would send. Port 9996 goes to the log
target, 9997 to the user-event target, 9998 to the task-event target.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sensebutler.simulator.log4net import APPENDERS, AppenderSpec, LogRecord
from sensebutler.simulator.timefmt import utcnow

log = logging.getLogger(__name__)

LOG_PORT, USER_PORT, TASK_PORT = 9996, 9997, 9998


class TargetError(ValueError):
    """A ``host:port`` UDP target that cannot be used."""


def parse_target(text: str) -> tuple[str, int]:
    """``host:port``, ``1.2.3.4:9996`` or ``[::1]:9996``."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise TargetError(f"invalid UDP target {text!r}: expected host:port")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class UdpTargets:
    log: tuple[str, int] | None = None
    user: tuple[str, int] | None = None
    task: tuple[str, int] | None = None

    def for_port(self, port: int) -> tuple[str, int] | None:
        return {LOG_PORT: self.log, USER_PORT: self.user, TASK_PORT: self.task}.get(port)

    def as_json(self) -> dict[str, str | None]:
        def text(target: tuple[str, int] | None) -> str | None:
            if target is None:
                return None
            host, port = target
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

        return {"log": text(self.log), "user": text(self.user), "task": text(self.task)}


@dataclass(frozen=True, slots=True)
class Datagram:
    service: str
    appender: str
    port: int
    text: str


Observer = Callable[[LogRecord, list[Datagram]], None]


@dataclass
class UdpStats:
    sent: Counter[str] = field(default_factory=Counter)
    unsent: Counter[str] = field(default_factory=Counter)
    errors: int = 0


class _Sink(asyncio.DatagramProtocol):
    def __init__(self, stats: UdpStats) -> None:
        self._stats = stats

    def error_received(self, exc: Exception) -> None:
        # ICMP "port unreachable" from a target nobody listens on: count, never fail.
        self._stats.errors += 1


class UdpEmitter:
    def __init__(self, targets: UdpTargets, appenders: list[AppenderSpec] | None = None) -> None:
        self.targets = targets
        self.appenders = list(APPENDERS if appenders is None else appenders)
        self.stats = UdpStats()
        self._transports: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self._observers: list[Observer] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for target in {self.targets.log, self.targets.user, self.targets.task} - {None}:
            assert target is not None
            infos = await loop.getaddrinfo(target[0], target[1], type=socket.SOCK_DGRAM)
            if not infos:
                raise TargetError(f"cannot resolve {target[0]}")
            family, _, _, _, address = infos[0]
            remote = (str(address[0]), int(address[1]))
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Sink(self.stats), remote_addr=remote, family=family
            )
            self._transports[target] = transport

    def observe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def emit(self, service: str, record: LogRecord) -> list[Datagram]:
        """Send ``record``, logged by ``service``, through every appender of that service that accepts it."""
        datagrams: list[Datagram] = []
        for appender in self.appenders:
            if appender.service != service or not appender.accepts(record):
                continue
            datagram = Datagram(service, appender.name, appender.remote_port, appender.render(record))
            datagrams.append(datagram)
            label = f"{service}/{appender.name}"
            target = self.targets.for_port(appender.remote_port)
            transport = self._transports.get(target) if target is not None else None
            if transport is None:
                self.stats.unsent[label] += 1
                continue
            try:
                transport.sendto(datagram.text.encode("utf-8"))
            except OSError as exc:
                self.stats.errors += 1
                log.debug("UDP send to %s failed: %s", target, exc)
                continue
            self.stats.sent[label] += 1
        for observer in self._observers:
            observer(record, datagrams)
        return datagrams

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()


class ServiceLog:
    """The log of one Sense service on one host: numbers its rows like Qlik's counter converter."""

    def __init__(self, emitter: UdpEmitter, hostname: str, service: str, service_user: str) -> None:
        self._emitter = emitter
        self.hostname = hostname
        self.service = service
        self.service_user = service_user
        self._row = 0

    def write(
        self,
        level: str,
        logger: str,
        message: str,
        *,
        exception: str = "",
        properties: dict[str, str] | None = None,
        when: datetime | None = None,
    ) -> list[Datagram]:
        self._row += 1
        record = LogRecord(
            time=(when or utcnow()).astimezone(),
            level=level,
            logger=logger,
            message=message,
            exception=exception,
            hostname=self.hostname,
            service_user=self.service_user,
            row=self._row,
            properties=dict(properties or {}),
        )
        return self._emitter.emit(self.service, record)


class SiteLogs:
    """One :class:`ServiceLog` per (host, service), created on first use."""

    def __init__(self, emitter: UdpEmitter, service_user: str) -> None:
        self.emitter = emitter
        self._service_user = service_user
        self._logs: dict[tuple[str, str], ServiceLog] = {}

    def __call__(self, hostname: str, service: str) -> ServiceLog:
        key = (hostname, service)
        found = self._logs.get(key)
        if found is None:
            found = self._logs[key] = ServiceLog(self.emitter, hostname, service, self._service_user)
        return found
