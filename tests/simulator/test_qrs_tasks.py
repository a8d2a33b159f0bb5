"""QRS task, custom property and execution endpoints: shapes, filters, counts."""

from __future__ import annotations

import pytest

from sensebutler.simulator import Simulator
from tests.simulator.helpers import client, qrs, qrs_json

SCHEMAS = {
    0: "ReloadTask",
    1: "ExternalProgramTask",
    2: "UserSyncTask",
    3: "DistributionTask",
    4: "PreloadTask",
}


def names_with(sim: Simulator, predicate: object) -> set[str]:
    return {task.name for task in sim.model.tasks.values() if predicate(task)}  # type: ignore[operator]


async def test_task_full_has_every_type_with_derived_shapes(simulator: Simulator) -> None:
    async with client(simulator) as http:
        tasks = await qrs_json(http, simulator, "/qrs/task/full")
        condensed = await qrs_json(http, simulator, "/qrs/task")
    assert len(tasks) == len(condensed) == len(simulator.model.tasks) >= 30
    assert {task["taskType"] for task in tasks} == {0, 1, 2, 3, 4}
    for task in tasks:
        assert task["schemaPath"] == SCHEMAS[task["taskType"]]
        last = task["operational"]["lastExecutionResult"]
        assert {"status", "startTime", "stopTime", "duration", "fileReferenceID", "details"} <= set(last)
    reload = next(task for task in tasks if task["name"] == "Reload of Sales dashboard")
    assert reload["app"]["name"] == "Sales dashboard" and reload["isPartialReload"] is False
    assert reload["operational"]["lastExecutionResult"]["status"] == 7
    external = next(task for task in tasks if task["taskType"] == 1)
    assert external["path"] and "app" not in external
    never = next(task for task in tasks if task["name"] == "Reload of Sandbox")["operational"][
        "lastExecutionResult"
    ]
    assert never["status"] == 0 and never["details"] == []
    assert never["startTime"] == never["stopTime"] == "1753-01-01T00:00:00.000Z"
    assert never["fileReferenceID"] == "00000000-0000-0000-0000-000000000000"


async def test_filter_by_tag_returns_exactly_the_tagged_tasks(simulator: Simulator) -> None:
    async with client(simulator) as http:
        found = await qrs_json(http, simulator, "/qrs/task/full", filter="tags.name eq 'Butler'")
        none = await qrs_json(http, simulator, "/qrs/task/full", filter="tags.name eq 'NoSuchTag'")
    expected = names_with(simulator, lambda task: any(tag.name == "Butler" for tag in task.tags))
    assert {task["name"] for task in found} == expected and len(expected) >= 5
    assert none == []


@pytest.mark.parametrize("value", ["Yes", "No"])
async def test_filter_by_custom_property_returns_exactly_the_right_tasks(
    simulator: Simulator, value: str
) -> None:
    text = f"(customProperties.definition.name eq 'Butler_FailedAlertEnableEmail') and (customProperties.value eq '{value}')"
    async with client(simulator) as http:
        found = await qrs_json(http, simulator, "/qrs/task/full", filter=text)
    expected = names_with(
        simulator,
        lambda task: any(
            cp.definition.name == "Butler_FailedAlertEnableEmail" and cp.value == value
            for cp in task.custom_properties
        ),
    )
    assert {task["name"] for task in found} == expected and expected


async def test_filter_id_unquoted_enum_names_and_count(simulator: Simulator) -> None:
    task = simulator.model.task("Backup QVD archive")
    async with client(simulator) as http:
        by_id = await qrs_json(http, simulator, "/qrs/task", filter=f"id eq {task.id}")
        external = await qrs_json(http, simulator, "/qrs/task/full", filter="taskType eq ExternalProgram")
        failed = await qrs_json(
            http,
            simulator,
            "/qrs/task/count",
            filter="operational.lastExecutionResult.status eq FinishedFail",
        )
    assert [found["name"] for found in by_id] == ["Backup QVD archive"]
    assert {found["name"] for found in external} == names_with(
        simulator, lambda t: t.kind == "external_program"
    )
    assert failed["value"] == len(names_with(simulator, lambda t: t.history == "failed"))


@pytest.mark.parametrize(
    "text", ["name eq 'unterminated", "tags.name eq 'x' and", "(name eq 'x'", "name xx 'a'"]
)
async def test_bad_filter_is_400_with_qlik_text(simulator: Simulator, text: str) -> None:
    async with client(simulator) as http:
        response = await qrs(http, simulator, "GET", "/qrs/task/full", filter=text)
    assert response.status_code == 400
    assert response.text == f"Cannot parse the expression: {text}"


async def test_typed_task_endpoints(simulator: Simulator) -> None:
    preload = simulator.model.task("Preload Executive overview")
    distribute = simulator.model.task("Distribute Sales dashboard to cloud")
    sync = simulator.model.task("User sync: LAB")
    async with client(simulator) as http:
        reloads = await qrs_json(http, simulator, "/qrs/reloadtask/full")
        assert {task["taskType"] for task in reloads} == {0}
        assert (await qrs_json(http, simulator, f"/qrs/reloadtask/{preload.id}"))["taskType"] == 4
        assert (await qrs_json(http, simulator, f"/qrs/ReloadTask/{distribute.id}"))["taskType"] == 3
        user_sync = await qrs_json(http, simulator, f"/qrs/usersynctask/{sync.id}")
        assert user_sync["userDirectory"]["name"] == "LAB"
        assert (await qrs(http, simulator, "GET", f"/qrs/externalprogramtask/{sync.id}")).status_code == 404
        programs = await qrs_json(http, simulator, "/qrs/externalprogramtask/full")
    assert len(programs) == 2


async def test_orderby(simulator: Simulator) -> None:
    async with client(simulator) as http:
        ordered = await qrs_json(http, simulator, "/qrs/task", orderby="name desc")
    names = [task["name"] for task in ordered]
    assert names == sorted(names, key=str.lower, reverse=True)


async def test_custom_property_definitions_and_tags(simulator: Simulator) -> None:
    async with client(simulator) as http:
        for_tasks = await qrs_json(
            http, simulator, "/qrs/custompropertydefinition/full", filter="objectTypes eq 'ReloadTask'"
        )
        by_name = await qrs_json(
            http,
            simulator,
            "/qrs/custompropertydefinition/full",
            filter="name eq 'Butler_FailedAlertEnableEmail'",
        )
        tags = await qrs_json(http, simulator, "/qrs/tag/full")
    assert "LicenseRelease" not in {cp["name"] for cp in for_tasks}
    assert "Butler_FailedAlertEnableEmail" in {cp["name"] for cp in for_tasks}
    assert (
        by_name[0]["choiceValues"] == ["Yes", "No"] and by_name[0]["schemaPath"] == "CustomPropertyDefinition"
    )
    assert {tag["name"] for tag in tags} == set(simulator.scenario.tags)


async def test_users_have_email_attributes_and_filters_work(simulator: Simulator) -> None:
    async with client(simulator) as http:
        users = await qrs_json(http, simulator, "/qrs/user/full", filter="userDirectory eq 'LAB'")
        goran = await qrs_json(
            http, simulator, "/qrs/user/full", filter="userDirectory eq 'LAB' and userId eq 'goran'"
        )
    assert len(users) >= 195
    assert all(any(a["attributeType"] == "email" for a in user["attributes"]) for user in users)
    assert goran[0]["roles"] == ["RootAdmin"] and goran[0]["tags"][0]["name"] == "NeverRelease"
