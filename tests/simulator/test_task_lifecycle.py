"""Task runs: QRS state while running and after, script logs through both APIs, and the UDP
datagrams, parsed with the conversion patterns of the appender files users really install."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sensebutler.simulator import Simulator
from sensebutler.simulator.model import SCHEDULER_USER
from sensebutler.simulator.timefmt import qrs_time
from tests.fixtures.net import async_poll
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.helpers import (
    UdpCollector,
    client,
    compat_patterns,
    parse_datagram,
    qrs,
    qrs_json,
    udp_collector,
)

GUID_ZERO = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def udp() -> AsyncIterator[tuple[UdpCollector, UdpCollector]]:
    async with udp_collector() as logs, udp_collector() as tasks:
        yield logs, tasks


@pytest.fixture
async def sim(simulator_factory: SimulatorFactory, udp: tuple[UdpCollector, UdpCollector]) -> Simulator:
    logs, tasks = udp
    return await simulator_factory(
        udp_log_target=logs.target, udp_task_target=tasks.target, script_log_delay=1.5
    )


async def test_triggered_failed_reload_end_to_end(
    sim: Simulator, udp: tuple[UdpCollector, UdpCollector]
) -> None:
    patterns = compat_patterns()
    logs, tasks = udp
    task = sim.model.task("Reload of Sales dashboard")
    app = task.app
    assert app is not None
    reload_time_before = app.last_reload_time
    session = await sim.trigger_reload(task.id, outcome="failed", duration=0.3)
    result = await sim.wait_for_task(session.id)

    async with client(sim) as http:
        # the execution result and the task's operational state
        results = await qrs_json(
            http, sim, "/qrs/executionresult/full", filter=f"ExecutionId eq {session.id}"
        )
        assert len(results) == 1
        execution = results[0]
        assert execution["status"] == 8 and execution["taskID"] == task.id and execution["appID"] == app.id
        assert execution["duration"] > 0 and execution["fileReferenceID"] != GUID_ZERO
        assert execution["details"][-1]["message"] == "Changing task state from Started to FinishedFail"
        assert execution["details"][-1]["detailsType"] == 0
        full = await qrs_json(http, sim, f"/qrs/reloadtask/{task.id}")
        last = full["operational"]["lastExecutionResult"]
        assert last["id"] == result.id and last["status"] == 8 and last["scriptLogSize"] > 0
        assert (await qrs(http, sim, "GET", f"/qrs/executionsession/{session.id}")).status_code == 404
        assert (await qrs_json(http, sim, f"/qrs/app/{app.id}"))["lastReloadTime"] == qrs_time(
            reload_time_before
        )

        # the script log, through the pre-May-2025 API ...
        ticket = await qrs_json(
            http, sim, f"/qrs/reloadtask/{task.id}/scriptlog", fileReferenceId=last["fileReferenceID"]
        )
        download = f"/qrs/download/reloadtask/{ticket['value']}/scriptlog.txt"
        early = await qrs(http, sim, "GET", download)
        assert early.status_code == 404  # not downloadable until a while after the task ended
        old_api = await async_poll(
            lambda: qrs(http, sim, "GET", download),
            lambda answer: answer.status_code != 404,
            30,
            "the script log to become downloadable",
            interval=0.05,
        )
        # ... and through the May-2025 one (note the casing Butler uses)
        sim.tickets.delay = 0.0
        ticket = await qrs_json(
            http, sim, f"/qrs/ReloadTask/{task.id}/scriptlogfile", executionResultId=result.id
        )
        new_api = await qrs(http, sim, "GET", f"/qrs/download/reloadtask/{ticket['value']}/scriptlog.txt")
    assert old_api.status_code == new_api.status_code == 200
    assert old_api.text == new_api.text == result.script_log
    assert "\r\n" in old_api.text and "\n" not in old_api.text.replace("\r\n", "")
    assert "Execution Failed" in old_api.text and len(old_api.content) == last["scriptLogSize"]

    # Butler's task datagram, parsed with Butler's shipped pattern
    butler = patterns["/scheduler-task-failed/"]
    [datagram] = await tasks.wait_for(lambda d: d.startswith("/scheduler-task-failed/"))
    fields = parse_datagram(butler, datagram)
    assert len(datagram.split(";")) == 11
    assert fields["TaskId"] == task.id and fields["AppId"] == app.id and fields["ExecutionId"] == session.id
    assert fields["TaskName"] == task.name and fields["AppName"] == app.name
    assert fields["User"] == SCHEDULER_USER and fields["hostname"] == "qlikserver1"
    assert fields["level"] == "ERROR" and "Max retries reached" in fields["message"]

    # Butler SOS's scheduler log event, parsed with Butler SOS's shipped pattern
    sos = patterns["/qseow-scheduler/"]
    events = await logs.wait_for(lambda d: d.startswith("/qseow-scheduler/"), count=3)
    parsed = [parse_datagram(sos, event) for event in events]
    assert all(len(event.split(";")) == 18 and fields for event, fields in zip(events, parsed, strict=True))
    assert {fields["TaskId"] for fields in parsed} == {task.id}
    assert {fields["ExecutionId"] for fields in parsed} == {session.id}
    messages = {fields["encodedmessage"] for fields in parsed}
    assert "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs." in messages
    assert "Task finished with state FinishedFail" in messages
    assert {fields["level"] for fields in parsed} <= {"WARN", "ERROR"}
    assert not any(d.startswith("/scheduler-task-success") for d in tasks.datagrams)


async def test_successful_and_aborted_runs(sim: Simulator, udp: tuple[UdpCollector, UdpCollector]) -> None:
    patterns = compat_patterns()
    _, tasks = udp
    task = sim.model.task("Reload of HR headcount")
    assert task.app is not None
    before = task.app.last_reload_time
    done = await sim.wait_for_task((await sim.trigger_reload(task.name, outcome="success", duration=0.1)).id)
    assert done.status == 7 and task.app.last_reload_time > before
    assert task.app.modified_by == SCHEDULER_USER
    # the shipped Butler file carries a stray slash in the success prefix; that is what users send
    [success] = await tasks.wait_for(lambda d: d.startswith("/scheduler-task-success//"))
    assert parse_datagram(patterns["/scheduler-task-success//"], success)["ExecutionId"] == done.execution_id

    aborted = await sim.wait_for_task((await sim.trigger_reload(task.id, outcome="aborted", duration=0.1)).id)
    assert aborted.status == 6
    assert [d.message for d in aborted.details][-3:] == [
        "Changing task state from Started to AbortInitiated",
        "Changing task state from AbortInitiated to Aborting",
        "Changing task state from Aborting to Aborted",
    ]
    [abort] = await tasks.wait_for(lambda d: d.startswith("/scheduler-task-aborted/"))
    assert parse_datagram(patterns["/scheduler-task-aborted/"], abort)["ExecutionId"] == aborted.execution_id


async def test_distribute_and_preload_datagrams(
    sim: Simulator, udp: tuple[UdpCollector, UdpCollector]
) -> None:
    _, tasks = udp
    distribute = sim.model.task("Distribute Sales dashboard to cloud")
    preload = sim.model.task("Preload Finance KPIs")
    first = await sim.trigger_reload(distribute.id, duration=0.05)
    second = await sim.trigger_reload(preload.id, outcome="failed", duration=0.05)
    await sim.wait_for_task(first.id)
    await sim.wait_for_task(second.id)
    [done] = await tasks.wait_for(lambda d: d.startswith("/scheduler-distribute/"))
    assert done.split(";")[5] == distribute.id and done.endswith(
        "Exiting execute of Distribute task request."
    )
    [failed] = await tasks.wait_for(lambda d: d.startswith("/scheduler-task-failed/"))
    assert failed.split(";")[5] == preload.id and "Failed to start session" in failed


async def test_start_through_qrs(simulator: Simulator) -> None:
    task = simulator.model.task("Reload of Inventory levels")
    task.duration = 2.5  # long enough to look at the running state on a busy machine
    assert task.app is not None
    async with client(simulator) as http:
        started = await qrs(http, simulator, "POST", f"/qrs/task/{task.id}/start/synchronous")
        assert started.status_code == 201
        session_id = started.json()["value"]
        running = await qrs_json(http, simulator, f"/qrs/executionsession/{session_id}")
        assert running["reloadTask"]["id"] == task.id and running["executionResult"]["status"] in (1, 2)
        assert (await qrs(http, simulator, "POST", f"/qrs/task/{task.id}/start")).status_code == 409
        await asyncio.sleep(0.1)
        executing = running["executingNode"]["name"]
        engine = simulator.info.node(executing)
        health = (await http.get(engine.engine_url + "/engine/healthcheck")).json()
        assert task.app.id in health["apps"]["loaded_docs"]
        assert task.app.id not in health["apps"]["active_docs"]
        await simulator.wait_for_task(session_id)
        health = (await http.get(engine.engine_url + "/engine/healthcheck")).json()
        assert task.app.id not in health["apps"]["loaded_docs"]
        assert task.app.id in health["apps"]["in_memory_docs"]
        assert (await qrs(http, simulator, "GET", f"/qrs/executionsession/{session_id}")).status_code == 404
        missing = await qrs(http, simulator, "POST", "/qrs/task/00000000-0000-0000-0000-0000000000aa/start")
        assert missing.status_code == 404


async def test_start_by_name_many_and_disabled(simulator: Simulator) -> None:
    for name in ("Reload of Call center", "Reload of Marketing campaigns"):
        simulator.model.task(name).duration = 0.05
    disabled = simulator.model.task("Reload of Quality control")
    async with client(simulator) as http:
        by_name = await http.post(
            f"{simulator.info.qrs_url}/qrs/task/start",
            params={"xrfkey": "abcdefghij987654", "name": "Reload of Call center"},
            headers={"X-Qlik-Xrfkey": "abcdefghij987654", "X-Qlik-User": "UserDirectory=LAB;UserId=goran"},
        )
        assert by_name.status_code == 204
        call_center = simulator.model.task("Reload of Call center")
        assert call_center.session is not None and call_center.session.user == "LAB\\goran"
        await simulator.wait_for_task(call_center.session.id)
        many = await http.post(
            f"{simulator.info.qrs_url}/qrs/task/start/many",
            params={"xrfkey": "abcdefghij987654"},
            headers={"X-Qlik-Xrfkey": "abcdefghij987654"},
            json=[simulator.model.task("Reload of Marketing campaigns").id],
        )
        assert many.status_code == 204
        off = await qrs(http, simulator, "POST", f"/qrs/task/{disabled.id}/start/synchronous")
        assert off.status_code == 201 and off.json() == {"value": GUID_ZERO}
        assert disabled.session is None
