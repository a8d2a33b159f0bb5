"""The New Relic event and metric passthrough over HTTP, to a local receiver standing in for New Relic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sensebutler.runtime import StartupError
from tests.api.support import api_config, client, running
from tests.fixtures.servers import HttpReceiver

SWITCHES = {"new_relic_event": True, "new_relic_metric": True}


def _config(tmp_path: Path, receiver: HttpReceiver, **passthrough: Any) -> dict[str, Any]:
    config = api_config(
        tmp_path,
        new_relic=passthrough
        or {
            "event_accounts": ["Prod", "Test"],
            "event_static_attributes": {"env": "prod"},
            "metric_accounts": ["Prod"],
            "metric_static_attributes": {"service": "etl"},
        },
    )
    config["api"]["endpoints"] = {**config["api"]["endpoints"], **SWITCHES}
    config["new_relic"] = {
        "accounts": [
            {"name": "Prod", "account_id": 1234, "insert_api_key": "prod-insert-key"},
            {"name": "Test", "account_id": 5678, "insert_api_key": "test-insert-key"},
        ],
        "event_url": receiver.url,
        "metric_url": receiver.url + "/metric/v1",
    }
    return config


async def test_event_goes_to_every_event_account(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    body = {
        "eventType": "relead-failed",
        "timestamp": 1642164296053,
        "attributes": [{"name": "host.name", "value": "dev"}],
    }
    async with running(_config(tmp_path, http_receiver)) as runtime, client(runtime) as c:
        r = await c.post("/v4/newrelic/event", json=body)
        assert r.status_code == 202, r.text
        assert [a["account"] for a in r.json()["accounts"]] == ["Prod", "Test"]
        prod = (await http_receiver.wait_for(1, path="/v1/accounts/1234/events", timeout=30))[0]
        assert prod.headers["api-key"] == "prod-insert-key"
        assert prod.json() == {
            "timestamp": 1642164296053,
            "eventType": "relead-failed",
            "env": "prod",
            "host.name": "dev",
        }
        test = (await http_receiver.wait_for(1, path="/v1/accounts/5678/events", timeout=30))[0]
        assert test.headers["api-key"] == "test-insert-key"

        http_receiver.respond("/v1/accounts/5678/events", 403)
        r = await c.post("/v4/newrelic/event", json=body)
        assert r.status_code == 502 and "Test" in r.json()["message"]
        assert (await c.post("/v4/newrelic/event", json={"attributes": []})).status_code == 400


async def test_metric(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    body = {
        "name": "qvd.rows",
        "type": "gauge",
        "value": 42.5,
        "attributes": [{"name": "table", "value": "sales"}],
    }
    async with running(_config(tmp_path, http_receiver)) as runtime, client(runtime) as c:
        r = await c.post("/v4/newrelic/metric", json=body)
        assert r.status_code == 202, r.text
        sent = (await http_receiver.wait_for(1, path="/metric/v1", timeout=30))[0].json()
        assert sent[0]["metrics"] == [{"name": "qvd.rows", "type": "gauge", "value": 42.5}]
        assert sent[0]["common"]["attributes"] == {"service": "etl", "table": "sales"}
        assert sent[0]["common"]["timestamp"] > 0
        assert (await c.post("/v4/newrelic/metric", json={**body, "type": "count"})).status_code == 400


async def test_unknown_account_stops_startup(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    with pytest.raises(StartupError, match="Nope"):
        async with running(_config(tmp_path, http_receiver, event_accounts=["Nope"])):
            pass
