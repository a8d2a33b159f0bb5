"""A task with ``maxRetries``: one execution result per attempt, status 10 (Retry) between attempts,
``Max retries reached`` (and so Butler's failure datagram) only after the last attempt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sensebutler.simulator import Simulator
from sensebutler.simulator.model import ExecutionResult, Task
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.helpers import UdpCollector, client, qrs, qrs_json, udp_collector

RETRIED = "Extract ERP to QVD"  # maxRetries 2 in the default scenario
ENGINE_FAILURE = "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs."


@pytest.fixture
async def udp() -> AsyncIterator[tuple[UdpCollector, UdpCollector]]:
    async with udp_collector() as logs, udp_collector() as tasks:
        yield logs, tasks


@pytest.fixture
async def sim(simulator_factory: SimulatorFactory, udp: tuple[UdpCollector, UdpCollector]) -> Simulator:
    logs, tasks = udp
    sim = await simulator_factory(udp_log_target=logs.target, udp_task_target=tasks.target)
    sim.runner.retry_delay = 0.05
    return sim


async def test_every_attempt_fails_then_max_retries_reached_once(
    sim: Simulator, udp: tuple[UdpCollector, UdpCollector]
) -> None:
    logs, tasks = udp
    task = sim.model.task(RETRIED)
    assert task.max_retries == 2
    session = await sim.trigger_reload(task.id, outcome="failed", duration=0.05)
    final = await sim.wait_for_task(session.id)

    async with client(sim) as http:
        results = await qrs_json(
            http, sim, "/qrs/executionresult/full", filter=f"ExecutionId eq {session.id}"
        )
        last = (await qrs_json(http, sim, f"/qrs/reloadtask/{task.id}"))["operational"]["lastExecutionResult"]
    results.sort(key=lambda result: result["createdDate"])
    assert [result["status"] for result in results] == [10, 10, 8]
    assert len({result["id"] for result in results}) == len({r["fileReferenceID"] for r in results}) == 3
    assert {result["taskID"] for result in results} == {task.id}
    assert results[0]["details"][-1]["message"] == "Changing task state from Started to Retry"
    assert results[-1]["details"][-1]["message"] == "Changing task state from Started to FinishedFail"
    assert last["id"] == final.id == results[-1]["id"] and last["status"] == 8
    assert all(result["scriptLogSize"] > 0 for result in results)

    # Butler: one failure datagram, after the last attempt; Butler SOS: the engine failure per attempt
    [failed] = await tasks.wait_for(lambda d: d.startswith("/scheduler-task-failed/"))
    assert "Max retries reached (2)" in failed and session.id in failed
    await logs.wait_for(lambda d: "Max retries reached" in d)
    engine_failures = [d for d in logs.datagrams if ENGINE_FAILURE in d and session.id in d]
    assert len(engine_failures) == 3
    assert len([d for d in logs.datagrams if "Max retries reached" in d]) == 1
    assert [d for d in tasks.datagrams if d.startswith("/scheduler-task-failed/")] == [failed]


async def test_a_retry_that_succeeds_ends_the_run_without_failure(
    sim: Simulator, udp: tuple[UdpCollector, UdpCollector]
) -> None:
    logs, tasks = udp
    task = sim.model.task(RETRIED)
    session = await sim.trigger_reload(task.id, outcome=["failed", "success"], duration=0.05)
    final = await sim.wait_for_task(session.id)
    assert final.status == 7
    async with client(sim) as http:
        results = await qrs_json(
            http, sim, "/qrs/executionresult/full", filter=f"ExecutionId eq {session.id}"
        )
    assert sorted(result["status"] for result in results) == [7, 10]
    await tasks.wait_for(lambda d: d.startswith("/scheduler-task-success") and session.id in d)
    assert not [d for d in tasks.datagrams if d.startswith("/scheduler-task-failed/")]
    assert not [d for d in logs.datagrams if "Max retries reached" in d]


async def test_between_attempts_the_task_shows_status_10_and_the_session_counts_retries(
    sim: Simulator,
) -> None:
    sim.runner.retry_delay = 60.0  # the next attempt must not start while we look
    retrying: asyncio.Queue[ExecutionResult] = asyncio.Queue()

    def listener(phase: str, task: Task, result: ExecutionResult) -> None:
        if phase == "retrying":
            retrying.put_nowait(result)

    sim.runner.listen(listener)
    task = sim.model.task(RETRIED)
    session = await sim.trigger_reload(task.id, outcome="failed", duration=0.05)
    failed_attempt = await asyncio.wait_for(retrying.get(), 30)
    async with client(sim) as http:
        full = await qrs_json(http, sim, f"/qrs/task/{task.id}")
        running = await qrs(http, sim, "GET", f"/qrs/executionsession/{session.id}")
        retry_count = await qrs_json(
            http, sim, "/qrs/task/count", filter="operational.lastExecutionResult.status eq Retry"
        )
    last = full["operational"]["lastExecutionResult"]
    assert last["id"] == failed_attempt.id and last["status"] == 10
    assert running.status_code == 200 and running.json()["retries"] == 1
    assert retry_count == {"value": 1}
    assert task.session is session


async def test_a_task_without_retries_fails_at_once(sim: Simulator) -> None:
    task = sim.model.task("Reload of Sales dashboard")
    assert task.max_retries == 0
    session = await sim.trigger_reload(task.id, outcome="failed", duration=0.05)
    await sim.wait_for_task(session.id)
    attempts = [r for r in sim.model.execution_results.values() if r.execution_id == session.id]
    assert [int(r.status) for r in attempts] == [8]
