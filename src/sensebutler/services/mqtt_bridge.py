"""The API's own MQTT connection (the broker of the ``mqtt:`` section): publishes what
``/v4/mqttpublishmessage`` is given and, when ``api.mqtt_task_start.enable``, starts the task whose id
arrives on the task-start topic (Butler's ``mqttConfig.taskStartTopic``, butler.md §4).

It connects in the background and reconnects after any loss; a publish while it is not connected is
refused (:class:`MqttUnavailable`, 503) instead of being queued, so the caller knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiomqtt

from sensebutler.qlik.errors import QlikError
from sensebutler.services.tasks import TASK_ID
from sensebutler.sinks.mqtt.client import default_client_id
from sensebutler.sinks.mqtt.config import MqttSection
from sensebutler.tls import CertificateError

log = logging.getLogger(__name__)


class MqttUnavailable(Exception):
    """MQTT is off in the config, or the broker is not connected now."""


class MqttBridge:
    name = "api mqtt"

    def __init__(
        self,
        section: MqttSection,
        *,
        task_start_topic: str | None = None,
        start_task: Callable[[str], Awaitable[None]] | None = None,
        allowed: Callable[[str], bool] = lambda task_id: True,
        retry_s: float = 2.0,
    ) -> None:
        self.section = section
        self.address = f"{section.host}:{section.port}"
        self.task_start_topic = task_start_topic
        self._start_task = start_task
        self._allowed = allowed
        self._retry_s = retry_s
        self._client: aiomqtt.Client | None = None
        self._runner: asyncio.Task[None] | None = None
        #: task-start messages refused (not a task id, not allowed) or failed at QRS
        self.refused = 0
        self.started = 0

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="api mqtt")

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def publish(self, topic: str, message: str) -> None:
        client = self._client
        if client is None:
            raise MqttUnavailable(f"not connected to the MQTT broker at {self.address}; try again later")
        try:
            await client.publish(topic, message.encode(), qos=self.section.qos)
        except aiomqtt.MqttError as exc:
            raise MqttUnavailable(f"publishing to the MQTT broker at {self.address} failed: {exc}") from exc

    def _make_client(self) -> aiomqtt.Client:
        section = self.section
        tls = section.tls.context("mqtt.tls") if section.tls.enable else None
        return aiomqtt.Client(
            section.host,
            section.port,
            identifier=(section.client_id or default_client_id()) + "-api",
            username=section.username or None,
            password=section.password.get_secret_value() if section.password is not None else None,
            tls_context=tls,
            tls_insecure=not section.tls.verify if tls is not None else None,
            keepalive=section.keepalive_s,
        )

    async def _run(self) -> None:
        while True:
            try:
                async with self._make_client() as client:
                    if self.task_start_topic:
                        await client.subscribe(self.task_start_topic, qos=1)
                    self._client = client
                    log.info("api mqtt: connected to %s", self.address)
                    async for message in client.messages:
                        await self._on_message(message)
            except (aiomqtt.MqttError, OSError) as exc:
                log.warning("api mqtt: broker %s: %s; retrying in %.0f s", self.address, exc, self._retry_s)
            except CertificateError as exc:
                log.error("api mqtt: %s", exc)
                return
            finally:
                self._client = None
            await asyncio.sleep(self._retry_s)

    async def _on_message(self, message: aiomqtt.Message) -> None:
        if self.task_start_topic is None or not message.topic.matches(self.task_start_topic):
            return
        payload = message.payload
        raw = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload).encode()
        task_id = raw.decode("utf-8", "replace").strip()
        if not TASK_ID.match(task_id) or not self._allowed(task_id) or self._start_task is None:
            self.refused += 1
            log.warning("api mqtt: task start refused (not an allowed task id): %r", task_id[:100])
            return
        try:
            await self._start_task(task_id)
            self.started += 1
            log.info("api mqtt: started task %s", task_id)
        except QlikError as exc:
            self.refused += 1
            log.warning("api mqtt: starting task %s failed: %s", task_id, exc)
