"""Task start over HTTP against the simulator's QRS: by id, tag, custom property, KV items, the allow
list, ``allTaskIdsMustExist`` and the synchronous start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensebutler.simulator import Simulator
from tests.api.support import KV_ONLY_KEY, api_config, client, running

UNKNOWN = "00000000-0000-4000-8000-000000000001"


def _task(sim: Simulator, name: str) -> Any:
    return next(t for t in sim.model.tasks.values() if t.name == name)


def _names(sim: Simulator, *, tag: str | None = None, cp: tuple[str, str] | None = None) -> set[str]:
    tasks = sim.model.tasks.values()
    if tag is not None:
        return {t.name for t in tasks if tag in [x.name for x in t.tags]}
    assert cp is not None
    return {
        t.name
        for t in tasks
        if any(v.definition.name == cp[0] and v.value == cp[1] for v in t.custom_properties)
    }


def _config(tmp_path: Path, sim: Simulator, **api: Any) -> dict[str, Any]:
    config = api_config(tmp_path, sim=sim, **api)
    config["api"]["endpoints"] = {**config["api"]["endpoints"], "sense_start_task": True}
    return config


async def test_start_by_id_tag_cp_and_kv(tmp_path: Path, simulator: Simulator) -> None:
    sandbox = _task(simulator, "Reload of Sandbox")
    body = [
        {"type": "starttaskid", "payload": {"taskId": sandbox.id}},
        {"type": "starttaskid", "payload": {"taskId": "abc"}},
        {"type": "starttasktag", "payload": {"tag": "Hourly"}},
        {
            "type": "starttaskcustomproperty",
            "payload": {"customPropertyName": "Criticality", "customPropertyValue": "Medium"},
        },
        {"type": "keyvaluestore", "payload": {"namespace": "ns1", "key": "k", "value": "v", "ttl": 0}},
    ]
    async with running(_config(tmp_path, simulator)) as runtime, client(runtime) as c:
        r = await c.put("/v4/reloadtask/-/start", json=body)
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["tasksId"]["started"] == [{"taskId": sandbox.id, "taskName": sandbox.name}]
        assert result["tasksId"]["invalid"] == [{"taskId": "abc"}]
        assert {t["taskName"] for t in result["tasksTag"]} == _names(simulator, tag="Hourly")
        assert {t["taskName"] for t in result["tasksCP"]} == _names(simulator, cp=("Criticality", "Medium"))
        assert result["tasksTag"] and result["tasksCP"]
        assert sandbox.session is not None or sandbox.last_result is not None
        kv = await c.get("/v4/keyvalues/ns1", params={"key": "k"})
        assert kv.json()["value"] == "v"


async def test_body_is_optional_and_post_works(tmp_path: Path, simulator: Simulator) -> None:
    sandbox = _task(simulator, "Reload of Sandbox")
    async with running(_config(tmp_path, simulator)) as runtime, client(runtime) as c:
        r = await c.post(f"/v4/reloadtask/{sandbox.id}/start")
        assert r.status_code == 200, r.text
        assert r.json()["tasksId"]["started"][0]["taskId"] == sandbox.id
        r = await c.put(f"/v4/reloadtask/{UNKNOWN}/start")
        assert r.json()["tasksId"] == {"started": [], "invalid": [{"taskId": UNKNOWN}], "denied": []}
        bad = await c.put("/v4/reloadtask/-/start", json=[{"type": "nonsense", "payload": {}}])
        assert bad.status_code == 400 and bad.json()["code"] == "FST_ERR_VALIDATION"
        assert (
            await c.put(f"/v4/reloadtask/{sandbox.id}/start", headers={"X-API-Key": KV_ONLY_KEY})
        ).status_code == 403


async def test_all_task_ids_must_exist(tmp_path: Path, simulator: Simulator) -> None:
    sandbox = _task(simulator, "Reload of Sandbox")
    body = [{"type": "starttaskid", "payload": {"taskId": UNKNOWN}}]
    async with running(_config(tmp_path, simulator)) as runtime, client(runtime) as c:
        r = await c.put(
            f"/v4/reloadtask/{sandbox.id}/start", params={"allTaskIdsMustExist": "true"}, json=body
        )
        assert r.json()["tasksId"] == {
            "started": [],
            "invalid": [{"taskId": UNKNOWN}],
            "denied": [{"taskId": sandbox.id}],
        }
        assert sandbox.session is None and sandbox.last_result is None


async def test_allow_list(tmp_path: Path, simulator: Simulator) -> None:
    sandbox = _task(simulator, "Reload of Sandbox")
    other = _task(simulator, "Reload of Call center")
    allow = {
        "filter": {
            "enable": True,
            "allow_task": {
                "task_id": [sandbox.id],
                "tag": ["Hourly"],
                "custom_property": [{"name": "Criticality", "value": "High"}],
            },
        }
    }
    body = [
        {"type": "starttaskid", "payload": {"taskId": other.id}},
        {"type": "starttasktag", "payload": {"tag": "Nightly"}},
        {"type": "starttasktag", "payload": {"tag": "Hourly"}},
        {
            "type": "starttaskcustomproperty",
            "payload": {"customPropertyName": "Criticality", "customPropertyValue": "Medium"},
        },
    ]
    before = other.last_result
    async with running(_config(tmp_path, simulator, start_task=allow)) as runtime, client(runtime) as c:
        result = (await c.put(f"/v4/reloadtask/{sandbox.id}/start", json=body)).json()
        assert [t["taskId"] for t in result["tasksId"]["started"]] == [sandbox.id]
        assert result["tasksId"]["denied"] == [{"taskId": other.id}]
        assert result["tasksTagDenied"] == [{"tag": "Nightly"}]
        assert {t["taskName"] for t in result["tasksTag"]} == _names(simulator, tag="Hourly")
        assert result["tasksCP"] == [] and result["tasksCPDenied"] == [
            {"name": "Criticality", "value": "Medium"}
        ]
        assert other.session is None and other.last_result is before


async def test_synchronous_start_waits_for_the_outcome(tmp_path: Path, simulator: Simulator) -> None:
    sandbox = _task(simulator, "Reload of Sandbox")
    settings = {"wait_poll_s": 0.2, "wait_timeout_s": 120}
    async with running(_config(tmp_path, simulator, start_task=settings)) as runtime, client(runtime) as c:
        r = await c.put(f"/v4/reloadtask/{sandbox.id}/start", params={"wait": "true"}, timeout=180)
        started = r.json()["tasksId"]["started"]
        assert started[0]["status"] == "FinishedSuccess" and started[0]["statusCode"] == 7
        assert started[0]["executionId"]
        assert sandbox.last_result is not None and sandbox.session is None


async def test_endpoint_off_is_404(tmp_path: Path, simulator: Simulator) -> None:
    async with running(api_config(tmp_path, sim=simulator)) as runtime, client(runtime) as c:
        assert (await c.put(f"/v4/reloadtask/{UNKNOWN}/start")).status_code == 404


async def test_butler_subs_qvs_calls(tmp_path: Path, simulator: Simulator) -> None:
    """StartTask / StartTask_KeyValue of butler_subs.qvs: POST with override, string TTLs, ``[]`` bodies."""
    sandbox = _task(simulator, "Reload of Sandbox")
    kv_item = {
        "type": "keyvaluestore",
        "payload": {"namespace": "ns", "key": "k", "value": "v", "ttl": "600000"},
    }
    bad_ttl = {
        "type": "keyvaluestore",
        "payload": {"namespace": "ns", "key": "k2", "value": "v", "ttl": "soon"},
    }
    override = {"X-HTTP-Method-Override": "PUT"}
    async with running(_config(tmp_path, simulator)) as runtime, client(runtime) as c:
        r = await c.post(f"/v4/reloadtask/{sandbox.id}/start", json=[kv_item, bad_ttl], headers=override)
        assert r.status_code == 200, r.text
        assert r.json()["tasksId"]["started"][0]["taskId"] == sandbox.id
        assert [i["key"] for i in r.json()["keyValueIgnored"]] == ["k2"]
        assert (await c.get("/v4/keyvalues/ns", params={"key": "k"})).json()["value"] == "v"
        r = await c.post(
            "/v4/reloadtask/-/start", content=b"[]", headers={**override, "Content-Type": "application/json"}
        )
        assert r.status_code == 200 and r.json()["tasksId"]["started"] == []
