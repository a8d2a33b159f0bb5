"""The embedded store sink: events → records → batches through the shared delivery → SQLite.

``build(runtime)`` gives one :class:`StoreSink` named ``store`` while ``store.enable`` is on (the
default). Its writes run on one writer thread; the dashboard reads through :attr:`StoreSink.reader`,
another thread with its own connection, so the event loop never waits on the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from sensebutler.config.delivery import DeliveryConfig
from sensebutler.events import Event
from sensebutler.pipeline.delivery import DeliveryError, Refused
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import DeliverySink, Sink, kinds_for
from sensebutler.sinks.store.config import StoreSection
from sensebutler.sinks.store.records import SUPPORTED_KINDS, StoreMapping
from sensebutler.sinks.store.storage import HOUR_NS, MaintenanceResult, Retention, Storage

log = logging.getLogger(__name__)

SINK_NAME = "store"
T = TypeVar("T")


class StoreThread:
    """One :class:`Storage` on its own thread: every call runs there, in order."""

    def __init__(self, storage: Storage, name: str) -> None:
        self.storage = storage
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, call: Callable[[Storage], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call, self.storage)

    async def open(self) -> None:
        await self.run(Storage.open)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.run(Storage.close)
        self._thread.shutdown(wait=False)


class StoreDestination:
    """Writes batches into the store file. Only a failing file (disk full, I/O error) fails a
    send; that is transient, so the batch waits in the delivery spool. Records the file cannot
    read are refused (dropped ``bad_record``) and the rest of the batch is delivered."""

    name = SINK_NAME
    max_in_flight = 1

    def __init__(self, writer: StoreThread) -> None:
        self.writer = writer

    async def open(self) -> None:
        try:
            await self.writer.open()
        except (OSError, sqlite3.Error) as exc:
            raise StartupError(f"store: cannot open {self.writer.storage.path}: {exc}") from exc

    async def send(self, batch: list[bytes]) -> Refused | None:
        try:
            result = await self.writer.run(lambda storage: storage.write(batch))
        except (OSError, sqlite3.Error) as exc:
            raise DeliveryError(f"store {self.writer.storage.path}: {exc}") from exc
        return Refused(result.rejected, "bad_record") if result.rejected else None

    async def close(self) -> None:
        await self.writer.close()


class StoreSink(DeliverySink):
    def __init__(
        self,
        kinds: Iterable[str],
        section: StoreSection,
        path: Path,
        delivery: DeliveryConfig,
        spool_dir: Path | None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        retention = Retention(
            raw_ns=int(section.raw_hours * HOUR_NS),
            minute_ns=int(section.minute_days * 24 * HOUR_NS),
            hour_ns=int(section.hour_days * 24 * HOUR_NS),
        )
        max_bytes = int(section.max_mb * 1024 * 1024)
        self.path = path
        self.section = section
        writer = StoreThread(Storage(path, retention, max_bytes, clock), "store-writer")
        #: the dashboard's queries run here, beside the writes (WAL: readers never wait)
        self.reader = StoreThread(Storage(path, retention, max_bytes, clock), "store-reader")
        super().__init__(SINK_NAME, kinds, StoreDestination(writer), delivery, spool_dir)
        self.writer = writer
        self.mapping = StoreMapping()
        self.last_maintenance: MaintenanceResult | None = None
        self._maintenance: asyncio.Task[None] | None = None

    def encode(self, event: Event) -> list[bytes]:
        return self.mapping.encode(event)

    async def start(self) -> None:
        await super().start()
        try:
            await self.reader.open()
        except (OSError, sqlite3.Error) as exc:
            raise StartupError(f"store: cannot read {self.path}: {exc}") from exc
        await self.maintain()
        self._maintenance = asyncio.create_task(self._maintain_every(), name="store:maintenance")

    async def stop(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        await super().stop()
        await self.reader.close()

    async def maintain(self) -> MaintenanceResult | None:
        """Retention and the size bound now (also every ``maintenance_interval_s``)."""
        try:
            result = await self.writer.run(Storage.maintain)
        except (OSError, sqlite3.Error) as exc:
            log.error("store: retention/size pass on %s failed: %s", self.path, exc)
            return None
        if result.deleted_for_size:
            log.warning(
                "store: %d old row(s) given up to keep %s under %s MB",
                result.deleted_for_size,
                self.path,
                self.section.max_mb,
            )
        self.last_maintenance = result
        return result

    async def _maintain_every(self) -> None:
        while True:
            await asyncio.sleep(self.section.maintenance_interval_s)
            await self.maintain()


def store_path(runtime: Runtime) -> Path:
    section = runtime.config.store
    return Path(section.file) if section.file else runtime.state_dir / "store.sqlite"


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.store
    if not section.enable:
        return []
    try:
        kinds = kinds_for(SINK_NAME, section.events, SUPPORTED_KINDS)
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    delivery = section.delivery or runtime.config.delivery
    return [StoreSink(kinds, section, store_path(runtime), delivery, runtime.state_dir / "spool")]


def find_store(runtime: Runtime) -> StoreSink | None:
    """The running store sink, for the dashboard (None while the store is off)."""
    return next((sink for sink in runtime.router.sinks if isinstance(sink, StoreSink)), None)


__all__ = ["SINK_NAME", "StoreSink", "build", "find_store", "store_path"]
