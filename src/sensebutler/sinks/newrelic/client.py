"""The New Relic destination: posts each batch once per (API, account), gzip-compressed.

Status handling: 200/202 delivered; 401/403 a rejected key (logged loudly, dropped); other 4xx bad
data (dropped); 408/429/5xx and network errors transient (retried, then spooled).

When one account fails transiently and another accepted its part, the accepted parts are remembered
and skipped on the retry of the same batch, so that account does not receive them twice. With two
batches in flight, a batch that ends forgets only its own parts while the other is still being sent.
"""

from __future__ import annotations

import gzip
import hashlib
import logging

import httpx

from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.delivery import DeliveryError
from sensebutler.sinks.newrelic.config import NewRelicAccount, NewRelicSection
from sensebutler.sinks.newrelic.payloads import Api
from sensebutler.sinks.newrelic.records import unpack

log = logging.getLogger(__name__)

#: uncompressed JSON per request; New Relic takes up to 1 MB compressed per POST
MAX_BODY_BYTES = 1_000_000
_MAX_REMEMBERED = 10_000


def bodies(items: list[bytes]) -> list[bytes]:
    """JSON arrays of ``items``, each at most MAX_BODY_BYTES (unless one item alone is larger)."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 2
    for item in items:
        if current and size + len(item) + 1 > MAX_BODY_BYTES:
            chunks.append(b"[" + b",".join(current) + b"]")
            current, size = [], 2
        current.append(item)
        size += len(item) + 1
    if current:
        chunks.append(b"[" + b",".join(current) + b"]")
    return chunks


class NewRelicDestination:
    #: each record carries its own timestamp, so batches may arrive out of order
    max_in_flight = 2

    def __init__(self, section: NewRelicSection, name: str = "new_relic") -> None:
        self.name = name
        self.section = section
        self.accounts: dict[str, NewRelicAccount] = {account.name: account for account in section.accounts}
        self._client: httpx.AsyncClient | None = None
        self._delivered_parts: set[bytes] = set()
        self._sending = 0  # sends in flight
        self._key_errors = RateLimitedLog(log, 300.0)

    async def open(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.section.timeout_s, headers=self.section.headers)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def url(self, api: Api, account: NewRelicAccount) -> str:
        if api == "metric":
            return self.section.metric_url
        if api == "log":
            return self.section.log_url
        return f"{self.section.event_url.rstrip('/')}/v1/accounts/{account.account_id}/events"

    async def send(self, batch: list[bytes]) -> None:
        groups: dict[tuple[Api, str], list[bytes]] = {}
        try:
            for record in batch:
                api, name, item = unpack(record)
                groups.setdefault((api, name), []).append(item)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DeliveryError(f"unreadable record: {exc}", transient=False) from exc
        errors: list[DeliveryError] = []
        parts: list[bytes] = []
        self._sending += 1
        try:
            for (api, account_name), items in groups.items():
                account = self.accounts.get(account_name)
                if account is None:
                    errors.append(
                        DeliveryError(f"account {account_name!r} is not configured", transient=False)
                    )
                    continue
                for body in bodies(items):
                    part = hashlib.sha256(f"{api}\n{account_name}\n".encode() + body).digest()
                    parts.append(part)
                    if part in self._delivered_parts:
                        continue
                    try:
                        await self._post(api, account, body)
                    except DeliveryError as exc:
                        errors.append(exc)
                        continue
                    self._delivered_parts.add(part)
        finally:
            self._sending -= 1
        transient = [error for error in errors if error.transient]
        if not transient or len(self._delivered_parts) > _MAX_REMEMBERED:
            self._forget(parts)  # this batch will not be sent again
        if not errors:
            return
        first = (transient or errors)[0]
        more = f" (and {len(errors) - 1} more failed request(s))" if len(errors) > 1 else ""
        raise DeliveryError(f"{first}{more}", transient=bool(transient))

    def _forget(self, parts: list[bytes]) -> None:
        if self._sending == 0 or len(self._delivered_parts) > _MAX_REMEMBERED:
            self._delivered_parts.clear()  # also parts of batches that went to the spool
        else:
            self._delivered_parts.difference_update(parts)  # another batch's retry still needs its own

    async def _post(self, api: Api, account: NewRelicAccount, body: bytes) -> None:
        assert self._client is not None, "send() before open()"
        url = self.url(api, account)
        where = f"New Relic {api} API for account {account.name!r}"
        headers = {
            "Api-Key": account.insert_api_key.get_secret_value(),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        try:
            response = await self._client.post(url, content=gzip.compress(body, 5), headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{where}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status in (200, 202):
            return
        detail = f"{where}: HTTP {status} {response.text[:200]!r}"
        if status in (401, 403):
            self._key_errors.log(
                logging.ERROR,
                account.name,
                "%s: New Relic refused the insert key of account %r (HTTP %d); "
                "nothing reaches that account until the key is fixed",
                self.name,
                account.name,
                status,
            )
            raise DeliveryError(detail, transient=False)
        raise DeliveryError(detail, transient=status in (408, 429) or status >= 500)
