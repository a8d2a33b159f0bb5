"""The dashboard app over a real store: refused without a key, pages and their data with one."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from sensebutler.api.config import ApiSection
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.sinks.store.config import StoreSection
from sensebutler.sinks.store.records import SUPPORTED_KINDS
from sensebutler.sinks.store.sink import StoreSink
from sensebutler.web.dashboard.access import COOKIE, DashboardAccess
from sensebutler.web.dashboard.app import Dashboard
from sensebutler.web.dashboard.queries import PAGES
from sensebutler.web.dashboard.reader import DataSource
from tests.fixtures.net import async_wait_until
from tests.sinks.output_events import health, server

KEY = "k" * 32


async def test_pages_need_a_key_and_show_the_store(tmp_path: Path) -> None:
    sink = StoreSink(
        SUPPORTED_KINDS, StoreSection(), tmp_path / "s.sqlite", DeliveryConfig(flush_interval_s=0.05), None
    )
    await sink.start()
    now = time.time_ns()
    sink.submit(health(server("central"), time_ns=now - 10**9))
    await async_wait_until(lambda: sink.stats().delivered > 0, 30, "the sample in the store")
    api = ApiSection.model_validate({"keys": [{"name": "ops", "key": KEY}]})
    dashboard = Dashboard(DataSource("store", sink.reader), DashboardAccess(api), 1.0)
    transport = httpx.ASGITransport(app=dashboard.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        refused = await client.get("/site")
        assert refused.status_code == 401 and "API key" in refused.text
        assert (await client.get("/data/site")).status_code == 401
        wrong = await client.post("/login", data={"key": "nope"})
        assert wrong.status_code == 401
        signed_in = await client.get("/login", params={"key": KEY})
        assert signed_in.status_code == 303 and signed_in.cookies.get(COOKIE) == KEY
        client.cookies.set(COOKIE, KEY)
        for page in PAGES:
            assert (await client.get(f"/{page}")).status_code == 200, page
            data = (await client.get(f"/data/{page}", params={"range": "15m"})).json()
            assert data["page"] == page
        site = (await client.get("/data/site", params={"range": "15m"})).json()
        memory = next(c for c in site["charts"] if c["title"] == "Memory allocated")
        assert list(memory["series"]) == ["central"] and memory["series"]["central"][0][1] == 12288.25
    await sink.stop()
