"""``/v4/newrelic/event`` and ``/v4/newrelic/metric``: data from a load script, posted to New Relic's
Event and Metric APIs for each configured account (butler.md §1.3)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from sensebutler.api.config import NewRelicPassthrough
from sensebutler.sinks.newrelic.config import NewRelicAccount, NewRelicSection

log = logging.getLogger(__name__)


class UnknownAccounts(ValueError):
    """``api.new_relic`` names accounts ``new_relic.accounts`` does not have (a startup error)."""


@dataclass
class Delivery:
    account: str
    status: int | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class NewRelicPassthroughService:
    def __init__(self, section: NewRelicSection, settings: NewRelicPassthrough) -> None:
        self.section = section
        self.settings = settings
        known = {account.name: account for account in section.accounts}
        unknown = [n for n in settings.event_accounts + settings.metric_accounts if n not in known]
        if unknown:
            raise UnknownAccounts(
                f"api.new_relic names unknown account(s) {', '.join(unknown)}; "
                f"new_relic.accounts has: {', '.join(known) or 'none'}"
            )
        self.event_accounts = [known[n] for n in settings.event_accounts]
        self.metric_accounts = [known[n] for n in settings.metric_accounts]

    async def event(
        self, event_type: str, timestamp: int | None, attributes: dict[str, Any]
    ) -> list[Delivery]:
        body = {
            "timestamp": timestamp if timestamp and timestamp > 0 else int(time.time() * 1000),
            "eventType": event_type,
            **self.settings.event_static_attributes,
            **attributes,
        }
        base = self.section.event_url.rstrip("/")
        return [
            await self._post(f"{base}/v1/accounts/{account.account_id}/events", account, body)
            for account in self.event_accounts
        ]

    async def metric(
        self,
        name: str,
        kind: str,
        value: float,
        timestamp: int | None,
        interval_ms: int | None,
        attributes: dict[str, Any],
    ) -> list[Delivery]:
        common: dict[str, Any] = {
            "timestamp": timestamp if timestamp and timestamp > 0 else int(time.time() * 1000),
            "attributes": {**self.settings.metric_static_attributes, **attributes},
        }
        if interval_ms is not None:
            common["interval.ms"] = interval_ms
        body = [{"common": common, "metrics": [{"name": name, "type": kind, "value": value}]}]
        return [await self._post(self.section.metric_url, account, body) for account in self.metric_accounts]

    async def _post(self, url: str, account: NewRelicAccount, body: Any) -> Delivery:
        headers = {**self.section.headers, "Api-Key": account.insert_api_key.get_secret_value()}
        try:
            async with httpx.AsyncClient(timeout=self.section.timeout_s, trust_env=False) as http:
                answer = await http.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("New Relic account %s: %s", account.name, type(exc).__name__)
            return Delivery(account.name, None, f"not reachable: {type(exc).__name__}")
        if answer.status_code >= 300:
            log.warning("New Relic account %s answered %s", account.name, answer.status_code)
        return Delivery(account.name, answer.status_code, answer.text[:200])
