"""The API state page: what load scripts put in the KV store and the schedules, read from the state
backend of a running service (API, scheduler and dashboard on), values never shown."""

from __future__ import annotations

from pathlib import Path

from sensebutler.config import Config
from tests.api.support import ADMIN_KEY, api_config, client, eventually
from tests.fixtures.service import running

SECRET = "s3cret-token-value"


async def test_api_state_page_lists_namespaces_keys_and_schedules(tmp_path: Path) -> None:
    config = Config.model_validate(api_config(tmp_path) | {"store": {"enable": False}})
    async with running(config) as runtime, client(runtime) as c:
        assert (await c.post("/v4/keyvalues/etl", json={"key": "token", "value": SECRET})).status_code == 201
        assert (await c.post("/v4/keyvalues/etl", json={"key": "last_run", "value": "x"})).status_code == 201
        schedule = {
            "name": "Nightly sales",
            "cronSchedule": "0 2 * * *",
            "timezone": "Europe/Stockholm",
            "qlikSenseTaskId": "0fe2ef2d-8ea6-4e4b-8a7a-c8ffb1bc3a3c",
            "startupState": "started",
        }
        assert (await c.post("/v4/schedules", json=schedule)).status_code == 201

        assert (await c.get("/dashboard/data/api", headers={"X-API-Key": ""})).status_code == 401
        c.cookies.set("sensebutler_key", ADMIN_KEY)

        async def page() -> dict[str, object] | None:
            r = await c.get("/dashboard/data/api")
            return r.json() if r.status_code == 200 else None

        data = await eventually(page, what="the API state page")
        assert data["namespaces"] == [["etl", 2, "last_run, token"]]
        name, cron, zone, state, next_run, task = data["schedules"][0]
        assert (name, cron, zone, state) == ("Nightly sales", "0 2 * * *", "Europe/Stockholm", "started")
        assert next_run.endswith("+00:00") and task == schedule["qlikSenseTaskId"]
        assert data["off"] == [] and SECRET not in (await c.get("/dashboard/data/api")).text
        searched = (await c.get("/dashboard/data/api", params={"q": "nothing-like-this"})).json()
        assert searched["namespaces"] == [] and searched["schedules"] == []
