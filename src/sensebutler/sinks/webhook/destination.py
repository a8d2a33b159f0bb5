"""The HTTP destination of the alert sinks (outgoing webhooks, Slack, Teams, Signl4).

Each record is one :class:`~sensebutler.sinks.webhook.request.HttpRequest`. Answers: 2xx delivered;
408, 429, 5xx, timeouts and network errors transient (retried, then spooled until the endpoint is
back); any other answer (400 bad payload, 403/404 a wrong or revoked webhook URL, a redirect) is
final: the record is dropped as ``rejected`` and the reason logged. Redirects are not followed,
because a webhook that moved should be configured at its new address.

One request at a time (``max_in_flight`` 1): alerts are few, and Slack and Teams show them in the
order they arrive. Within a batch every request is tried; when some fail transiently, the ones that
got an answer are remembered and not sent again when delivery retries the batch. A batch in which
some requests were delivered and others refused counts as delivered and logs the refusals (alert
sinks send batches of one record, so this happens only with a ``delivery.batch_size`` above 1).

Errors name the endpoint as ``scheme://host/…``: the rest of a webhook URL is often its secret.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Mapping

import httpx

from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.delivery import DeliveryError
from sensebutler.sinks.webhook.request import HttpRequest, describe
from sensebutler.tls import client_context

log = logging.getLogger(__name__)

_MAX_REMEMBERED = 10_000


class WebhookDestination:
    max_in_flight = 1

    def __init__(
        self,
        name: str,
        *,
        timeout_s: float = 10.0,
        tls: Mapping[str, ssl.SSLContext] | None = None,
    ) -> None:
        """``tls``: named client contexts that records may ask for; "" is the system trust store."""
        self.name = name
        self.timeout_s = timeout_s
        self._contexts = {"": client_context(name), **(tls or {})}
        self._clients: dict[str, httpx.AsyncClient] = {}
        #: digests of records of the batch being retried that already got a final answer
        self._answered: set[bytes] = set()
        self._refusals = RateLimitedLog(log, 60.0)

    async def open(self) -> None:
        for profile, context in self._contexts.items():
            self._clients[profile] = httpx.AsyncClient(
                verify=context, timeout=self.timeout_s, follow_redirects=False
            )

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def send(self, batch: list[bytes]) -> None:
        errors: list[DeliveryError] = []
        refused = 0
        for record in batch:
            digest = hashlib.sha256(record).digest()
            if digest in self._answered:
                continue
            try:
                await self.request(HttpRequest.unpack(record))
            except ValueError as exc:
                errors.append(DeliveryError(f"{self.name}: unreadable record: {exc}", transient=False))
                refused += 1
            except DeliveryError as exc:
                errors.append(exc)
                if exc.transient:
                    continue
                refused += 1
            self._answered.add(digest)
        transient = [error for error in errors if error.transient]
        if transient:
            if len(self._answered) > _MAX_REMEMBERED:
                self._answered.clear()
            more = f" (and {len(errors) - 1} more failed request(s))" if len(errors) > 1 else ""
            raise DeliveryError(f"{transient[0]}{more}")
        self._answered.clear()
        if refused and refused == len(batch):
            more = f" (and {refused - 1} more)" if refused > 1 else ""
            raise DeliveryError(f"{errors[0]}{more}", transient=False)
        for error in errors:
            self._refusals.log(
                logging.ERROR, "refused", "%s: request refused and dropped: %s", self.name, error
            )

    async def request(self, request: HttpRequest) -> None:
        """Send one request; :class:`DeliveryError` (transient or not) when it does not succeed."""
        where = f"{self.name}: {request.method} {describe(request.url)}"
        client = self._clients.get(request.tls)
        if client is None:
            if not self._clients:
                raise DeliveryError(f"{where}: send() before open()")
            raise DeliveryError(
                f"{where}: TLS settings {request.tls!r} are no longer configured", transient=False
            )
        headers = {"Content-Type": "application/json"} if request.body else {}
        try:
            response = await client.request(
                request.method, request.url, content=request.body or None, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"{where}: timed out after {self.timeout_s:g} s ({type(exc).__name__})"
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise DeliveryError(f"{where}: {exc}", transient=False) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"{where}: HTTP {status}"
        if 300 <= status < 400:
            detail += f", redirected to {describe(response.headers.get('location', ''))}: configure that URL"
        elif response.text:
            detail += f" {response.text[:200]!r}"
        raise DeliveryError(detail, transient=status in (408, 429) or status >= 500)


__all__ = ["WebhookDestination"]
