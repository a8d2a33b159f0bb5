"""Scenario files: the shipped default, custom files, seeds, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensebutler.simulator.model import build_site
from sensebutler.simulator.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.helpers import client, qrs_json

SMALL = """
seed: 4
nodes:
  - {name: Only, host_name: sense.example.org, central: true, virtual_proxies: ["", sso]}
streams: [Everyone]
tags: [Nightly]
custom_properties:
  - {name: Owner, object_types: [ReloadTask], choice_values: [BI]}
users: {generate: 3, named: [{user_id: ada, name: Ada L}]}
apps:
  - {name: One app, stream: Everyone, owner: ada}
tasks:
  - {name: Reload one app, app: One app, tags: [Nightly], custom_properties: {Owner: [BI]}, duration: 0.1}
  - {name: Sync, type: user_sync, user_directory: EXAMPLE}
professional: {total: 5, allocated: 2, stale: 1}
"""


def test_default_scenario_is_a_three_node_site() -> None:
    site = build_site(load_scenario(None))
    assert [node.name for node in site.nodes] == ["Central", "Rim1", "Rim2"]
    assert len(site.apps) == 20 and len(site.tasks) == 30
    assert {task.kind for task in site.tasks.values()} == {
        "reload",
        "external_program",
        "user_sync",
        "distribute",
        "preload",
    }
    people = [user for user in site.users.values() if user.directory == "LAB"]
    assert len(people) == 195 and all(user.email for user in people)
    assert sum(a.quarantined for a in site.allocations.values()) == 6


def test_a_seed_gives_the_same_site_and_another_seed_another() -> None:
    scenario = load_scenario(None)
    one, again, other = build_site(scenario, 11), build_site(scenario, 11), build_site(scenario, 12)
    assert list(one.apps) == list(again.apps)
    assert [u.user_id for u in one.users.values()] == [u.user_id for u in again.users.values()]
    assert list(one.apps) != list(other.apps)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nodes: [", "not valid YAML"),
        ("- a list", "expected a mapping"),
        ("nodes: []", "exactly one node must be central"),
        (SMALL.replace("stream: Everyone, owner", "stream: Nowhere, owner"), "unknown stream 'Nowhere'"),
        (SMALL.replace("tags: [Nightly], custom", "tags: [Daily], custom"), "unknown tag 'Daily'"),
        (SMALL.replace("- {name: Sync, type: user_sync", "- {name: Sync, type: reload"), "needs an app"),
        (SMALL.replace("allocated: 2, stale: 1", "allocated: 2, stale: 3"), "exceed allocated"),
    ],
)
def test_invalid_scenarios_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        parse_scenario(text, "test.yaml")


def test_unreadable_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")


async def test_simulator_runs_a_custom_scenario(simulator_factory: SimulatorFactory, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    sim = await simulator_factory(scenario=path)
    assert [node.host_name for node in sim.info.nodes] == ["sense.example.org"]
    async with client(sim) as http:
        tasks = await qrs_json(http, sim, "/qrs/task/full", filter="customProperties.value eq 'BI'")
        overview = await qrs_json(http, sim, "/qrs/license/accesstypeoverview")
        health = await http.get(sim.info.nodes[0].engine_url + "/engine/healthcheck")
    assert [task["name"] for task in tasks] == ["Reload one app"]
    assert overview["professionalAccess"]["allocated"] == 2 and overview["analyzerAccess"]["enabled"] is False
    assert health.status_code == 200
    result = await sim.wait_for_task((await sim.trigger_reload("Reload one app")).id)
    assert result.status == 7


def _without_email(count: int) -> Scenario:
    scenario = load_scenario(None)
    users = scenario.users.model_copy(update={"owners_without_email": count})
    return scenario.model_copy(update={"users": users})


async def test_some_app_owners_have_no_email(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(scenario=_without_email(2))
    sales, finance, hr = (
        sim.model.app_by_name(name) for name in ("Sales dashboard", "Finance KPIs", "HR headcount")
    )
    async with client(sim) as http:
        owners = [(await qrs_json(http, sim, f"/qrs/app/{app.id}"))["owner"] for app in (sales, finance, hr)]
        users = [await qrs_json(http, sim, f"/qrs/user/{owner['id']}") for owner in owners]
        mailed = await qrs_json(http, sim, "/qrs/user/count", filter="attributes.attributeType eq 'email'")
    emails = [
        [a["attributeValue"] for a in user["attributes"] if a["attributeType"] == "email"] for user in users
    ]
    assert [user["userId"] for user in users] == ["anna", "joe", "priya"]
    assert emails == [[], [], ["priya@lab.example.com"]]
    people = [user for user in sim.model.users.values() if user.directory == "LAB"]  # INTERNAL ones have none
    assert mailed == {"value": len(people) - 2}


def test_owners_without_email_is_off_by_default_and_capped_at_the_owners() -> None:
    assert load_scenario(None).users.owners_without_email == 0
    site = build_site(_without_email(10_000))
    owners = {app.owner.id for app in site.apps.values()}
    assert all(site.users[owner].email is None for owner in owners)
    assert sum(user.email is None for user in site.users.values() if user.directory == "LAB") == len(owners)
    with pytest.raises(ScenarioError, match="owners_without_email"):
        parse_scenario(
            SMALL.replace("users: {generate: 3,", "users: {owners_without_email: -1, generate: 3,")
        )
