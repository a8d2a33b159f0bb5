"""Writing line protocol to InfluxDB 1.x, 2.x or 3.x over one pooled HTTP client.

Write APIs (all with nanosecond timestamps):

* v1 ``POST /write?db=&rp=&precision=ns``, basic authentication when a user name is configured;
  with ``create_database`` the database and retention policy are created through ``/query``;
* v2 ``POST /api/v2/write?org=&bucket=&precision=ns``, ``Authorization: Token …``;
* v3 ``POST /api/v3/write_lp?db=&precision=nanosecond``, ``Authorization: Bearer …``.

Answers map onto the delivery pipeline: 2xx delivered; 400 (bad or partially bad points),
401/403 (credentials) and other 4xx are not retried — the batch is dropped and counted; 404
(database or bucket missing) is retried and spooled, because creating it fixes it without data
loss; 429, 5xx, timeouts and connection errors are retried and spooled.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.delivery import DeliveryError
from sensebutler.runtime import StartupError
from sensebutler.sinks.influxdb.config import InfluxDbSection

log = logging.getLogger(__name__)

_ERROR_TEXT_MAX = 500


@dataclass(frozen=True)
class WriteRequest:
    """Where and how one version's writes go (secrets live only in ``headers``/``auth``)."""

    path: str
    params: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None


def write_request(config: InfluxDbSection) -> WriteRequest:
    if config.version == 2:
        token = config.v2.token.get_secret_value() if config.v2.token else ""
        return WriteRequest(
            "/api/v2/write",
            {"org": config.v2.org, "bucket": config.v2.bucket, "precision": "ns"},
            {"Authorization": f"Token {token}"},
        )
    if config.version == 3:
        headers = {}
        if config.v3.token is not None and config.v3.token.get_secret_value():
            headers["Authorization"] = f"Bearer {config.v3.token.get_secret_value()}"
        return WriteRequest(
            "/api/v3/write_lp", {"db": config.v3.database, "precision": "nanosecond"}, headers
        )
    v1 = config.v1
    params = {"db": v1.database, "precision": "ns"}
    if v1.retention_policy.name:
        params["rp"] = v1.retention_policy.name
    password = v1.password.get_secret_value() if v1.password else ""
    return WriteRequest("/write", params, auth=(v1.username, password) if v1.username else None)


def display_url(url: str) -> str:
    """The URL without any user info, for logs."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def error_text(response: httpx.Response) -> str:
    """InfluxDB's own explanation from an error answer (v1 ``error``, v2 ``message``), shortened."""
    text = response.text.strip()
    try:
        body: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("error") or text)
    return text[:_ERROR_TEXT_MAX] or response.reason_phrase


#: what a finished response's ``stream`` is replaced with (see :func:`release`)
_NO_STREAM = httpx.ByteStream(b"")


def release(response: httpx.Response) -> None:
    """Let reference counting free a finished request and its body at once.

    httpx's response and its stream refer to each other, and through them the request with its
    body (~0.5 MB for a batch of 1,000 points) waited for a full cyclic collection: at 20,000
    points/s that was 10-15 MB of old bodies. The answer has been read (``post`` reads it), so
    the stream is no longer needed; without it nothing refers back to the response.
    """
    response.stream = _NO_STREAM


def influxql_identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InfluxDestination:
    """The ``Destination`` of the InfluxDB sink."""

    #: influxd parses one write request on about one core: two requests in flight keep it busy
    max_in_flight = 2

    def __init__(self, config: InfluxDbSection, ssl_context: ssl.SSLContext | None = None) -> None:
        self.name = "influxdb"
        self.config = config
        self.request = write_request(config)
        self.url = display_url(config.url)
        self._ssl_context = ssl_context
        self._client: httpx.AsyncClient | None = None
        #: v1 database/retention policy still to be created (InfluxDB was unreachable at startup)
        self._bootstrap_pending = config.version == 1 and config.v1.create_database
        self._bootstrap_lock = asyncio.Lock()  # concurrent sends create the database once
        self._loud = RateLimitedLog(log, 60.0)

    async def open(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.config.url,
            timeout=self.config.timeout_s,
            verify=self._ssl_context if self._ssl_context is not None else True,
            auth=self.request.auth,
            headers=self.request.headers,
            trust_env=False,
        )
        if self._bootstrap_pending:
            try:
                await self._bootstrap()
            except StartupError:
                await self.close()
                raise
            except DeliveryError as exc:
                log.warning(
                    "influxdb: cannot reach %s to check database %r (%s); data is kept in the spool "
                    "until it is reachable",
                    self.url,
                    self.config.v1.database,
                    exc,
                )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, batch: list[bytes]) -> None:
        if self._client is None:
            raise DeliveryError("influxdb: not open")
        if self._bootstrap_pending:
            async with self._bootstrap_lock:
                if self._bootstrap_pending:
                    await self._bootstrap(at_startup=False)
        response = await self._post(b"\n".join(batch))
        try:
            self._check_write(response)
        finally:
            release(response)

    async def _post(self, body: bytes) -> httpx.Response:
        assert self._client is not None
        try:
            return await self._client.post(self.request.path, params=self.request.params, content=body)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{self.url} timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.url} unreachable: {type(exc).__name__}: {exc}") from exc

    # -- answers ---------------------------------------------------------------------------------
    def _check_write(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        text = error_text(response)
        if status in (401, 403):
            self._loud.log(
                logging.ERROR,
                "auth",
                "influxdb: %s refused the write with %d (%s): check the credentials of version %d "
                "and their write permission; the data is dropped",
                self.url,
                status,
                text,
                self.config.version,
            )
            raise DeliveryError(f"{status} from InfluxDB: {text}", transient=False)
        if status == 404:
            self._loud.log(
                logging.ERROR,
                "missing",
                "influxdb: %s answered 404 (%s): the database/bucket does not exist; data is kept in "
                "the spool until it does",
                self.url,
                text,
            )
            raise DeliveryError(f"404 from InfluxDB: {text}")
        if status == 429 or status >= 500:
            raise DeliveryError(f"{status} from InfluxDB: {text}")
        if 300 <= status < 400:
            self._loud.log(
                logging.ERROR,
                "redirect",
                "influxdb: %s answered %d (redirect to %s): fix influxdb.url; data is kept in the spool",
                self.url,
                status,
                response.headers.get("location", "?"),
            )
            raise DeliveryError(f"{status} redirect from InfluxDB")
        if status == 413:
            text += " (lower delivery.batch_size for this sink)"
        raise DeliveryError(f"{status} from InfluxDB, batch rejected: {text}", transient=False)

    # -- v1 bootstrap ------------------------------------------------------------------------------
    async def _bootstrap(self, *, at_startup: bool = True) -> None:
        """Create the v1 database and retention policy if missing (idempotent).

        Unreachable / 5xx → DeliveryError (retried later); refused credentials or a statement
        InfluxDB rejects → StartupError at startup, an error log later (writes then fail visibly).
        """
        v1 = self.config.v1
        database = influxql_identifier(v1.database)
        try:
            await self._query(f"CREATE DATABASE {database}")
            policy = v1.retention_policy
            if policy.name:
                existing = await self._query(f"SHOW RETENTION POLICIES ON {database}")
                names = {row[0] for row in _first_series_values(existing)}
                if policy.name in names:
                    log.info(
                        "influxdb: retention policy %r exists on %r; left as it is", policy.name, v1.database
                    )
                else:
                    await self._query(
                        f"CREATE RETENTION POLICY {influxql_identifier(policy.name)} ON {database} "
                        f"DURATION {policy.duration} REPLICATION 1 DEFAULT"
                    )
                    log.info(
                        "influxdb: created retention policy %r (%s) on %r as its default",
                        policy.name,
                        policy.duration,
                        v1.database,
                    )
        except _Refused as exc:
            self._bootstrap_pending = False
            message = f"influxdb: cannot create database {v1.database!r} on {self.url}: {exc}"
            if at_startup:
                raise StartupError(message) from exc
            log.error("%s", message)
            return
        self._bootstrap_pending = False

    async def _query(self, statement: str) -> dict[str, Any]:
        assert self._client is not None
        try:
            response = await self._client.post("/query", data={"q": statement})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status in (401, 403):
            raise _Refused(
                f"{status} {error_text(response)} (set influxdb.v1.create_database: false "
                "if the database exists and this user may only write)"
            )
        if status == 429 or status >= 500:
            raise DeliveryError(f"{status} {error_text(response)}")
        if status != 200:
            raise _Refused(f"{status} {error_text(response)}")
        try:
            payload: dict[str, Any] = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise _Refused(f"unexpected answer to a query: {response.text[:_ERROR_TEXT_MAX]!r}") from None
        errors = [result["error"] for result in payload.get("results", []) if "error" in result]
        if errors:
            raise _Refused("; ".join(errors))
        return payload


class _Refused(Exception):
    """InfluxDB understood the bootstrap statement and said no."""


def _first_series_values(payload: dict[str, Any]) -> list[list[Any]]:
    for result in payload.get("results", []):
        for series in result.get("series", []):
            values: list[list[Any]] = series.get("values") or []
            return values
    return []


__all__ = ["InfluxDestination", "WriteRequest", "display_url", "error_text", "write_request"]
