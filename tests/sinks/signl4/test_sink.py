"""Signl4 against a real local HTTP receiver: Butler's payload and the resolution on the next
success, remembered in the state backend (SQLite and Redis) across a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sensebutler.sinks.signl4.sink import build
from tests.alerts import samples
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver
from tests.fixtures.state import StateStore
from tests.sinks.alert_channels import alert, config, running

OTHER_TASK = "0e2cbd1c-0000-4000-8000-000000000002"


def signl4_config(url: str, **section: Any) -> Any:
    return config(signl4={"enable": True, "url": f"{url}/webhook/team-secret", **section})


async def test_butlers_payload_for_failed_and_aborted(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = signl4_config(http_receiver.url, reload_aborted={"service_name": "Qlik Sense prod"})
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert("failed"))
        sink.submit(alert("aborted", task_id=OTHER_TASK))
        requests = await http_receiver.wait_for(2)
    assert {r.path for r in requests} == {"/webhook/team-secret"}
    bodies = sorted((r.json() for r in requests), key=lambda body: body["Title"])
    assert bodies == [
        {
            "Title": "Qlik Sense reload task failed",
            "Message": "Task: Reload of Sales",
            "Severity": 1,
            "X-S4-Service": "Qlik Sense",
            "X-S4-ExternalID": samples.TASK_ID,
            "X-S4-Status": "new",
        },
        {
            "Title": "Qlik Sense task aborted",
            "Message": "Task: Reload of Sales",
            "Severity": 10,
            "X-S4-Service": "Qlik Sense prod",
            "X-S4-ExternalID": OTHER_TASK,
            "X-S4-Status": "new",
        },
    ]


async def test_the_next_success_resolves_the_alert_after_a_restart(
    http_receiver: HttpReceiver, tmp_path: Path, state_store: StateStore
) -> None:
    made = signl4_config(http_receiver.url, reload_failed={"rate_limit_s": 0})
    async with running(made, tmp_path / "a", build, await state_store.open()) as sink:
        sink.submit(alert("success"))  # nothing open yet: nothing to resolve
        sink.submit(alert("failed"))
        await http_receiver.wait_for(1)
        await async_wait_until(lambda: sink.stats().delivered == 1, 10, "the alert delivered")
    # another instance (or this one restarted) on the same state store
    async with running(made, tmp_path / "b", build, await state_store.open()) as sink:
        sink.submit(alert("success", task_id=OTHER_TASK))  # another task's success resolves nothing
        sink.submit(alert("success"))
        await http_receiver.wait_for(2)
        await async_wait_until(lambda: sink.stats().delivered == 1, 10, "the resolution delivered")
        sink.submit(alert("success"))  # resolved already
        sink.submit(alert("failed", task_id=OTHER_TASK))
        await http_receiver.wait_for(3)
    statuses = [(r.json()["X-S4-Status"], r.json()["X-S4-ExternalID"]) for r in http_receiver.requests]
    assert statuses == [("new", samples.TASK_ID), ("resolved", samples.TASK_ID), ("new", OTHER_TASK)]
    resolved = http_receiver.requests[1].json()
    assert resolved == {
        "Title": "Qlik Sense reload task succeeded",
        "Message": "Task: Reload of Sales",
        "X-S4-Service": "Qlik Sense",
        "X-S4-ExternalID": samples.TASK_ID,
        "X-S4-Status": "resolved",
    }


async def test_resolve_can_be_switched_off(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = signl4_config(http_receiver.url, resolve=False)
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert("failed"))
        await http_receiver.wait_for(1)
        sink.submit(alert("success"))
        sink.submit(alert("failed", task_id=OTHER_TASK))
        await http_receiver.wait_for(2)
    assert [r.json()["X-S4-Status"] for r in http_receiver.requests] == ["new", "new"]


async def test_a_burst_is_rate_limited_per_task(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = signl4_config(http_receiver.url)  # Butler's 15 s
    async with running(made, tmp_path, build) as sink:
        for _ in range(4):
            sink.submit(alert("failed"))
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 3, 10, "three limited")
        await async_wait_until(lambda: sink.stats().delivered == 1, 10, "one delivered")
    assert len(http_receiver.requests) == 1


def test_the_url_is_required() -> None:
    with pytest.raises(ValueError, match="url"):
        config(signl4={"enable": True})
