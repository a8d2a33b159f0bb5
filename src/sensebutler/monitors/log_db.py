"""The legacy log database (Sense releases before late 2021): new rows of ``public.log_entries``.

Each check reads rows with an ``id`` above the last one read, of the configured levels, oldest
first, at most ``batch`` per check, and publishes a :class:`LogDbEntry` per row. The last id is
kept in ``state.dir`` (``log_db.json``, per database) and written after each batch is published, so
a restart reads on where it stopped and no row arrives twice (Butler SOS re-read a fixed period and
wrote duplicates). The very first check, with nothing remembered, reads the rows of the last
``frequency`` interval (at least a minute).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from sensebutler.config.qlik import ServerConfig
from sensebutler.events import Event
from sensebutler.events.monitors import LogDbEntry
from sensebutler.events.polled import ServerRef
from sensebutler.monitors.config import LogDbConfig
from sensebutler.monitors.frequency import parse_frequency
from sensebutler.monitors.schedule import Check
from sensebutler.sources.polling.servers import server_ref

log = logging.getLogger(__name__)

_COLUMNS = "id, entry_timestamp, entry_level, process_host, process_name, payload"
_AFTER_ID = (
    f"SELECT {_COLUMNS} FROM public.log_entries WHERE id > $1 AND entry_level = ANY($2::text[]) "
    "ORDER BY id LIMIT $3"
)
_SINCE = (
    f"SELECT {_COLUMNS} FROM public.log_entries "
    "WHERE entry_timestamp >= $1 AND entry_level = ANY($2::text[]) ORDER BY id LIMIT $3"
)


def message_of(payload: Any) -> str:
    """``payload.Message`` (payload as json/jsonb/text); the raw text when it is not a JSON object."""
    if isinstance(payload, str | bytes):
        try:
            payload = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    if isinstance(payload, dict):
        value = payload.get("Message", payload.get("message", ""))
        return value if isinstance(value, str) else json.dumps(value)
    return "" if payload is None else str(payload)


class LastIds:
    """``state.dir/log_db.json``: database → last id read; written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, key: str) -> int | None:
        try:
            value = json.loads(self.path.read_text()).get(key)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("log database: cannot read %s (%s); starting from recent rows", self.path, exc)
            return None
        return value if isinstance(value, int) else None

    def put(self, key: str, value: int) -> None:
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data[key] = value
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2))
        os.replace(temporary, self.path)


class LogDbMonitor(Check):
    name = "log_db"

    def __init__(self, config: LogDbConfig, servers: Sequence[ServerConfig], state_dir: Path) -> None:
        self.config = config
        self.frequency = parse_frequency(config.frequency)
        self.timeout_s = config.timeout_s
        self.key = f"{config.host}:{config.port}/{config.database}"
        self.last_ids = LastIds(state_dir / "log_db.json")
        self.last_id = self.last_ids.get(self.key)
        self.read = 0
        self._servers: dict[str, ServerRef] = {}
        for server in servers:
            ref = server_ref(server)
            for name in (server.name, server.host, server.host.split(".")[0]):
                self._servers.setdefault(name.casefold(), ref)
        self._connection: asyncpg.Connection | None = None

    async def _connect(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            password = self.config.password.get_secret_value() if self.config.password else None
            self._connection = await asyncpg.connect(
                host=self.config.host,
                port=self.config.port,
                user=self.config.user,
                password=password,
                database=self.config.database,
                ssl=self.config.ssl,
                timeout=self.timeout_s,
            )
        return self._connection

    async def check(self) -> Sequence[Event]:
        connection = await self._connect()
        levels = list(self.config.levels)
        try:
            if self.last_id is None:
                lookback = max(60.0, self.frequency.interval_s or 60.0)
                since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=lookback)
                rows = await connection.fetch(_SINCE, since, levels, self.config.batch)
            else:
                rows = await connection.fetch(_AFTER_ID, self.last_id, levels, self.config.batch)
        except (asyncpg.PostgresError, OSError):
            await self.close()
            raise
        events = [self._event(row) for row in rows]
        if rows:
            self.last_id = max(int(row["id"]) for row in rows)
            self.read += len(rows)
        return events

    def remember(self) -> None:
        """Store the last id read; called by the runner once the check's events are published."""
        if self.last_id is not None:
            self.last_ids.put(self.key, self.last_id)

    def _event(self, row: asyncpg.Record) -> LogDbEntry:
        timestamp = row["entry_timestamp"]
        if isinstance(timestamp, datetime):
            aware = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
            time_ns = int(aware.timestamp() * 1e9)
        else:
            time_ns = int(datetime.now(UTC).timestamp() * 1e9)
        host = str(row["process_host"] or "")
        return LogDbEntry(
            time_ns=time_ns,
            id=int(row["id"]),
            host=host,
            process=str(row["process_name"] or ""),
            level=str(row["entry_level"] or ""),
            message=message_of(row["payload"]),
            server=self._servers.get(host.casefold()) or self._servers.get(host.split(".")[0].casefold()),
        )

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.close(timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                connection.terminate()
