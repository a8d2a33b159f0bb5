"""The MQTT destination: one broker connection, opened lazily and replaced after any failure.

A failed publish is a transient :class:`DeliveryError`; the shared delivery retries the batch with
backoff (each retry first reconnects) and spools it while the broker stays away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl

import aiomqtt

from sensebutler.pipeline.delivery import DeliveryError
from sensebutler.runtime import StartupError
from sensebutler.sinks.mqtt.config import MqttSection
from sensebutler.sinks.mqtt.records import unpack
from sensebutler.tls import CertificateError

log = logging.getLogger(__name__)


def default_client_id() -> str:
    return f"sensebutler-{socket.gethostname()}-{os.getpid()}"


class MqttDestination:
    #: one batch at a time: subscribers may rely on the order of messages
    max_in_flight = 1

    def __init__(self, section: MqttSection, name: str = "mqtt") -> None:
        self.name = name
        self.section = section
        self.address = f"{section.host}:{section.port}"
        self.client_id = section.client_id or default_client_id()
        self._tls: ssl.SSLContext | None = None
        self._client: aiomqtt.Client | None = None

    async def open(self) -> None:
        """Check the TLS files now. The connection is made by the first send, so an unreachable
        broker neither delays nor stops startup; messages wait for it in the queue and the spool."""
        if self.section.tls.enable:
            try:
                self._tls = self.section.tls.context(f"{self.name}.tls")
            except CertificateError as exc:
                raise StartupError(str(exc)) from exc

    async def send(self, batch: list[bytes]) -> None:
        try:
            messages = [unpack(record) for record in batch]
        except (ValueError, UnicodeDecodeError) as exc:
            raise DeliveryError(f"unreadable record: {exc}", transient=False) from exc
        client = await self._connected()
        results = await asyncio.gather(
            *(client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain) for m in messages),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self._disconnect()
            raise DeliveryError(
                f"publish to {self.address} failed for {len(failures)} of {len(messages)} message(s): "
                f"{failures[0]}"
            )

    async def close(self) -> None:
        await self._disconnect()

    async def _connected(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        section = self.section
        client = aiomqtt.Client(
            section.host,
            section.port,
            identifier=self.client_id,
            username=section.username or None,
            password=section.password.get_secret_value() if section.password is not None else None,
            tls_context=self._tls,
            tls_insecure=not section.tls.verify if self._tls is not None else None,
            keepalive=section.keepalive_s,
            # publishes past this many wait in paho's queue, in order
            max_inflight_messages=100,
        )
        client.pending_calls_threshold = 1_000_000  # a batch is many publishes in flight; not a warning
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise DeliveryError(f"cannot connect to the MQTT broker at {self.address}: {exc}") from exc
        log.info("%s: connected to %s as %s", self.name, self.address, self.client_id)
        self._client = client
        return client

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
            await asyncio.wait_for(client.__aexit__(None, None, None), 5.0)
        # aiomqtt keeps an unexpected disconnection as a future nobody awaits once we drop the client;
        # mark it seen, or asyncio logs "Future exception was never retrieved" for every broker outage
        lost = getattr(client, "_disconnected", None)
        if isinstance(lost, asyncio.Future) and lost.done() and not lost.cancelled():
            lost.exception()
