"""The scheduler over HTTP: Butler's examples, invalid input, the schedule file, restarts, firing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from sensebutler.runtime import Runtime
from sensebutler.simulator import Simulator
from tests.api.support import api_config, client, eventually, running

COMPAT = Path(__file__).resolve().parents[2] / ".." / "shared" / "compat" / "butler"
SPEC = {
    "name": "Reload sales metrics",
    "cronSchedule": "0,30 6 * * 1-5",
    "timezone": "Europe/Stockholm",
    "qlikSenseTaskId": "210832b5-6174-4572-bd19-3e61eda675ef",
    "startupState": "started",
    "tags": ["tag 1", "tag 2"],
}


async def test_butler_examples(api: Runtime, tmp_path: Path) -> None:
    async with client(api) as c:
        r = await c.post("/v4/schedules", json=SPEC)
        assert r.status_code == 201
        created = r.json()
        assert {k: created[k] for k in SPEC} == SPEC
        assert created["lastKnownState"] == "started" and created["id"] and created["created"].endswith("Z")
        sid = created["id"]

        assert (await c.get("/v4/schedules", params={"id": sid})).json() == [created]
        r = await c.get("/v4/schedules", params={"id": "nope"})
        assert r.status_code == 400 and r.json()["message"] == "Schedule ID nope not found."

        r = await c.put(f"/v4/schedules/{sid}/stop")
        assert r.status_code == 200 and r.json() == [{**created, "lastKnownState": "stopped"}]
        r = await c.put("/v4/schedules/startall")
        assert r.status_code == 200 and [s["lastKnownState"] for s in r.json()] == ["started"]
        status = await c.get("/v4/schedules/status")
        assert status.headers["content-type"].startswith("text/plain")
        assert f"'{sid}': 0,30 6 * * 1-5 status: Running" in status.text
        r = await c.put("/v4/schedules/stopall")
        assert [s["lastKnownState"] for s in r.json()] == ["stopped"]
        assert "status: Stopped" in (await c.get("/v4/schedules/status")).text
        assert (await c.put("/v4/schedules/nope/start")).status_code == 400
        assert (await c.put("/v4/schedules/nope/stop")).status_code == 400

        document = YAML(typ="safe").load(tmp_path / "schedule.yaml")
        assert document["butlerSchedule"] == [{**created, "lastKnownState": "stopped"}]

        assert (await c.delete(f"/v4/schedules/{sid}")).status_code == 204
        assert (await c.delete(f"/v4/schedules/{sid}")).status_code == 400
        assert (await c.get("/v4/schedules")).json() == []
        assert YAML(typ="safe").load(tmp_path / "schedule.yaml")["butlerSchedule"] == []


async def test_invalid_schedules_are_400_and_not_stored(api: Runtime) -> None:
    bad: list[dict[str, Any]] = [
        {**SPEC, "cronSchedule": "61 * * * *"},
        {**SPEC, "cronSchedule": "every day"},
        {**SPEC, "cronSchedule": "* * * * * * *"},
        {**SPEC, "timezone": "Mars/Olympus"},
        {**SPEC, "startupState": "running"},
        {k: v for k, v in SPEC.items() if k != "qlikSenseTaskId"},
    ]
    async with client(api) as c:
        for body in bad:
            r = await c.post("/v4/schedules", json=body)
            assert r.status_code == 400, body
            assert r.json()["statusCode"] == 400
        assert (await c.get("/v4/schedules")).json() == []


async def test_butler_schedule_template_loads_and_comments_survive_rewrites(tmp_path: Path) -> None:
    template = COMPAT / "schedule_template.yaml"
    if not template.exists():
        import pytest

        pytest.skip(f"compat file {template} is not present")
    schedule_file = tmp_path / "schedule.yaml"
    schedule_file.write_text("# our schedules\n" + template.read_text(encoding="utf-8"), encoding="utf-8")
    config = api_config(tmp_path)
    async with running(config) as runtime, client(runtime) as c:
        schedules = (await c.get("/v4/schedules")).json()
        assert [s["id"] for s in schedules] == ["task-1", "task-2", "Manually-added-schedule-1"]
        assert schedules[0]["tags"] == ["Sales", "abc 123 åäö", "Transform"]
        await c.put("/v4/schedules/task-2/stop")
    text = schedule_file.read_text(encoding="utf-8")
    assert text.startswith("# our schedules\n")
    document = YAML(typ="safe").load(text)
    assert [s["lastKnownState"] for s in document["butlerSchedule"]] == ["started", "stopped", "started"]
    assert not list(tmp_path.glob(".schedule.yaml.*"))  # no temporary file left behind


async def test_restart_keeps_schedules_states_and_kv_with_remaining_ttl(tmp_path: Path) -> None:
    config = api_config(tmp_path)
    async with running(config) as runtime, client(runtime) as c:
        started = (await c.post("/v4/schedules", json=SPEC)).json()
        stopped = (await c.post("/v4/schedules", json={**SPEC, "name": "stopped one"})).json()
        await c.put(f"/v4/schedules/{stopped['id']}/stop")
        await c.post("/v4/keyvalues/ns", json={"key": "lasting", "value": "1"})
        await c.post("/v4/keyvalues/ns", json={"key": "ttl", "value": "2", "ttl": 3_600_000})
        ttl_before = await runtime.state.ttl("kv:v:ns:ttl")
    async with running(config) as runtime, client(runtime) as c:
        states = {s["id"]: s["lastKnownState"] for s in (await c.get("/v4/schedules")).json()}
        # startupState is "started" for both: the stopped one stays stopped (Butler restarted it)
        assert states == {started["id"]: "started", stopped["id"]: "stopped"}
        assert (await c.get("/v4/keyvalues/ns", params={"key": "lasting"})).json()["value"] == "1"
        assert (await c.get("/v4/keyvalues/ns", params={"key": "ttl"})).json()["value"] == "2"
        ttl_after = await runtime.state.ttl("kv:v:ns:ttl")
        assert ttl_before is not None and ttl_after is not None and 0 < ttl_after <= ttl_before


async def test_a_schedule_starts_its_task_on_the_simulator(tmp_path: Path, simulator: Simulator) -> None:
    task = next(t for t in simulator.model.tasks.values() if t.name == "Reload of Sandbox")
    config = api_config(tmp_path, sim=simulator, scheduler={"leader_lease_s": 1})
    async with running(config) as runtime, client(runtime) as c:
        spec = {**SPEC, "cronSchedule": "* * * * * *", "timezone": "UTC", "qlikSenseTaskId": task.id}
        sid = (await c.post("/v4/schedules", json=spec)).json()["id"]

        async def started_run() -> list[dict[str, Any]]:
            runs = (await c.get(f"/v4/schedules/{sid}/history")).json()
            return [r for r in runs if r["outcome"] == "started"]

        runs = await eventually(started_run, what="a run that started the task")
        assert runs[0]["taskId"] == task.id
        assert task.session is not None or task.last_result is not None
        await c.put(f"/v4/schedules/{sid}/stop")
        # an unknown task: the run is recorded as failed, with QRS's answer
        spec["qlikSenseTaskId"] = "00000000-0000-0000-0000-000000000001"
        bad = (await c.post("/v4/schedules", json=spec)).json()["id"]

        async def failed_run() -> list[dict[str, Any]]:
            return (await c.get(f"/v4/schedules/{bad}/history")).json()

        failed = await eventually(failed_run, what="a failed run")
        assert failed[0]["outcome"] == "failed" and "404" in failed[0]["detail"]
