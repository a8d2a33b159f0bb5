"""App operations over HTTP, through the simulator's QIX websocket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensebutler.simulator import Simulator
from tests.api.support import KV_ONLY_KEY, api_config, client, eventually, running

SWITCHES = {"sense_list_apps": True, "sense_app_reload": True, "sense_app_dump": True}


def _config(tmp_path: Path, sim: Simulator) -> dict[str, Any]:
    config = api_config(tmp_path, sim=sim)
    config["api"]["endpoints"] = {**config["api"]["endpoints"], **SWITCHES}
    config["api"]["engine"] = {"port": sim.info.nodes[0].engine_port, "timeout_s": 60}
    return config


async def test_list_reload_and_dump(tmp_path: Path, simulator: Simulator) -> None:
    simulator.app_reloads.duration = 0.05
    apps = list(simulator.model.apps.values())
    app, other = apps[0], apps[1]
    task = next(t for t in simulator.model.tasks.values() if t.name == "Reload of Sandbox")
    async with running(_config(tmp_path, simulator)) as runtime, client(runtime) as c:
        for path in ("/v4/apps/list", "/v4/senselistapps"):
            r = await c.get(path)
            assert r.status_code == 200, r.text
            assert {(a["id"], a["name"]) for a in r.json()} == {(a.id, a.name) for a in apps}

        reloads = len(simulator.model.app_reloads)
        body = {"reloadMode": 0, "partialReload": True, "startQSEoWTaskOnSuccess": [task.id]}
        r = await c.put(f"/v4/app/{app.id}/reload", json=body)
        assert r.status_code == 201 and r.json() == {"appId": app.id}

        async def reloaded() -> bool:
            return len(simulator.model.app_reloads) > reloads and task.last_result is not None

        await eventually(reloaded, what="the app reload and the task started after it")
        assert simulator.model.app_reloads[-1].partial

        # method override, no body, and waiting for the outcome
        r = await c.post(
            f"/v4/app/{other.id}/reload", params={"wait": "true"}, headers={"X-HTTP-Method-Override": "PUT"}
        )
        assert r.status_code == 201 and r.json() == {
            "appId": other.id,
            "success": True,
            "tasksStarted": [],
            "tasksFailed": [],
        }

        for path in (f"/v4/app/{app.id}/dump", f"/v4/senseappdump/{app.id}"):
            dump = (await c.get(path)).json()
            assert dump["appId"] == app.id and dump["properties"]["qTitle"] == app.name
            assert dump["sheets"] and "loadScript" in dump

        missing = await c.get("/v4/app/00000000-0000-4000-8000-000000000009/dump")
        assert missing.status_code == 404 and missing.json()["statusCode"] == 404
        assert (await c.get("/v4/apps/list", headers={"X-API-Key": KV_ONLY_KEY})).status_code == 403


async def test_app_endpoints_off_are_404(tmp_path: Path, simulator: Simulator) -> None:
    async with running(api_config(tmp_path, sim=simulator)) as runtime, client(runtime) as c:
        assert (await c.get("/v4/apps/list")).status_code == 404
